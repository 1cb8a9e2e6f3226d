package kernels

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestResolveFile(t *testing.T) {
	dir := t.TempDir()
	kernel := filepath.Join(dir, "bzImage")
	writeFile(t, kernel, fakeBzImage("5.4.0-rc1-test"))
	btf := filepath.Join(dir, "btf-5.4")
	writeFile(t, btf, []byte{0x9f, 0xeb})
	c := openTestCache(t)

	k, err := c.Resolve(context.Background(), "file:"+kernel, ResolveOptions{BTF: btf})
	if err != nil {
		t.Fatal(err)
	}
	if k.Release != "5.4.0-rc1-test" || k.Version.String() != "5.4" || k.Vmlinuz != kernel || k.BTF != btf || k.SHA256 == "" {
		t.Errorf("kernel %+v", k)
	}
	if l, _ := c.List(); len(l) != 0 {
		t.Errorf("file: kernels must not be copied into the cache: %+v", l)
	}

	// /boot naming: config-<v> and btf-<v> beside vmlinuz-<v> come along.
	boot := t.TempDir()
	writeFile(t, filepath.Join(boot, "vmlinuz-5.4.0-test"), fakeBzImage("5.4.0-test"))
	writeFile(t, filepath.Join(boot, "config-5.4.0-test"), []byte("CONFIG_BPF=y\n"))
	writeFile(t, filepath.Join(boot, "btf-5.4.0-test"), []byte{0x9f, 0xeb})
	writeFile(t, filepath.Join(boot, "config-6.1"), []byte("other kernel"))
	k, err = c.Resolve(context.Background(), "file:"+filepath.Join(boot, "vmlinuz-5.4.0-test"), ResolveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if k.Config != filepath.Join(boot, "config-5.4.0-test") || k.BTF != filepath.Join(boot, "btf-5.4.0-test") || k.SystemMap != "" {
		t.Errorf("siblings: %+v", k)
	}

	text := filepath.Join(dir, "notes.txt")
	writeFile(t, text, []byte("just some text that is long enough? no."))
	big := filepath.Join(dir, "big.bin")
	writeFile(t, big, make([]byte, 4096))
	for name, ref := range map[string]string{
		"text":    "file:" + text,
		"zeros":   "file:" + big,
		"dir":     "file:" + dir,
		"missing": "file:" + filepath.Join(dir, "nope"),
	} {
		if _, err := c.Resolve(context.Background(), ref, ResolveOptions{}); !errors.Is(err, ErrNotAKernel) {
			t.Errorf("%s: %v, want ErrNotAKernel", name, err)
		}
	}
	if _, err := c.Resolve(context.Background(), "file:"+kernel, ResolveOptions{BTF: filepath.Join(dir, "nope")}); err == nil {
		t.Error("missing --btf file accepted")
	}
	// A header whose version pointer leads nowhere.
	bad := fakeBzImage("x")
	bad[bzKernelVersion], bad[bzKernelVersion+1] = 0xff, 0xff
	writeFile(t, filepath.Join(dir, "bad"), bad)
	if _, err := BzImageRelease(filepath.Join(dir, "bad")); !errors.Is(err, ErrNotAKernel) {
		t.Errorf("bad pointer: %v", err)
	}
	os.Remove(filepath.Join(dir, "bad"))
}
