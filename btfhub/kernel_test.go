package btfhub

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestArchivePath(t *testing.T) {
	for _, tc := range []struct {
		k    Kernel
		want string
	}{
		{Kernel{"debian", "10", "x86_64", "4.19.0-27-amd64"}, "debian/10/x86_64/4.19.0-27-amd64.btf.tar.xz"},
		{Kernel{"debian", "11", "aarch64", "5.10.0-0.deb10.17-arm64"}, "debian/bullseye/arm64/5.10.0-0.deb10.17-arm64.btf.tar.xz"},
		{Kernel{"debian", "9", "x86_64", "4.9.0-13-amd64"}, "debian/9/x86_64/4.9.0-13-amd64.btf.tar.xz"},
		{Kernel{"ubuntu", "20.04", "x86_64", "5.8.0-63-generic"}, "ubuntu/20.04/x86_64/5.8.0-63-generic.btf.tar.xz"},
		{Kernel{"rhel", "8.4", "x86_64", "4.18.0-305.el8.x86_64"}, "rhel/8/x86_64/4.18.0-305.el8.x86_64.btf.tar.xz"},
		{Kernel{"centos", "7", "x86_64", "3.10.0-1062.el7.x86_64"}, "centos/7/x86_64/3.10.0-1062.el7.x86_64.btf.tar.xz"},
		{Kernel{"ol", "7.9", "arm64", "5.4.17-2102.201.3.el7uek.aarch64"}, "ol/7/arm64/5.4.17-2102.201.3.el7uek.aarch64.btf.tar.xz"},
		{Kernel{"amzn", "2018.03", "x86_64", "4.14.106-79.86.amzn1.x86_64"}, "amzn/1/x86_64/4.14.106-79.86.amzn1.x86_64.btf.tar.xz"},
		{Kernel{"amzn", "2", "aarch64", "4.14.101-91.76.amzn2.aarch64"}, "amzn/2/arm64/4.14.101-91.76.amzn2.aarch64.btf.tar.xz"},
		{Kernel{"sles", "15.3", "x86_64", "5.3.18-57-default"}, "sles/15.3/x86_64/5.3.18-57-default.btf.tar.xz"},
		{Kernel{"Fedora", " 31 ", "x86_64", "5.3.7-301.fc31.x86_64"}, "fedora/31/x86_64/5.3.7-301.fc31.x86_64.btf.tar.xz"},
	} {
		got, err := tc.k.ArchivePath()
		if err != nil || got != tc.want {
			t.Errorf("%v: got %q, %v; want %q", tc.k, got, err, tc.want)
		}
	}
}

func TestArchivePathRejects(t *testing.T) {
	for _, k := range []Kernel{
		{"", "10", "x86_64", "4.19.0-27-amd64"},
		{"debian", "", "x86_64", "4.19.0-27-amd64"},
		{"debian", "10", "", "4.19.0-27-amd64"},
		{"debian", "10", "riscv64", "4.19.0-27-amd64"},
		{"debian", "10", "x86_64", ""},
		{"debian", "10", "x86_64", "../../etc/passwd"},
		{"debian", "..", "x86_64", "4.19"},
		{"deb/ian", "10", "x86_64", "4.19"},
		{"debian", "10", "x86_64", "4.19 0"},
		{"debian", "10", "x86_64", ".."},
	} {
		if p, err := k.ArchivePath(); !errors.Is(err, ErrBadKernel) {
			t.Errorf("%q: got %q, %v; want ErrBadKernel", k, p, err)
		}
	}
}

func TestParseOSRelease(t *testing.T) {
	id, ver, err := ParseOSRelease(strings.NewReader("# comment\nNAME=\"Debian GNU/Linux\"\nID=debian\nVERSION_ID=\"10\"\nbogus line\n"))
	if err != nil || id != "debian" || ver != "10" {
		t.Fatalf("got %q %q %v", id, ver, err)
	}
	id, ver, err = ParseOSRelease(strings.NewReader("ID='amzn'\nVERSION_ID='2018.03'\n"))
	if err != nil || id != "amzn" || ver != "2018.03" {
		t.Fatalf("got %q %q %v", id, ver, err)
	}
	if _, _, err := ParseOSRelease(strings.NewReader("NAME=x\n")); !errors.Is(err, ErrBadKernel) {
		t.Fatalf("missing ID: %v", err)
	}
}

func TestHostKernel(t *testing.T) {
	p := filepath.Join(t.TempDir(), "os-release")
	os.WriteFile(p, []byte("ID=debian\nVERSION_ID=\"10\"\n"), 0o644)
	k, err := HostKernel(p)
	if err != nil {
		t.Fatal(err)
	}
	if k.OSID != "debian" || k.OSVersion != "10" || k.Release == "" || k.Arch == "" {
		t.Fatalf("got %+v", k)
	}
	if _, err := HostKernel(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("missing os-release accepted")
	}
}

func TestKernelFromProbe(t *testing.T) {
	dir := t.TempDir()
	for name, doc := range map[string]string{
		"flat.json":   `{"release":"4.19.0-27-amd64","arch":"x86_64","os_release":{"ID":"debian","VERSION_ID":"10"},"features":[]}`,
		"nested.json": `{"kernel":{"release":"4.19.0-27-amd64","machine":"x86_64"},"os":{"id":"debian","version_id":"10"}}`,
		// The shape of probe.Report.
		"probe.json": `{"schema_version":1,"kernel":{"release":"4.19.0-27-amd64","version":"4.19.282","version_source":"vdso","machine":"x86_64"},"distro":{"id":"debian","version_id":"10","pretty_name":"Debian GNU/Linux 10 (buster)"},"program_types":{}}`,
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(doc), 0o644)
		k, err := KernelFromProbe(p)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if want := (Kernel{"debian", "10", "x86_64", "4.19.0-27-amd64"}); k != want {
			t.Errorf("%s: got %+v, want %+v", name, k, want)
		}
	}
	p := filepath.Join(dir, "bad.json")
	os.WriteFile(p, []byte(`{"release":"x"}`), 0o644)
	if _, err := KernelFromProbe(p); !errors.Is(err, ErrBadKernel) || !strings.Contains(err.Error(), "bad.json") {
		t.Fatalf("incomplete probe: %v", err)
	}
}

// FuzzArchivePath feeds arbitrary os-release text and uname values: an
// accepted identity must always give a relative, clean, 4-element path.
func FuzzArchivePath(f *testing.F) {
	f.Add("ID=debian\nVERSION_ID=\"11\"\n", "aarch64", "5.10.0-21-arm64")
	f.Add("ID=amzn\nVERSION_ID=\"2018.03\"\n", "x86_64", "4.14.106-79.86.amzn1.x86_64")
	f.Add("ID='rhel'\nVERSION_ID=8.4\n", "x86_64", "../x")
	f.Fuzz(func(t *testing.T, osRelease, arch, release string) {
		id, ver, err := ParseOSRelease(strings.NewReader(osRelease))
		if err != nil {
			return
		}
		p, err := Kernel{id, ver, arch, release}.ArchivePath()
		if err != nil {
			if !errors.Is(err, ErrBadKernel) {
				t.Fatalf("error without ErrBadKernel: %v", err)
			}
			return
		}
		parts := strings.Split(p, "/")
		if len(parts) != 4 || filepath.IsAbs(p) || filepath.Clean(p) != p || !strings.HasSuffix(p, ".btf.tar.xz") {
			t.Fatalf("bad path %q", p)
		}
		for _, part := range parts {
			if part == "" || part == "." || part == ".." {
				t.Fatalf("bad path %q", p)
			}
		}
		if parts[2] != "x86_64" && parts[2] != "arm64" {
			t.Fatalf("arch dir %q", parts[2])
		}
	})
}
