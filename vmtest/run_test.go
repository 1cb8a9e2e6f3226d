package vmtest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/retrobpf/retrobpf/vmtest/kernels"
)

// The kernel config is shipped by Run for every VM, exactly once: a plan
// that already carries /boot/config-RELEASE (as the matrix's did) must
// not get a second entry in the initramfs.
func TestWithKernelConfig(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(cfg, []byte("CONFIG_BPF=y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	k := &kernels.Kernel{Release: "6.1.0-x", Config: cfg}
	other := File{Path: "/suite/suite.yaml", Data: []byte("x")}

	got := withKernelConfig(k, []File{other})
	if len(got) != 2 || got[0].Path != "/boot/config-6.1.0-x" || got[0].Source != cfg {
		t.Fatalf("config not added: %+v", got)
	}
	own := File{Path: "/boot/config-6.1.0-x", Data: []byte("CONFIG_OWN=y\n")}
	if got := withKernelConfig(k, []File{own, other}); len(got) != 2 || got[0].Data == nil {
		t.Fatalf("config added twice or the plan's own replaced: %+v", got)
	}
	for name, k := range map[string]*kernels.Kernel{
		"no config":      {Release: "6.1.0-x"},
		"no release":     {Config: cfg},
		"missing config": {Release: "6.1.0-x", Config: filepath.Join(t.TempDir(), "gone")},
	} {
		if got := withKernelConfig(k, []File{other}); len(got) != 1 {
			t.Errorf("%s: %+v", name, got)
		}
	}
}
