package btfhub

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"

	"github.com/retrobpf/retrobpf/internal/cache"
)

// Cache is a directory of extracted, validated BTF files laid out like the
// archive: <dir>/<id>/<version>/<arch>/<release>.btf. Writers hold an
// exclusive flock on <dir>/.lock; files appear by atomic rename only.
type Cache struct {
	Dir string
}

// DefaultCacheDir is $XDG_CACHE_HOME/retrobpf/btf, or retrobpf/btf in the
// user's cache directory (the kernel cache's sibling).
func DefaultCacheDir() (string, error) { return cache.Dir("btf") }

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

// Lookup returns the cached file for k after checking it against the
// cache's lock file: an error wrapping fs.ErrNotExist if it is not
// cached, ErrCorruptCache if it is damaged or was never recorded.
func (c Cache) Lookup(k Kernel) (string, error) {
	p, err := c.Path(k)
	if err != nil {
		return "", err
	}
	ap, _ := k.ArchivePath()
	lock, err := ReadLockFile(c.LockPath())
	if err != nil {
		return "", err
	}
	if _, err := verifyCached(p, lock.Entries[ap]); err != nil {
		return "", err
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

// lock takes the cache's exclusive writer lock; it waits while another
// retrobpf process fetches into the same cache, or until ctx ends.
func (c Cache) lock(ctx context.Context) (unlock func(), err error) {
	unlock, err = cache.Lock(ctx, filepath.Join(c.Dir, ".lock"))
	if err != nil {
		return nil, fmt.Errorf("lock cache %s: %w", c.Dir, err)
	}
	return unlock, nil
}
