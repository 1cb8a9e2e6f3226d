// Package kernelstest gives tests real kernels from a cache shared by the
// whole test suite, so each kernel is downloaded once per machine.
package kernelstest

import (
	"context"
	"encoding/binary"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/retrobpf/retrobpf/vmtest/kernels"
	"github.com/retrobpf/retrobpf/vmtest/kernels/debian"
)

// CacheEnv names the shared test cache directory.
const CacheEnv = "RETROBPF_TEST_KERNEL_CACHE"

// CacheDir is $RETROBPF_TEST_KERNEL_CACHE, else
// $XDG_CACHE_HOME/retrobpf/kernels, else /var/cache/retrobpf-test/kernels
// when writable, else the user's cache directory.
func CacheDir() string {
	if d := os.Getenv(CacheEnv); d != "" {
		return d
	}
	if x := os.Getenv("XDG_CACHE_HOME"); x != "" {
		return filepath.Join(x, "retrobpf", "kernels")
	}
	const shared = "/var/cache/retrobpf-test/kernels"
	if err := os.MkdirAll(shared, 0o755); err == nil {
		return shared
	}
	d, _ := kernels.DefaultDir()
	return d
}

var (
	mu          sync.Mutex
	unavailable = map[string]error{} // refs that failed for infrastructure reasons
)

// Get returns the kernel for ref ("6.1", "deb:…", "oci:…") from the shared
// cache, pulling it once. It skips the test when -short is set or the
// mirror or registry cannot be reached, and fails it on any other error.
func Get(t testing.TB, ref string) *kernels.Kernel {
	t.Helper()
	return GetWith(t, ref, kernels.ResolveOptions{})
}

// GetWith is Get with options (e.g. Modules).
func GetWith(t testing.TB, ref string, opts kernels.ResolveOptions) *kernels.Kernel {
	t.Helper()
	c, err := kernels.Open(CacheDir())
	if err != nil {
		t.Fatalf("kernel test cache: %v", err)
	}
	// Cached kernels need no network and no -short exemption.
	if k, err := c.Lookup(ref); err == nil && (!opts.Modules || k.Modules != "") {
		return k
	}
	if testing.Short() {
		t.Skipf("kernel %s is not cached in %s and -short forbids downloading it", ref, c.Dir())
	}
	mu.Lock()
	defer mu.Unlock()
	if err := unavailable[ref]; err != nil {
		t.Skipf("kernel %s unavailable: %v", ref, err)
	}
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	k, err := c.Resolve(ctx, ref, opts)
	if errors.Is(err, kernels.ErrUnavailable) {
		unavailable[ref] = err
		t.Skipf("kernel %s unavailable (mirror or registry unreachable): %v", ref, err)
	}
	if err != nil {
		t.Fatalf("kernel %s: %v", ref, err)
	}
	return k
}

var (
	reachOnce sync.Once
	reachable bool
)

// MirrorReachable reports whether the Debian mirror ($RETROBPF_DEB_MIRROR
// or the apt sources) answers within a few seconds; the answer is cached.
func MirrorReachable() bool {
	reachOnce.Do(func() {
		m := os.Getenv(kernels.MirrorEnv)
		if m == "" {
			ms, err := debian.MirrorsFromApt("/")
			if err != nil {
				return
			}
			m = ms.Archive
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodHead, strings.TrimRight(m, "/")+"/dists/bookworm/InRelease", nil)
		if err != nil {
			return
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return
		}
		resp.Body.Close()
		reachable = resp.StatusCode == http.StatusOK
	})
	return reachable
}

// FakeBzImage returns the first bytes of an x86 bzImage for release: the
// setup header's "HdrS" magic at 0x202, boot protocol 2.15, and the
// kernel_version string it points to. It passes the header checks a
// file: kernel reference gets when it is read; it does not boot.
func FakeBzImage(release string) []byte {
	b := make([]byte, 0x600)
	copy(b[0x202:], "HdrS")
	binary.LittleEndian.PutUint16(b[0x206:], 0x20f)
	binary.LittleEndian.PutUint16(b[0x20e:], 0x200) // the string at 0x400
	copy(b[0x400:], release+" (builder@test) #1 SMP PREEMPT_DYNAMIC\x00")
	return b
}
