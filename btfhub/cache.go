package btfhub

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// Cache is a directory of extracted, validated BTF files laid out like the
// archive: <dir>/<id>/<version>/<arch>/<release>.btf. Writers hold an
// exclusive flock on <dir>/.lock; files appear by atomic rename only.
type Cache struct {
	Dir string
}

// DefaultCacheDir is $XDG_CACHE_HOME/retrobpf/btf, or ~/.cache/retrobpf/btf.
func DefaultCacheDir() (string, error) {
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("no cache directory: set XDG_CACHE_HOME: %w", err)
		}
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "retrobpf", "btf"), nil
}

// Path returns where k's BTF lives in the cache (whether or not it is there).
func (c Cache) Path(k Kernel) (string, error) {
	ap, err := k.ArchivePath()
	if err != nil {
		return "", err
	}
	return filepath.Join(c.Dir, filepath.FromSlash(strings.TrimSuffix(ap, ".tar.xz"))), nil
}

// LockPath is the default lock file of this cache.
func (c Cache) LockPath() string { return filepath.Join(c.Dir, LockFileName) }

// Lookup returns the cached file for k, or an error wrapping fs.ErrNotExist.
func (c Cache) Lookup(k Kernel) (string, error) {
	p, err := c.Path(k)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s: not a regular file: %w", p, fs.ErrNotExist)
	}
	return p, nil
}

// CacheEntry is one cached BTF file.
type CacheEntry struct {
	Path string `json:"path"` // archive-relative, e.g. debian/10/x86_64/4.19.0-27-amd64.btf
	File string `json:"file"` // absolute file name
	Size int64  `json:"size"`
}

// List returns every cached BTF file, sorted by path.
func (c Cache) List() ([]CacheEntry, error) {
	var out []CacheEntry
	err := filepath.WalkDir(c.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == c.Dir {
				return filepath.SkipDir
			}
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && p != c.Dir {
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() || !strings.HasSuffix(p, ".btf") {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(c.Dir, p)
		out = append(out, CacheEntry{Path: filepath.ToSlash(rel), File: p, Size: fi.Size()})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, err
}

// lock takes the cache's exclusive writer lock; it blocks while another
// retrobpf process fetches into the same cache.
func (c Cache) lock() (unlock func(), err error) {
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create cache: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(c.Dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock cache: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock cache %s: %w", c.Dir, err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
