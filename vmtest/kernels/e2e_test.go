package kernels_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/retrobpf/retrobpf/vmtest/kernels"
	"github.com/retrobpf/retrobpf/vmtest/kernels/kernelstest"
)

// TestDebianAliases pulls the three Debian kernels for real (once per
// machine, through the shared test cache) and checks what they are.
func TestDebianAliases(t *testing.T) {
	for _, alias := range kernels.AliasNames() {
		t.Run(alias, func(t *testing.T) {
			k := kernelstest.Get(t, alias)
			pkg, ver, _ := strings.Cut(k.Source, "=")
			if want := "linux-image-" + k.Release; pkg != want {
				t.Errorf("release %q does not match package %q", k.Release, pkg)
			}
			if !strings.HasPrefix(k.Release, alias+".") || !strings.HasSuffix(k.Release, "-cloud-amd64") {
				t.Errorf("alias %s resolved to release %q", alias, k.Release)
			}
			if got := k.Version.String(); !strings.HasPrefix(got, alias+".") || !strings.HasPrefix(ver, got) {
				t.Errorf("version %s does not match alias %s and package version %s", got, alias, ver)
			}
			rel, err := kernels.BzImageRelease(k.Vmlinuz)
			if err != nil || rel != k.Release {
				t.Errorf("bzImage header release %q (%v), want %q", rel, err, k.Release)
			}
			for _, p := range []string{k.Config, k.SystemMap} {
				if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
					t.Errorf("missing %s: %v", p, err)
				}
			}
			cfg, err := os.ReadFile(k.Config)
			if err != nil || !strings.Contains(string(cfg), "CONFIG_BPF_SYSCALL=y") {
				t.Errorf("config %s lacks CONFIG_BPF_SYSCALL=y (%v)", k.Config, err)
			}
		})
	}
}

// TestFileRefRealKernel validates a real Debian bzImage through file:.
func TestFileRefRealKernel(t *testing.T) {
	k := kernelstest.Get(t, "6.1")
	c, err := kernels.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f, err := c.Resolve(context.Background(), "file:"+k.Vmlinuz, kernels.ResolveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if f.Release != k.Release || f.SHA256 != k.SHA256 {
		t.Errorf("file: kernel %s (%s), want %s (%s)", f.Release, f.SHA256, k.Release, k.SHA256)
	}
	if _, err := c.Resolve(context.Background(), "file:"+k.Config, kernels.ResolveOptions{}); !errors.Is(err, kernels.ErrNotAKernel) {
		t.Errorf("a config file as kernel: %v, want ErrNotAKernel", err)
	}
}
