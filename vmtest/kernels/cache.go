package kernels

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/retrobpf/retrobpf/internal/cache"
)

// manifestName is the file of a cache entry describing it; it is written
// last, so an entry without it is incomplete.
const manifestName = "kernel.json"

// Cache is a directory of kernels, one subdirectory per reference.
// Several processes may share it: pulls of one reference are serialized
// by a lock file, and entries appear by an atomic rename.
type Cache struct {
	dir string
}

// ResolveOptions tune Resolve and Pull.
type ResolveOptions struct {
	// Mirror is the Debian archive root URL (".../debian"); empty means
	// $RETROBPF_DEB_MIRROR, then the system's apt sources.
	Mirror string
	// Modules also extracts lib/modules/<release> (deb: and oci:).
	Modules bool
	// BTF is an external BTF file for a file: kernel.
	BTF string
	// Progress, when set, receives a progress bar per download (give a terminal).
	Progress io.Writer
	// Logf, when set, receives progress lines ("downloading …").
	Logf func(format string, args ...any)
	// Debugf, when set, receives details: retries (one line each, naming
	// the URL and the reason), skipped suites.
	Debugf func(format string, args ...any)
	// Insecure allows plain HTTP to OCI registries that are not on loopback
	// (loopback registries always may use plain HTTP).
	Insecure bool
}

func (o ResolveOptions) logf(format string, args ...any) {
	if o.Logf != nil {
		o.Logf(format, args...)
	}
}

func (o ResolveOptions) debugf(format string, args ...any) {
	if o.Debugf != nil {
		o.Debugf(format, args...)
	}
}

// DefaultDir is $XDG_CACHE_HOME/retrobpf/kernels, or retrobpf/kernels in
// the user's cache directory (the BTF cache's sibling).
func DefaultDir() (string, error) {
	d, err := cache.Dir("kernels")
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrCacheUnwritable, err)
	}
	return d, nil
}

// lock takes an exclusive flock on <dir>/.locks/<name>.lock, waiting until
// it is free or ctx ends.
func (c *Cache) lock(ctx context.Context, name string) (unlock func(), err error) {
	unlock, err = cache.Lock(ctx, filepath.Join(c.dir, ".locks", name+".lock"))
	if err != nil && ctx.Err() == nil {
		return nil, fmt.Errorf("%w: %v", ErrCacheUnwritable, err)
	}
	return unlock, err
}

// Open opens (creating it if needed) the cache in dir, or in DefaultDir
// when dir is empty.
func Open(dir string) (*Cache, error) {
	if dir == "" {
		d, err := DefaultDir()
		if err != nil {
			return nil, err
		}
		dir = d
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCacheUnwritable, dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCacheUnwritable, err)
	}
	probe, err := os.CreateTemp(abs, ".probe-*")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCacheUnwritable, err)
	}
	probe.Close()
	os.Remove(probe.Name())
	c := &Cache{dir: abs}
	c.removeStale()
	return c, nil
}

// removeStale deletes what crashed processes left behind: temporary
// entries older than a day (a live pull renames its entry long before)
// and partial downloads nobody resumed for two weeks.
func (c *Cache) removeStale() {
	now := time.Now()
	des, _ := os.ReadDir(c.dir)
	for _, de := range des {
		n := de.Name()
		if !(strings.HasPrefix(n, ".tmp-") || strings.HasPrefix(n, ".old-") || strings.HasPrefix(n, ".rm-")) {
			continue
		}
		if fi, err := de.Info(); err == nil && now.Sub(fi.ModTime()) > 24*time.Hour {
			os.RemoveAll(filepath.Join(c.dir, n))
		}
	}
	dl := filepath.Join(c.dir, ".downloads")
	des, _ = os.ReadDir(dl)
	for _, de := range des {
		if fi, err := de.Info(); err == nil && now.Sub(fi.ModTime()) > 14*24*time.Hour {
			os.Remove(filepath.Join(dl, de.Name()))
		}
	}
}

// Dir is the cache directory.
func (c *Cache) Dir() string { return c.dir }

// modulesSuffix marks the cache entry of a reference pulled with modules.
// It is a separate entry, so asking for modules never replaces (and
// pulls the files from under) a kernel another process may be booting.
const modulesSuffix = "+modules"

// keys returns the cache entries that can serve r, preferred first; the
// first is where a pull goes. An entry without modules never serves a
// request for modules (load checks).
func keys(r Ref, modules bool) []string {
	if modules {
		return []string{r.Key() + modulesSuffix, r.Key()}
	}
	return []string{r.Key(), r.Key() + modulesSuffix}
}

// Resolve returns the kernel for ref from the cache, pulling it first when
// it is missing or damaged (or lacks modules that opts asks for). file:
// and dir: references (local sources) are validated and returned in
// place, never copied.
func (c *Cache) Resolve(ctx context.Context, ref string, opts ResolveOptions) (*Kernel, error) {
	r, src, err := parseSource(ref)
	if err != nil {
		return nil, err
	}
	if src.local() {
		return src.fetch(ctx, c, r, opts, "")
	}
	ks := keys(r, opts.Modules)
	for _, key := range ks {
		if k, err := c.load(key, opts); err == nil {
			return k, nil
		} else if errors.Is(err, ErrCorrupt) {
			opts.logf("cached %s is damaged, pulling it again: %v", ref, err)
		}
	}
	unlock, err := c.lock(ctx, ks[0])
	if err != nil {
		return nil, err
	}
	defer unlock()
	// Another process may have pulled it while we waited for the lock.
	if k, err := c.load(ks[0], opts); err == nil {
		return k, nil
	}
	return c.pullLocked(ctx, r, opts, ks[0])
}

// parseSource parses ref and returns the source that serves it.
func parseSource(ref string) (Ref, source, error) {
	r, err := ParseRef(ref)
	if err != nil {
		return Ref{}, nil, err
	}
	src, err := sourceOf(r)
	return r, src, err
}

// Pull fetches ref again even when it is cached (picking up a newer
// kernel for an alias or a moved tag) and replaces the cache entry.
func (c *Cache) Pull(ctx context.Context, ref string, opts ResolveOptions) (*Kernel, error) {
	r, src, err := parseSource(ref)
	if err != nil {
		return nil, err
	}
	if src.local() {
		return src.fetch(ctx, c, r, opts, "")
	}
	key := keys(r, opts.Modules)[0]
	unlock, err := c.lock(ctx, key)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return c.pullLocked(ctx, r, opts, key)
}

// Lookup returns a cached kernel without touching the network:
// ErrNotCached if it is not there, ErrCorrupt if it is damaged.
func (c *Cache) Lookup(ref string) (*Kernel, error) {
	r, src, err := parseSource(ref)
	if err != nil {
		return nil, err
	}
	if src.local() {
		return src.fetch(context.Background(), c, r, ResolveOptions{}, "")
	}
	var first error
	for _, key := range keys(r, false) {
		k, err := c.load(key, ResolveOptions{})
		if err == nil {
			return k, nil
		}
		if first == nil || errors.Is(err, ErrCorrupt) && !errors.Is(first, ErrCorrupt) {
			first = err
		}
	}
	return nil, first
}

// pullLocked fetches r into a temporary directory and renames it into
// place. The caller holds the reference's lock.
func (c *Cache) pullLocked(ctx context.Context, r Ref, opts ResolveOptions, key string) (*Kernel, error) {
	tmp, err := os.MkdirTemp(c.dir, ".tmp-"+key+"-")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCacheUnwritable, err)
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCacheUnwritable, err)
	}
	src, err := sourceOf(r)
	if err != nil {
		return nil, err
	}
	k, err := src.fetch(ctx, c, r, opts, tmp)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r, err)
	}
	k.Ref = r.String()
	m, err := newManifest(tmp, k)
	if err != nil {
		return nil, err
	}
	if err := writeManifest(tmp, m); err != nil {
		return nil, err
	}
	if err := c.install(tmp, key); err != nil {
		return nil, err
	}
	return c.load(key, ResolveOptions{})
}

// install renames a complete temporary entry into place, replacing an
// older entry for the same key.
func (c *Cache) install(tmp, key string) error {
	if err := cache.ReplaceDir(tmp, filepath.Join(c.dir, key)); err != nil {
		return fmt.Errorf("%w: %v", ErrCacheUnwritable, err)
	}
	return nil
}

// Entry is one cached kernel as List reports it.
type Entry struct {
	Key      string    `json:"key"`
	Kernel   *Kernel   `json:"kernel,omitempty"`
	PulledAt time.Time `json:"pulled_at"`
	Bytes    int64     `json:"bytes"`
	// Damaged says why an entry cannot be used (its manifest is missing
	// or unreadable); Kernel is nil then. kernels rm KEY removes it.
	Damaged string `json:"damaged,omitempty"`
}

// List returns the cached kernels sorted by key, damaged entries included
// (with the reason), so that they can be seen and removed. Incomplete
// ones (a pull in progress or interrupted) are invisible because they
// have no manifest in a non-hidden directory.
func (c *Cache) List() ([]Entry, error) {
	des, err := os.ReadDir(c.dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCacheUnwritable, err)
	}
	var out []Entry
	for _, de := range des {
		if !de.IsDir() || strings.HasPrefix(de.Name(), ".") {
			continue
		}
		m, err := readManifest(filepath.Join(c.dir, de.Name()))
		if err != nil {
			out = append(out, Entry{Key: de.Name(), Damaged: err.Error(), Bytes: dirSize(filepath.Join(c.dir, de.Name()))})
			continue
		}
		out = append(out, Entry{Key: de.Name(), Kernel: m.kernel(filepath.Join(c.dir, de.Name())), PulledAt: m.PulledAt, Bytes: dirSize(filepath.Join(c.dir, de.Name()))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Remove deletes the cache entries of ref (with and without modules),
// or the entry named by a key from List.
func (c *Cache) Remove(ctx context.Context, ref string) error {
	var ks []string
	if r, src, err := parseSource(ref); err == nil {
		if src.local() {
			return fmt.Errorf("%w: %s: %s: kernels are not cached", ErrNotCached, ref, r.Kind)
		}
		ks = keys(r, false)
	} else if strings.ContainsAny(ref, `/\`) || strings.HasPrefix(ref, ".") || ref == "" {
		return err
	} else {
		ks = []string{ref}
	}
	removed := 0
	for _, key := range ks {
		ok, err := c.removeKey(ctx, key)
		if err != nil {
			return err
		}
		if ok {
			removed++
		}
	}
	if removed == 0 {
		return fmt.Errorf("%w: %s", ErrNotCached, ref)
	}
	return nil
}

func (c *Cache) removeKey(ctx context.Context, key string) (bool, error) {
	final := filepath.Join(c.dir, key)
	if _, err := os.Stat(final); err != nil {
		return false, nil
	}
	unlock, err := c.lock(ctx, key)
	if err != nil {
		return false, err
	}
	defer unlock()
	trash, err := os.MkdirTemp(c.dir, ".rm-"+key+"-")
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrCacheUnwritable, err)
	}
	os.Remove(trash)
	if err := os.Rename(final, trash); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, fmt.Errorf("%w: %v", ErrCacheUnwritable, err)
	}
	return true, os.RemoveAll(trash)
}

func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// load reads and verifies a cache entry: the manifest, the SHA256 of each
// kernel file, and the file count and size of the modules tree.
func (c *Cache) load(key string, opts ResolveOptions) (*Kernel, error) {
	dir := filepath.Join(c.dir, key)
	m, err := readManifest(dir)
	if err != nil {
		return nil, err
	}
	if err := m.verify(dir); err != nil {
		return nil, err
	}
	k := m.kernel(dir)
	if opts.Modules && k.Modules == "" {
		return nil, fmt.Errorf("%w: %s has no modules", ErrNotCached, key)
	}
	return k, nil
}

// manifest is kernel.json: the kernel with paths relative to the entry,
// and checksums of its files.
type manifest struct {
	Format   int               `json:"format"`
	Kernel   Kernel            `json:"kernel"`
	Files    map[string]string `json:"files"` // relative path → sha256
	Modules  *treeSum          `json:"modules,omitempty"`
	PulledAt time.Time         `json:"pulled_at"`
}

// treeSum summarizes the modules tree: verifying every module on each
// Resolve would cost seconds, so Resolve checks count and size.
type treeSum struct {
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
}

func newManifest(dir string, k *Kernel) (*manifest, error) {
	m := &manifest{Format: 1, Files: map[string]string{}, PulledAt: time.Now().UTC()}
	rel := *k
	for _, p := range []*string{&rel.Vmlinuz, &rel.Vmlinux, &rel.Config, &rel.SystemMap, &rel.BTF} {
		if *p == "" {
			continue
		}
		r, err := filepath.Rel(dir, *p)
		if err != nil || strings.HasPrefix(r, "..") {
			return nil, fmt.Errorf("kernel file %s outside the cache entry", *p)
		}
		sum, err := cache.SHA256File(*p)
		if err != nil {
			return nil, err
		}
		*p = r
		m.Files[r] = sum
	}
	rel.SHA256 = m.Files[rel.Vmlinuz]
	if rel.Modules != "" {
		r, err := filepath.Rel(dir, rel.Modules)
		if err != nil {
			return nil, err
		}
		rel.Modules = r
		ts := summarizeTree(k.Modules)
		m.Modules = &ts
	}
	m.Kernel = rel
	return m, nil
}

func summarizeTree(dir string) treeSum {
	var t treeSum
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				t.Files++
				t.Bytes += fi.Size()
			}
		}
		return nil
	})
	return t
}

func writeManifest(dir string, m *manifest) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, manifestName), append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("%w: %v", ErrCacheUnwritable, err)
	}
	return nil
}

func readManifest(dir string) (*manifest, error) {
	data, err := os.ReadFile(filepath.Join(dir, manifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotCached, filepath.Base(dir))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil || m.Kernel.Vmlinuz == "" {
		return nil, fmt.Errorf("%w: %s: bad manifest", ErrCorrupt, filepath.Join(dir, manifestName))
	}
	return &m, nil
}

func (m *manifest) verify(dir string) error {
	for rel, sum := range m.Files {
		got, err := cache.SHA256File(filepath.Join(dir, rel))
		if err != nil {
			return fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		if got != sum {
			return fmt.Errorf("%w: %s: %w", ErrCorrupt, filepath.Join(dir, rel), ErrChecksum)
		}
	}
	if m.Modules != nil {
		if got := summarizeTree(filepath.Join(dir, m.Kernel.Modules)); got != *m.Modules {
			return fmt.Errorf("%w: %s: modules tree changed (%d files/%d bytes, want %d/%d)", ErrCorrupt, dir, got.Files, got.Bytes, m.Modules.Files, m.Modules.Bytes)
		}
	}
	return nil
}

// kernel returns the manifest's kernel with absolute paths.
func (m *manifest) kernel(dir string) *Kernel {
	k := m.Kernel
	for _, p := range []*string{&k.Vmlinuz, &k.Vmlinux, &k.Config, &k.SystemMap, &k.BTF, &k.Modules} {
		if *p != "" {
			*p = filepath.Join(dir, *p)
		}
	}
	return &k
}
