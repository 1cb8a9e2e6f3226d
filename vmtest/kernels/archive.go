package kernels

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/retrobpf/retrobpf/internal/atomicfile"
	"github.com/retrobpf/retrobpf/internal/cache"

	"github.com/retrobpf/retrobpf/vmtest/kernels/debian"
)

// debArch is the only architecture kernels are fetched for.
const debArch = "amd64"

// suiteRef names one suite of one archive: "bookworm-security" at the
// security archive.
type suiteRef struct {
	Base  string // archive root URL
	Suite string
}

// suitesFor returns where a Debian release's kernels live: the release
// itself, its -updates and its -security suites.
func suitesFor(m debian.Mirrors, suite string) []suiteRef {
	return []suiteRef{
		{m.Archive, suite},
		{m.Archive, suite + "-updates"},
		{m.Security, suite + "-security"},
	}
}

// indexNames are the Packages files tried, best compression first.
var indexNames = []string{"Packages.xz", "Packages.gz", "Packages"}

// suiteIndex returns the entries of a suite's main/binary-amd64 index that
// keep accepts. The index is verified against the suite's Release file
// and cached by its SHA256 under dir, so an unchanged suite is read
// from disk. A suite the archive does not have yields errNotFound.
func (c *Cache) suiteIndex(ctx context.Context, f *fetcher, s suiteRef, keep func(string) bool) ([]debian.Package, error) {
	dists := strings.TrimRight(s.Base, "/") + "/dists/" + s.Suite
	data, err := f.get(ctx, dists+"/InRelease")
	if errors.Is(err, errNotFound) {
		data, err = f.get(ctx, dists+"/Release")
	}
	if err != nil {
		return nil, err
	}
	rel, err := debian.ParseRelease(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s/InRelease: %v", ErrUnavailable, dists, err)
	}
	for _, name := range indexNames {
		path := "main/binary-" + debArch + "/" + name
		rf, ok := rel.Files[path]
		if !ok {
			continue
		}
		local := filepath.Join(c.dir, ".index", rf.SHA256+"-"+name)
		if !fileHasSHA256(local, rf.SHA256) {
			unlock, err := c.lock(ctx, "index-"+rf.SHA256)
			if err != nil {
				return nil, err
			}
			err = c.fetchIndex(ctx, f, dists, path, rel.AcquireHash, rf, local)
			unlock()
			if err != nil {
				return nil, err
			}
			pruneIndexes(filepath.Dir(local))
		}
		entries, err := readIndexCached(local, keep)
		if err != nil {
			os.Remove(local)
			return nil, fmt.Errorf("%w: %s/%s: %v", ErrUnavailable, dists, path, err)
		}
		for i := range entries {
			entries[i].Base, entries[i].Suite = s.Base, s.Suite
		}
		return entries, nil
	}
	return nil, fmt.Errorf("%w: %s has no main/binary-%s index", ErrUnavailable, dists, debArch)
}

func (c *Cache) fetchIndex(ctx context.Context, f *fetcher, dists, path string, byHash bool, rf debian.ReleaseFile, local string) error {
	if fileHasSHA256(local, rf.SHA256) {
		return nil // another process fetched it while we waited
	}
	url := dists + "/" + path
	if byHash {
		// By-hash paths never change under us while the mirror updates.
		hashURL := dists + "/" + filepath.Dir(path) + "/by-hash/SHA256/" + rf.SHA256
		if err := f.download(ctx, hashURL, local, rf.Size, rf.SHA256, filepath.Base(path)); err == nil {
			return nil
		} else if !errors.Is(err, errNotFound) {
			return err
		}
	}
	if err := f.download(ctx, url, local, rf.Size, rf.SHA256, filepath.Base(path)); err != nil {
		if errors.Is(err, errNotFound) {
			return fmt.Errorf("%w: %v", ErrUnavailable, err) // listed in Release but missing
		}
		return err
	}
	return nil
}

// readIndexCached reads a Packages index through a compact summary
// beside it (one tab-separated line per package), written on first use:
// decompressing a whole suite's index takes seconds, the summary
// milliseconds.
func readIndexCached(path string, keep func(string) bool) ([]debian.Package, error) {
	summary := path + ".tsv"
	if f, err := os.Open(summary); err == nil {
		defer f.Close()
		now := time.Now()
		os.Chtimes(path, now, now) // in use: keep it from pruning
		return readSummary(f, keep)
	}
	all, err := debian.ReadIndex(path, func(string) bool { return true })
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	for _, e := range all {
		dep := ""
		if strings.Contains(e.Depends, "linux-image-") {
			dep = e.Depends
		}
		fmt.Fprintf(&buf, "%s\t%s\t%d\t%s\t%s\t%s\n", e.Package, e.Version, e.Size, e.SHA256, e.Filename, dep)
	}
	if err := atomicfile.WriteFile(summary, buf.Bytes(), 0o644); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCacheUnwritable, err)
	}
	var out []debian.Package
	for _, e := range all {
		if keep(e.Package) {
			out = append(out, e)
		}
	}
	return out, nil
}

func readSummary(r io.Reader, keep func(string) bool) ([]debian.Package, error) {
	var out []debian.Package
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		name, rest, _ := strings.Cut(line, "\t")
		if !keep(name) {
			continue
		}
		f := strings.Split(rest, "\t")
		if len(f) != 5 {
			return nil, fmt.Errorf("bad index summary line %q", line)
		}
		size, _ := strconv.ParseInt(f[1], 10, 64)
		out = append(out, debian.Package{Package: name, Version: f[0], Size: size, SHA256: f[2], Filename: f[3], Depends: f[4]})
	}
	return out, sc.Err()
}

// pruneIndexes removes cached indexes (and their summaries) that no
// resolution used for two weeks: suites move on, old indexes are dead.
func pruneIndexes(dir string) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	cutoff := time.Now().Add(-14 * 24 * time.Hour)
	for _, de := range des {
		if strings.HasSuffix(de.Name(), ".tsv") || strings.HasSuffix(de.Name(), ".part") {
			continue
		}
		if fi, err := de.Info(); err == nil && fi.ModTime().Before(cutoff) {
			p := filepath.Join(dir, de.Name())
			os.Remove(p)
			os.Remove(p + ".tsv")
		}
	}
}

// fileHasSHA256 reports whether path exists with the given checksum.
func fileHasSHA256(path, sum string) bool {
	return cache.Verify(path, sum) == nil
}
