package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.json")
	if err := WriteFile(p, []byte("new\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil || string(got) != "new\n" {
		t.Fatalf("content %q, %v", got, err)
	}
	st, err := os.Stat(p)
	if err != nil || st.Mode().Perm() != 0o640 {
		t.Fatalf("mode %v, %v", st.Mode(), err)
	}
	assertOnly(t, dir, "out.json")
}

// A fill that fails half-way must leave the old file as it was and no
// temporary file behind.
func TestWriteErrorKeepsOldContent(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.json")
	if err := os.WriteFile(p, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Write(p, 0o644, func(w io.Writer) error {
		io.WriteString(w, "half of the new con")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	got, _ := os.ReadFile(p)
	if string(got) != "old\n" {
		t.Fatalf("old content replaced by %q", got)
	}
	assertOnly(t, dir, "out.json")
}

// A fill that fails on a path that did not exist leaves nothing at all.
func TestWriteErrorLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	err := Write(filepath.Join(dir, "new.json"), 0o644, func(w io.Writer) error {
		io.WriteString(w, "partial")
		return errors.New("boom")
	})
	if err == nil {
		t.Fatal("no error")
	}
	assertOnly(t, dir)
}

// The rename fails when the target is a directory: the temporary file is
// removed and the directory is untouched.
func TestWriteRenameFails(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "taken")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(target, "keep"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(target, []byte("x"), 0o644); err == nil {
		t.Fatal("no error renaming over a non-empty directory")
	}
	assertOnly(t, dir, "taken")
	if _, err := os.Stat(filepath.Join(target, "keep")); err != nil {
		t.Fatal(err)
	}
}

func TestWriteMissingDir(t *testing.T) {
	if err := WriteFile(filepath.Join(t.TempDir(), "no", "such", "f"), nil, 0o644); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want ErrNotExist", err)
	}
}

func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, de := range des {
		got = append(got, de.Name())
	}
	if len(got) != len(names) {
		t.Fatalf("directory holds %q, want %q", got, names)
	}
	for i := range got {
		if got[i] != names[i] {
			t.Fatalf("directory holds %q, want %q", got, names)
		}
	}
}

// A process that exits in the middle of a Write (a second Ctrl-C) calls
// RemovePending first: the temporary file goes, the old content stays.
func TestRemovePendingDuringWrite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.json")
	if err := os.WriteFile(p, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	filling := make(chan struct{})
	resume := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- Write(p, 0o644, func(w io.Writer) error {
			io.WriteString(w, "half")
			close(filling)
			<-resume
			return nil
		})
	}()
	<-filling
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Fatalf("during the write: %d entries, want out.json and its temporary file", len(entries))
	}
	RemovePending()
	assertOnly(t, dir, "out.json")
	close(resume)
	if err := <-done; err == nil {
		t.Error("a Write whose temporary file was removed reported success")
	}
	got, _ := os.ReadFile(p)
	if string(got) != "old\n" {
		t.Errorf("out.json = %q, want the old content", got)
	}
}
