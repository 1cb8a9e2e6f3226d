package matrix

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/ulikunitz/xz"
)

func TestLoopModule(t *testing.T) {
	dir := t.TempDir()
	d := filepath.Join(dir, "lib/modules/6.1.0-x/kernel/drivers/block")
	os.MkdirAll(d, 0o755)
	want := []byte("\x7fELF fake module")
	var buf bytes.Buffer
	w, _ := xz.NewWriter(&buf)
	w.Write(want)
	w.Close()
	os.WriteFile(filepath.Join(d, "loop.ko.xz"), buf.Bytes(), 0o644)
	got, err := loopModule(dir)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("%q %v", got, err)
	}
	if _, err := loopModule(t.TempDir()); err == nil {
		t.Fatal("empty tree gave a module")
	}
	if _, err := loopModule(""); err == nil {
		t.Fatal("no tree gave a module")
	}
}
