package kernels

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ulikunitz/xz"

	"github.com/retrobpf/retrobpf/internal/cache"
	"github.com/retrobpf/retrobpf/internal/cliutil"
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
func suitesFor(m Mirrors, suite string) []suiteRef {
	return []suiteRef{
		{m.Archive, suite},
		{m.Archive, suite + "-updates"},
		{m.Security, suite + "-security"},
	}
}

// pkgEntry is the part of a Packages stanza that matters here.
type pkgEntry struct {
	Package  string
	Version  string
	Depends  string
	Filename string
	Size     int64
	SHA256   string
	// Base is the archive root the Filename is relative to; Suite says
	// where the entry was found.
	Base  string
	Suite string
}

func (e pkgEntry) URL() string { return strings.TrimRight(e.Base, "/") + "/" + e.Filename }

// releaseFile is one "sha256 size path" line of a Release file.
type releaseFile struct {
	SHA256 string
	Size   int64
}

// release is what a Release/InRelease file says about its indexes.
type release struct {
	Files       map[string]releaseFile
	AcquireHash bool
}

// parseRelease reads the SHA256 section of a Release or InRelease file.
// The PGP armour of InRelease is stripped (the signature is not checked:
// the transport is the mirror the system trusts for apt).
func parseRelease(data []byte) (release, error) {
	r := release{Files: map[string]releaseFile{}}
	text := string(data)
	if strings.HasPrefix(text, "-----BEGIN PGP SIGNED MESSAGE-----") {
		if i := strings.Index(text, "\n\n"); i >= 0 {
			text = text[i+2:]
		}
		if i := strings.Index(text, "\n-----BEGIN PGP SIGNATURE-----"); i >= 0 {
			text = text[:i]
		}
	}
	inSHA := false
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimPrefix(line, "- ") // dash-escaping of clearsigned text
		if line == "" {
			continue
		}
		if line[0] != ' ' {
			k, v, _ := strings.Cut(line, ":")
			inSHA = k == "SHA256"
			if k == "Acquire-By-Hash" && strings.TrimSpace(v) == "yes" {
				r.AcquireHash = true
			}
			continue
		}
		if !inSHA {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 || len(f[0]) != 64 {
			continue
		}
		size, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		r.Files[f[2]] = releaseFile{SHA256: f[0], Size: size}
	}
	if len(r.Files) == 0 {
		return r, errors.New("no SHA256 section")
	}
	return r, nil
}

// parsePackages reads a Packages index, keeping the stanzas whose
// package name keep accepts.
func parsePackages(r io.Reader, keep func(string) bool) ([]pkgEntry, error) {
	var out []pkgEntry
	br := bufio.NewReaderSize(r, 1<<20)
	var cur pkgEntry
	keeping, skipping := false, false
	flush := func() {
		if keeping && cur.Filename != "" && cur.SHA256 != "" {
			out = append(out, cur)
		}
		cur, keeping, skipping = pkgEntry{}, false, false
	}
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// An overlong line (a huge Description): skip the rest of it.
			for err == bufio.ErrBufferFull {
				_, err = br.ReadSlice('\n')
			}
			line = nil
		}
		if len(line) > 0 {
			line = bytes.TrimRight(line, "\r\n")
			switch {
			case len(line) == 0:
				flush()
			case skipping || line[0] == ' ' || line[0] == '\t':
			default:
				k, v, ok := bytes.Cut(line, []byte(":"))
				if !ok {
					break
				}
				val := string(bytes.TrimSpace(v))
				switch string(k) {
				case "Package":
					cur.Package = val
					keeping = keep(val)
					skipping = !keeping
				case "Version":
					cur.Version = val
				case "Depends":
					cur.Depends = val
				case "Filename":
					cur.Filename = val
				case "Size":
					cur.Size, _ = strconv.ParseInt(val, 10, 64)
				case "SHA256":
					cur.SHA256 = val
				}
			}
		}
		if err == io.EOF {
			flush()
			return out, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// indexNames are the Packages files tried, best compression first.
var indexNames = []string{"Packages.xz", "Packages.gz", "Packages"}

// suiteIndex returns the entries of a suite's main/binary-amd64 index that
// keep accepts. The index is verified against the suite's Release file
// and cached by its SHA256 under dir, so an unchanged suite is read
// from disk. A suite the archive does not have yields errNotFound.
func (c *Cache) suiteIndex(ctx context.Context, f *fetcher, s suiteRef, keep func(string) bool) ([]pkgEntry, error) {
	dists := strings.TrimRight(s.Base, "/") + "/dists/" + s.Suite
	data, err := f.get(ctx, dists+"/InRelease")
	if errors.Is(err, errNotFound) {
		data, err = f.get(ctx, dists+"/Release")
	}
	if err != nil {
		return nil, err
	}
	rel, err := parseRelease(data)
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

func (c *Cache) fetchIndex(ctx context.Context, f *fetcher, dists, path string, byHash bool, rf releaseFile, local string) error {
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
func readIndexCached(path string, keep func(string) bool) ([]pkgEntry, error) {
	summary := path + ".tsv"
	if f, err := os.Open(summary); err == nil {
		defer f.Close()
		now := time.Now()
		os.Chtimes(path, now, now) // in use: keep it from pruning
		return readSummary(f, keep)
	}
	all, err := readIndex(path, func(string) bool { return true })
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
	if err := cliutil.WriteFileAtomic(summary, buf.Bytes(), 0o644); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCacheUnwritable, err)
	}
	var out []pkgEntry
	for _, e := range all {
		if keep(e.Package) {
			out = append(out, e)
		}
	}
	return out, nil
}

func readSummary(r io.Reader, keep func(string) bool) ([]pkgEntry, error) {
	var out []pkgEntry
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
		out = append(out, pkgEntry{Package: name, Version: f[0], Size: size, SHA256: f[2], Filename: f[3], Depends: f[4]})
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

func readIndex(path string, keep func(string) bool) ([]pkgEntry, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	var r io.Reader = bufio.NewReaderSize(fh, 1<<20)
	switch {
	case strings.HasSuffix(path, ".xz"):
		xr, err := xz.NewReader(r)
		if err != nil {
			return nil, err
		}
		r = xr
	case strings.HasSuffix(path, ".gz"):
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		r = zr
	}
	return parsePackages(r, keep)
}

// fileHasSHA256 reports whether path exists with the given checksum.
func fileHasSHA256(path, sum string) bool {
	return cache.Verify(path, sum) == nil
}
