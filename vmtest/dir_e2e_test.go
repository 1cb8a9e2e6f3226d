package vmtest

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/retrobpf/retrobpf/vmtest/kernels"
)

// copyFile copies src to dst (a dir: tree must not be the cache's own files).
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	os.MkdirAll(filepath.Dir(dst), 0o755)
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestDirKernelBoots lays a Debian kernel out as a dir: tree in the lvh
// layout (boot/vmlinuz-<v>, boot/config-<v>, lib/modules/<v> when cached
// with modules) and boots it.
func TestDirKernelBoots(t *testing.T) {
	deb := testKernel(t, "6.1")
	root := t.TempDir()
	boot := filepath.Join(root, "boot")
	copyFile(t, deb.Vmlinuz, filepath.Join(boot, "vmlinuz-"+deb.Release))
	copyFile(t, deb.Config, filepath.Join(boot, "config-"+deb.Release))

	c, err := kernels.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	k, err := c.Resolve(context.Background(), "dir:"+root, kernels.ResolveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if k.Release != deb.Release || k.SHA256 != deb.SHA256 || k.Config != filepath.Join(boot, "config-"+deb.Release) {
		t.Fatalf("dir: kernel %+v, want release %s sha %s", k, deb.Release, deb.SHA256)
	}
	m := Machine{Kernel: k, Accel: AccelTCG, Agent: agentBinary(t), CacheDir: t.TempDir()}
	plan := Plan{Steps: []Step{{Name: "version", Args: []string{"/guestprog", "exit", "0"}, Collect: []string{"/proc/version"}}},
		Files: []File{guestprog(t)}}
	res, err := Run(context.Background(), m, plan)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != OutcomeOK || res.Release != deb.Release {
		t.Fatalf("outcome %s (%s), release %q, want ok on %s\nconsole:\n%s", res.Outcome, res.Reason, res.Release, deb.Release, res.ConsoleTail)
	}
	if v := string(res.Steps[0].Files["/proc/version"]); !strings.Contains(v, deb.Release) {
		t.Errorf("/proc/version = %q", v)
	}
}
