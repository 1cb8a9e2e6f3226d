package kernels

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestListShowsDamaged: an entry whose manifest is gone is listed with the
// reason (it used to print as a blank row), and can be removed by key.
func TestListShowsDamaged(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "kernels")
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "deb_6.1-broken"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "deb_6.1-broken", "vmlinuz"), []byte("x"), 0o644)
	l, err := c.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(l) != 1 || l[0].Key != "deb_6.1-broken" || l[0].Kernel != nil || l[0].Damaged == "" {
		t.Fatalf("list %+v", l)
	}
	if err := c.Remove(t.Context(), "deb_6.1-broken"); err != nil {
		t.Fatalf("remove by key: %v", err)
	}
	if l, _ := c.List(); len(l) != 0 {
		t.Fatalf("still listed: %+v", l)
	}
	if strings.Contains(l[0].Damaged, "\n") {
		t.Error("multi-line reason")
	}
}
