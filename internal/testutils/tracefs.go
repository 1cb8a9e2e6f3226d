package testutils

import (
	"errors"
	"os"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// tracefsDirs are where cilium/ebpf (internal/tracefs) looks for tracefs,
// in its order of preference.
var tracefsDirs = []string{"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}

// tracefsMountPoint is where RequireTracefs mounts tracefs when no copy is
// mounted: the kernel creates the directory in sysfs whenever tracefs is
// built in, so nothing has to be created.
const tracefsMountPoint = "/sys/kernel/tracing"

var tracefs struct {
	sync.Mutex
	users   int  // tests currently holding the mount
	mounted bool // whether this process mounted it (and so unmounts it)
}

// RequireTracefs makes sure tracefs is mounted for the duration of the test,
// which perf tracepoints and the tracefs kprobe fallback need. A freshly
// installed machine has neither tracefs nor debugfs mounted, so the test
// mounts tracefs itself when it is root, the way the guest agent does, and
// unmounts it when the last test that needed it ends. Without root, or on a
// kernel without tracefs, the test is skipped with the reason.
func RequireTracefs(tb testing.TB) {
	tb.Helper()
	tracefs.Lock()
	defer tracefs.Unlock()
	if tracefs.users == 0 && !tracefsMounted() {
		if os.Geteuid() != 0 {
			tb.Skip("tracefs is not mounted and mounting it needs root")
		}
		if err := unix.Mount("tracefs", tracefsMountPoint, "tracefs", 0, ""); err != nil {
			if errors.Is(err, unix.ENODEV) {
				tb.Skip("this kernel has no tracefs (CONFIG_TRACING off)")
			}
			tb.Fatalf("mount tracefs on %s: %v", tracefsMountPoint, err)
		}
		tracefs.mounted = true
	}
	tracefs.users++
	tb.Cleanup(releaseTracefs)
}

func releaseTracefs() {
	tracefs.Lock()
	defer tracefs.Unlock()
	tracefs.users--
	if tracefs.users == 0 && tracefs.mounted {
		// Lazy: a test's perf events may still hold files open briefly.
		unix.Unmount(tracefsMountPoint, unix.MNT_DETACH)
		tracefs.mounted = false
	}
}

// tracefsMounted reports whether any of cilium/ebpf's tracefs locations
// holds a mounted tracefs.
func tracefsMounted() bool {
	for _, dir := range tracefsDirs {
		var st unix.Statfs_t
		if unix.Statfs(dir, &st) == nil && st.Type == unix.TRACEFS_MAGIC {
			return true
		}
	}
	return false
}
