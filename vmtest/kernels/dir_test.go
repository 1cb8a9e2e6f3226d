package kernels

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// lvhTree lays out a kernel directory as lvh images and ci-kernels do.
func lvhTree(t *testing.T, label, release string, modules bool) string {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "boot", "vmlinuz-"+label), fakeBzImage(release))
	writeFile(t, filepath.Join(root, "boot", "btf-"+label), []byte{0x9f, 0xeb})
	writeFile(t, filepath.Join(root, "boot", "config-"+label), []byte("CONFIG_BPF=y\n"))
	if modules {
		writeFile(t, filepath.Join(root, "lib", "modules", release, "modules.order"), []byte("kernel/a.ko\n"))
	}
	return root
}

func TestParseDirRef(t *testing.T) {
	r, err := ParseRef("dir:/srv/kernels/5.4")
	if err != nil || r != (Ref{Kind: KindDir, Path: "/srv/kernels/5.4"}) || r.String() != "dir:/srv/kernels/5.4" {
		t.Fatalf("ParseRef(dir:) = %+v, %v", r, err)
	}
	if _, err := ParseRef("dir:"); !errors.Is(err, ErrBadRef) {
		t.Fatalf("dir: without a path: %v", err)
	}
	// The scheme list of errors comes from the registered sources.
	_, err = ParseRef("ftp:x")
	if !errors.Is(err, ErrBadRef) || !strings.Contains(err.Error(), "deb:, dir:, file: or oci:") {
		t.Fatalf("unknown scheme: %v", err)
	}
	if _, err := ParseRef("alias:6.1"); !errors.Is(err, ErrBadRef) {
		t.Fatalf("alias: is not a scheme: %v", err)
	}
}

func TestResolveDir(t *testing.T) {
	c := openTestCache(t)
	ctx := context.Background()
	root := lvhTree(t, "5.4", "5.4.290-test", true)
	k, err := c.Resolve(ctx, "dir:"+root, ResolveOptions{Modules: true})
	if err != nil {
		t.Fatal(err)
	}
	boot := filepath.Join(root, "boot")
	if k.Release != "5.4.290-test" || k.Version.String() != "5.4.290" || k.Vmlinuz != filepath.Join(boot, "vmlinuz-5.4") ||
		k.BTF != filepath.Join(boot, "btf-5.4") || k.Config != filepath.Join(boot, "config-5.4") || k.Modules != root || k.SHA256 == "" {
		t.Errorf("kernel %+v", k)
	}
	if k.Ref != "dir:"+root || k.Source != root {
		t.Errorf("ref %q source %q", k.Ref, k.Source)
	}
	if l, _ := c.List(); len(l) != 0 {
		t.Errorf("dir: kernels must not be copied into the cache: %+v", l)
	}
	if err := c.Remove(ctx, "dir:"+root); !errors.Is(err, ErrNotCached) {
		t.Errorf("Remove(dir:) = %v", err)
	}

	// ci-kernels naming: plain boot/vmlinuz and boot/vmlinux.
	ci := t.TempDir()
	writeFile(t, filepath.Join(ci, "boot", "vmlinuz"), fakeBzImage("6.6.1"))
	writeFile(t, filepath.Join(ci, "boot", "vmlinux"), []byte("\x7fELF"))
	writeFile(t, filepath.Join(ci, "boot", "config-6.1"), []byte("another kernel's"))
	k, err = c.Lookup("dir:" + ci)
	if err != nil {
		t.Fatal(err)
	}
	if k.Release != "6.6.1" || k.Vmlinux != filepath.Join(ci, "boot", "vmlinux") || k.Config != "" {
		t.Errorf("ci-kernels layout: %+v", k)
	}

	twoKernels := lvhTree(t, "5.4", "5.4.290", false)
	writeFile(t, filepath.Join(twoKernels, "boot", "vmlinuz-6.1"), fakeBzImage("6.1.0"))
	noModules := lvhTree(t, "5.4", "5.4.290", false)
	noImage := t.TempDir()
	writeFile(t, filepath.Join(noImage, "boot", "config-5.4"), []byte("CONFIG_BPF=y\n"))
	notKernel := t.TempDir()
	writeFile(t, filepath.Join(notKernel, "boot", "vmlinuz-5.4"), []byte("text, not a bzImage at all........."))
	for name, tc := range map[string]struct {
		ref     string
		modules bool
		want    error
	}{
		"missing":      {"dir:" + filepath.Join(root, "nope"), false, ErrNotAKernel},
		"a file":       {"dir:" + k.Vmlinuz, false, ErrNotAKernel},
		"no boot":      {"dir:" + t.TempDir(), false, ErrNotAKernel},
		"no image":     {"dir:" + noImage, false, ErrNoKernelImage},
		"two kernels":  {"dir:" + twoKernels, false, ErrNotAKernel},
		"no modules":   {"dir:" + noModules, true, ErrNotAKernel},
		"not a kernel": {"dir:" + notKernel, false, ErrNotAKernel},
	} {
		_, err := c.Resolve(ctx, tc.ref, ResolveOptions{Modules: tc.modules})
		if !errors.Is(err, tc.want) && !(tc.want == ErrNotAKernel && errors.Is(err, ErrNoKernelImage)) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
		if err != nil && !IsInputError(err) {
			t.Errorf("%s: %v is not an input error", name, err)
		}
	}
}

// The layout is recognised the same way in a directory and in a tar
// stream: unpacking an lvh tree's tar finds what scanning the tree finds.
func TestLayoutTarAndDirAgree(t *testing.T) {
	root := lvhTree(t, "5.4", "5.4.290", false)
	var files []tarFile
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			rel, _ := filepath.Rel(root, p)
			data, _ := os.ReadFile(p)
			files = append(files, tarFile{Name: rel, Data: data})
		}
		return nil
	})
	kd, err := scanKernelDir(root)
	if err != nil {
		t.Fatal(err)
	}
	c, err := unpackKernelTar(tarReader(buildTar(t, files)), t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Files) != len(kd.Files) || c.Release != kd.Release {
		t.Fatalf("tar: %+v, dir: %+v", c, kd)
	}
	for _, f := range c.Files {
		if kd.Files[f] == "" {
			t.Errorf("%s found in the tar only", f)
		}
	}
}
