package kernels

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/retrobpf/retrobpf/vmtest/kernels/debian"
)

func TestUnpackDeb(t *testing.T) {
	const rel = "6.1.0-10-cloud-amd64"
	for _, comp := range []string{"xz", "zst"} {
		t.Run(comp, func(t *testing.T) {
			dir := t.TempDir()
			c, err := unpackDeb(bytes.NewReader(buildDeb(t, rel, comp)), dir, true)
			if err != nil {
				t.Fatal(err)
			}
			if c.Release != rel || c.Modules != dirModules {
				t.Errorf("contents %+v", c)
			}
			got, err := BzImageRelease(filepath.Join(dir, fileVmlinuz))
			if err != nil || got != rel {
				t.Errorf("vmlinuz release %q, %v", got, err)
			}
			if b, _ := os.ReadFile(filepath.Join(dir, fileConfig)); string(b) != "CONFIG_BPF_SYSCALL=y\n" {
				t.Errorf("config %q", b)
			}
			if b, _ := os.ReadFile(filepath.Join(dir, "modules/lib/modules", rel, "modules.order")); string(b) != "kernel/net/a.ko\n" {
				t.Errorf("modules.order %q", b)
			}
			if _, err := os.Stat(filepath.Join(dir, "usr")); err == nil {
				t.Error("unrelated files extracted")
			}
		})
	}
	t.Run("no-modules", func(t *testing.T) {
		dir := t.TempDir()
		c, err := unpackDeb(bytes.NewReader(buildDeb(t, rel, "xz")), dir, false)
		if err != nil || c.Modules != "" {
			t.Fatalf("%+v %v", c, err)
		}
		if _, err := os.Stat(filepath.Join(dir, dirModules)); err == nil {
			t.Error("modules extracted without being asked")
		}
	})
	t.Run("no-kernel", func(t *testing.T) {
		deb := buildAr(arMember{"debian-binary", []byte("2.0\n")}, arMember{"data.tar.zst", compress(t, "zst", buildTar(t, []tarFile{{Name: "./bin/true", Data: []byte("x")}}))})
		if _, err := unpackDeb(bytes.NewReader(deb), t.TempDir(), false); !errors.Is(err, ErrNoKernelImage) {
			t.Errorf("got %v, want ErrNoKernelImage", err)
		}
	})
	t.Run("not-ar", func(t *testing.T) {
		if _, err := unpackDeb(bytes.NewReader([]byte("PK\x03\x04 zip file")), t.TempDir(), false); !errors.Is(err, debian.ErrBadAr) {
			t.Errorf("got %v, want debian.ErrBadAr", err)
		}
	})
	t.Run("path-traversal", func(t *testing.T) {
		dir := t.TempDir()
		deb := buildAr(arMember{"data.tar.xz", compress(t, "xz", buildTar(t, []tarFile{
			{Name: "./boot/vmlinuz-" + rel, Data: fakeBzImage(rel)},
			{Name: "./lib/modules/../../../../evil", Data: []byte("x")},
		}))})
		if _, err := unpackDeb(bytes.NewReader(deb), dir, true); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "evil")); err == nil {
			t.Error("entry escaped the destination")
		}
	})
}

func TestUnpackImageLayouts(t *testing.T) {
	for name, files := range map[string][]tarFile{
		"ci-kernels": {{Name: "boot/vmlinuz", Data: fakeBzImage("5.4.290")}, {Name: "boot/vmlinux", Data: []byte("\x7fELF")}},
		"lvh":        {{Name: "/boot/vmlinuz-5.4", Data: fakeBzImage("5.4.290")}, {Name: "/boot/btf-5.4", Data: []byte{0x9f, 0xeb}}},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			c, err := unpackKernelTar(tar.NewReader(bytes.NewReader(buildTar(t, files))), dir, false)
			if err != nil {
				t.Fatal(err)
			}
			k := &Kernel{}
			if err := fillKernel(k, dir, c, true); err != nil {
				t.Fatal(err)
			}
			if k.Release != "5.4.290" || k.Version.String() != "5.4.290" {
				t.Errorf("release %s version %s", k.Release, k.Version)
			}
			if name == "ci-kernels" && k.Vmlinux == "" || name == "lvh" && k.BTF == "" {
				t.Errorf("%s: %+v", name, k)
			}
		})
	}
}
