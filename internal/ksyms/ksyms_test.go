package ksyms

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const systemMap = `ffffffff81000000 T _text
ffffffff81001000 T do_sys_openat2
ffffffff81002000 t vfs_read_iter.constprop.0
ffffffff82000000 D jiffies
`

func TestReadSystemMap(t *testing.T) {
	syms, err := Read(strings.NewReader(systemMap), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"do_sys_openat2", "vfs_read_iter.constprop.0", "jiffies"} {
		if !syms[n] {
			t.Errorf("%s missing from %v", n, syms)
		}
	}
	only, err := Read(strings.NewReader(systemMap), map[string]bool{"jiffies": true, "absent": true})
	if err != nil || len(only) != 1 || !only["jiffies"] {
		t.Errorf("filtered: %v, %v", only, err)
	}
}

// Debian's linux-image packages ship this one line instead of the table.
func TestReadRefusesPlaceholder(t *testing.T) {
	_, err := Read(strings.NewReader("ffffffffffffffff B The real System.map is in the linux-image-<version>-dbg package\n"), nil)
	if !errors.Is(err, ErrPlaceholder) {
		t.Fatalf("err = %v, want ErrPlaceholder", err)
	}
}

func TestReadFileGzipAndErrors(t *testing.T) {
	dir := t.TempDir()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(systemMap))
	zw.Close()
	gz := filepath.Join(dir, "System.map.gz")
	if err := os.WriteFile(gz, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if syms, err := ReadFile(gz); err != nil || !syms["do_sys_openat2"] {
		t.Fatalf("gzip: %v %v", syms, err)
	}
	bad := filepath.Join(dir, "placeholder")
	os.WriteFile(bad, []byte("ffffffffffffffff B placeholder\n"), 0o644)
	if _, err := ReadFile(bad); !errors.Is(err, ErrPlaceholder) || !strings.Contains(err.Error(), bad) {
		t.Errorf("placeholder: %v", err)
	}
	if _, err := ReadFile(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing: %v", err)
	}
}

func TestReadFilterFunctions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "available_filter_functions")
	os.WriteFile(path, []byte("do_sys_openat2\nvfs_read\nnf_conntrack_in [nf_conntrack]\n\n"), 0o644)
	set, err := ReadFilterFunctions(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(set) != 3 || !set["nf_conntrack_in"] || !set["vfs_read"] {
		t.Errorf("%v", set)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	os.WriteFile(empty, nil, 0o644)
	if _, err := ReadFilterFunctions(empty); err == nil || !strings.Contains(err.Error(), empty) {
		t.Errorf("empty: %v", err)
	}
}
