package kernels

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

func TestModule(t *testing.T) {
	dir := t.TempDir()
	d := filepath.Join(dir, "lib/modules/6.1.0-x/kernel/drivers/block")
	os.MkdirAll(d, 0o755)
	want := []byte("\x7fELF fake module")
	var xzBuf bytes.Buffer
	w, _ := xz.NewWriter(&xzBuf)
	w.Write(want)
	w.Close()
	os.WriteFile(filepath.Join(d, "loop.ko.xz"), xzBuf.Bytes(), 0o644)
	zw, _ := zstd.NewWriter(nil)
	os.WriteFile(filepath.Join(d, "nbd.ko.zst"), zw.EncodeAll(want, nil), 0o644)
	os.WriteFile(filepath.Join(d, "loopback.ko"), []byte("not loop"), 0o644)

	k := &Kernel{Ref: "6.1", Modules: dir}
	for _, name := range []string{"loop", "nbd"} {
		got, err := k.Module(name)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s: %q %v", name, got, err)
		}
	}
	if _, err := k.Module("brd"); !errors.Is(err, ErrNoModule) {
		t.Fatalf("missing module: %v", err)
	}
	if _, err := (&Kernel{Ref: "6.1"}).Module("loop"); !errors.Is(err, ErrNoModule) {
		t.Fatalf("no tree: %v", err)
	}
}
