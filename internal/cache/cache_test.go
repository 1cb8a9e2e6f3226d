package cache

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestRoot(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", "/x/cache")
	if d, err := Dir("btf"); err != nil || d != "/x/cache/retrobpf/btf" {
		t.Fatalf("Dir = %q, %v", d, err)
	}
	// Without XDG_CACHE_HOME both caches follow os.UserCacheDir (they
	// used to disagree: one used $HOME/.cache directly).
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "/home/u")
	want, _ := os.UserCacheDir()
	if d, err := Root(); err != nil || d != filepath.Join(want, "retrobpf") {
		t.Fatalf("Root = %q, %v", d, err)
	}
	t.Setenv("HOME", "")
	if _, err := Root(); !errors.Is(err, ErrNoRoot) {
		t.Fatalf("no HOME: %v", err)
	}
}

func TestLock(t *testing.T) {
	p := filepath.Join(t.TempDir(), "locks", "a.lock")
	unlock, err := Lock(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := Lock(ctx, p); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second lock while held: %v", err)
	}
	unlock()
	unlock2, err := Lock(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	unlock2()
}

func TestCreateCommitAbort(t *testing.T) {
	dir := t.TempDir()
	final := filepath.Join(dir, "sub", "f")
	f, err := Create(final, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("hello")
	if _, err := os.Stat(final); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("visible before Commit")
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	f.Abort() // after Commit: nothing
	if b, _ := os.ReadFile(final); string(b) != "hello" {
		t.Fatalf("content %q", b)
	}
	if err := Verify(final, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(final, []byte("hellp"), 0o644)
	if err := Verify(final, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"); !errors.Is(err, ErrMismatch) {
		t.Fatalf("changed file: %v", err)
	}

	g, _ := Create(final, 0o644)
	g.WriteString("other")
	g.Abort()
	ents, _ := os.ReadDir(filepath.Dir(final))
	if len(ents) != 1 {
		t.Fatalf("Abort left %v", ents)
	}
}

func TestReplaceDir(t *testing.T) {
	dir := t.TempDir()
	final := filepath.Join(dir, "entry")
	for _, content := range []string{"one", "two"} {
		tmp, _ := os.MkdirTemp(dir, ".tmp-")
		os.WriteFile(filepath.Join(tmp, "f"), []byte(content), 0o644)
		if err := ReplaceDir(tmp, final); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(filepath.Join(final, "f")); string(b) != content {
			t.Fatalf("entry holds %q, want %q", b, content)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("leftovers: %v", ents)
	}
}
