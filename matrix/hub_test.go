package matrix

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/retrobpf/retrobpf/vmtest/kernels"
)

// How the hub is asked for a kernel: its Debian package says the release,
// a profile's os: says it for the rest.
func TestHubKernel(t *testing.T) {
	for _, tc := range []struct {
		source, os, want string
		ok               bool
	}{
		{"linux-image-6.1.0-57-cloud-amd64=6.1.192-3", "", "debian 12 x86_64 R", true},
		{"linux-image-5.10.0-46-cloud-amd64=5.10.262-1", "", "debian 11 x86_64 R", true},
		{"linux-image-4.19.0-27-amd64=4.19.316-1", "", "debian 10 x86_64 R", true},
		{"registry.example/kernel@sha256:00", "", "", false},
		{"registry.example/kernel@sha256:00", "ubuntu/20.04", "ubuntu 20.04 x86_64 R", true},
	} {
		hk, ok := hubKernel(Kernel{Profile: Profile{OS: tc.os}}, &kernels.Kernel{Source: tc.source, Release: "R"})
		if ok != tc.ok || (ok && hk.String() != tc.want) {
			t.Errorf("%s (os %q): %v %q, want %v %q", tc.source, tc.os, ok, hk, tc.ok, tc.want)
		}
	}
}

func TestLacksBTF(t *testing.T) {
	dir := t.TempDir()
	with, without := filepath.Join(dir, "with"), filepath.Join(dir, "without")
	os.WriteFile(with, []byte("CONFIG_BPF=y\nCONFIG_DEBUG_INFO_BTF=y\n"), 0o644)
	os.WriteFile(without, []byte("CONFIG_BPF=y\n# CONFIG_DEBUG_INFO_BTF is not set\n"), 0o644)
	for _, tc := range []struct {
		config string
		hide   bool
		want   bool
	}{{with, false, false}, {with, true, true}, {without, false, true}, {"", false, true}} {
		if got := lacksBTF(Kernel{Profile: Profile{HideBTF: tc.hide}}, &kernels.Kernel{Config: tc.config}); got != tc.want {
			t.Errorf("config %q hide %v: %v, want %v", tc.config, tc.hide, got, tc.want)
		}
	}
}
