package inputfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "ok.yaml")
	if err := os.WriteFile(ok, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := Read(ok, 5); err != nil || string(got) != "hello" {
		t.Fatalf("Read = %q, %v", got, err)
	}
	if _, err := Read(ok, 4); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("5 bytes with a cap of 4: %v", err)
	}
	if _, err := Read(filepath.Join(dir, "missing"), 4); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	if _, err := Read(dir, 4); !errors.Is(err, ErrNotRegular) {
		t.Fatalf("directory: %v", err)
	}
	if _, err := Read("/dev/zero", MaxDocument); !errors.Is(err, ErrNotRegular) {
		t.Fatalf("/dev/zero: %v", err)
	}
}

// A FIFO with no writer must be refused at once, not block.
func TestReadFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "manifest.yaml")
	if err := unix.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := Read(fifo, MaxDocument)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrNotRegular) {
			t.Fatalf("FIFO: %v", err)
		}
		if want := fifo + ": not a regular file (a named pipe)"; err.Error() != want {
			t.Fatalf("FIFO error %q, want %q", err, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Read blocked on a FIFO")
	}
}
