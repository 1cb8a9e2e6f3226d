package cache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

var (
	// ErrNoRoot is returned when neither $XDG_CACHE_HOME nor $HOME is set.
	ErrNoRoot = errors.New("no cache directory: set XDG_CACHE_HOME")
	// ErrMismatch is returned by Verify for a file whose SHA256 is not the
	// recorded one.
	ErrMismatch = errors.New("cached file does not match its recorded sha256")
)

// Root is $XDG_CACHE_HOME/retrobpf, or retrobpf in os.UserCacheDir.
func Root() (string, error) {
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrNoRoot, err)
		}
		base = d
	}
	return filepath.Join(base, "retrobpf"), nil
}

// Dir is the directory of one cache below Root ("kernels", "btf").
func Dir(name string) (string, error) {
	root, err := Root()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, name), nil
}

// Lock takes an exclusive flock on path (created if needed), waiting
// until it is free or ctx ends.
func Lock(ctx context.Context, path string) (unlock func(), err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// File is a file being written beside its final name; Commit renames it
// into place, Abort removes it. Readers never see it half-written.
type File struct {
	*os.File
	final string
	done  bool
}

// Create starts writing final atomically. Call Abort on every path that
// does not Commit (a deferred Abort after Commit does nothing).
func Create(final string, perm os.FileMode) (*File, error) {
	dir := filepath.Dir(final)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(final)+".tmp-*")
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return &File{File: f, final: final}, nil
}

// Commit flushes the file to disk and renames it to its final name.
func (f *File) Commit() error {
	if f.done {
		return errors.New("cache: file already committed or aborted")
	}
	f.done = true
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), f.final)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// Abort discards the file unless it was committed.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.Close()
	os.Remove(f.Name())
}

// ReplaceDir renames the complete directory tmp to final, replacing an
// older final. The old entry is first renamed aside, so final is at every
// moment either the old or the new entry, never a mix.
func ReplaceDir(tmp, final string) error {
	if _, err := os.Lstat(final); err == nil {
		old, err := os.MkdirTemp(filepath.Dir(final), ".old-"+filepath.Base(final)+"-")
		if err != nil {
			return err
		}
		if err := os.Remove(old); err != nil {
			return err
		}
		if err := os.Rename(final, old); err != nil {
			return err
		}
		defer os.RemoveAll(old)
	}
	return os.Rename(tmp, final)
}

// SHA256File returns the hex SHA256 of a file, streaming it.
func SHA256File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Verify returns nil if path has the given hex SHA256, an error wrapping
// ErrMismatch if its content differs, or the error reading it.
func Verify(path, sum string) error {
	got, err := SHA256File(path)
	if err != nil {
		return err
	}
	if got != sum {
		return fmt.Errorf("%s: %w (sha256 %s, recorded %s)", path, ErrMismatch, got, sum)
	}
	return nil
}
