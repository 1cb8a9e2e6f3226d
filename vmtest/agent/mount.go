package agent

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"

	"github.com/retrobpf/retrobpf/vmtest/proto"
)

// mounts lists the filesystems the agent mounts, in order. A kernel
// without one (ENODEV) is normal for old or small kernels; it is recorded
// in the Ready frame, not treated as a failure.
var mounts = []struct {
	source, target, fstype string
	flags                  uintptr
	data                   string
}{
	{"devtmpfs", "/dev", "devtmpfs", unix.MS_NOSUID, "mode=0755"},
	{"proc", "/proc", "proc", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, ""},
	{"sysfs", "/sys", "sysfs", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, ""},
	{"tmpfs", "/tmp", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=1777"},
	{"tmpfs", "/run", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=0755"},
	{"debugfs", "/sys/kernel/debug", "debugfs", 0, ""},
	{"tracefs", "/sys/kernel/tracing", "tracefs", 0, ""},
	{"bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700"},
	{"cgroup2", "/sys/fs/cgroup", "cgroup2", 0, ""},
}

func mountAll() []proto.Mount {
	var out []proto.Mount
	for _, m := range mounts {
		rec := proto.Mount{Target: m.target, FSType: m.fstype}
		if err := os.MkdirAll(m.target, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			rec.Error = err.Error()
		} else if err := unix.Mount(m.source, m.target, m.fstype, m.flags, m.data); err != nil {
			rec.Error = err.Error()
		}
		out = append(out, rec)
	}
	// Older tools look for tracefs under debugfs; the kernel provides that
	// automount itself once debugfs is mounted.
	return out
}

func raiseLimits() {
	unix.Setrlimit(unix.RLIMIT_MEMLOCK, &unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY})
	unix.Setrlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: 1 << 20, Max: 1 << 20})
}
