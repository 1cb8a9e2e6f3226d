package debian

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/ulikunitz/xz"
)

// Suites are the Debian releases searched for a package, oldest first.
var Suites = []string{"bullseye", "bookworm", "trixie"}

// Versions are Debian's release numbers by suite, as os-release's
// VERSION_ID and BTFHub's directories (debian/10/...) name them.
var Versions = map[string]string{"buster": "10", "bullseye": "11", "bookworm": "12", "trixie": "13"}

// Package is the part of a Packages stanza that matters for kernels.
type Package struct {
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

func (e Package) URL() string { return strings.TrimRight(e.Base, "/") + "/" + e.Filename }

// ReleaseFile is one "sha256 size path" line of a Release file.
type ReleaseFile struct {
	SHA256 string
	Size   int64
}

// Release is what a Release/InRelease file says about its indexes.
type Release struct {
	Files       map[string]ReleaseFile
	AcquireHash bool
}

// ParseRelease reads the SHA256 section of a Release or InRelease file.
// The PGP armour of InRelease is stripped (the signature is not checked:
// the transport is the mirror the system trusts for apt).
func ParseRelease(data []byte) (Release, error) {
	r := Release{Files: map[string]ReleaseFile{}}
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
		r.Files[f[2]] = ReleaseFile{SHA256: f[0], Size: size}
	}
	if len(r.Files) == 0 {
		return r, errors.New("no SHA256 section")
	}
	return r, nil
}

// ParsePackages reads a Packages index, keeping the stanzas whose
// package name keep accepts.
func ParsePackages(r io.Reader, keep func(string) bool) ([]Package, error) {
	var out []Package
	br := bufio.NewReaderSize(r, 1<<20)
	var cur Package
	keeping, skipping := false, false
	flush := func() {
		if keeping && cur.Filename != "" && cur.SHA256 != "" {
			out = append(out, cur)
		}
		cur, keeping, skipping = Package{}, false, false
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

// ReadIndex reads a Packages index file, decompressing it by its suffix
// (.xz, .gz or none).
func ReadIndex(path string, keep func(string) bool) ([]Package, error) {
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
	return ParsePackages(r, keep)
}

var kernelRelease = regexp.MustCompile(`^([0-9]+)\.([0-9]+)\.[0-9]+[-+][0-9A-Za-z.+~-]+$`)

// depends returns the package names (and "=" versions) a Depends field
// names, first alternative of each clause.
func depends(field string) (names, versions []string) {
	for _, clause := range strings.Split(field, ",") {
		alt, _, _ := strings.Cut(clause, "|")
		alt = strings.TrimSpace(alt)
		name, rest, _ := strings.Cut(alt, " ")
		name, _, _ = strings.Cut(name, ":") // drop ":any"
		ver := ""
		if c := strings.TrimSpace(rest); strings.HasPrefix(c, "(=") {
			ver = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(c, "(="), ")"))
		}
		if name != "" {
			names = append(names, name)
			versions = append(versions, ver)
		}
	}
	return names, versions
}

// metaTarget returns the kernel package a meta package depends on.
func metaTarget(e Package) (name, version string, ok bool) {
	names, vers := depends(e.Depends)
	for i, n := range names {
		if strings.HasPrefix(n, "linux-image-") {
			return n, vers[i], true
		}
	}
	return "", "", false
}

// isRealKernel reports whether e is a versioned kernel image package
// (not a meta package, not the -unsigned twin, not debug symbols).
func isRealKernel(e Package) bool {
	if !strings.HasPrefix(e.Package, "linux-image-") || strings.HasSuffix(e.Package, "-unsigned") || strings.HasSuffix(e.Package, "-dbg") {
		return false
	}
	if _, _, meta := metaTarget(e); meta {
		return false
	}
	return kernelRelease.MatchString(strings.TrimPrefix(e.Package, "linux-image-"))
}

// SelectAlias returns the cloud kernels of the alias's major.minor, newest first.
func SelectAlias(entries []Package, alias string) []Package {
	var out []Package
	for _, e := range entries {
		rel := strings.TrimPrefix(e.Package, "linux-image-")
		m := kernelRelease.FindStringSubmatch(rel)
		if m == nil || !isRealKernel(e) || !strings.HasSuffix(rel, "-cloud-amd64") || m[1]+"."+m[2] != alias {
			continue
		}
		out = append(out, e)
	}
	return sortNewest(out)
}

// SelectPackage returns the entries of pkg (at version, if given), newest
// first, with meta packages replaced by the kernel package they depend on.
func SelectPackage(entries []Package, pkg, version string) []Package {
	var named []Package
	for _, e := range entries {
		if e.Package == pkg && (version == "" || e.Version == version) {
			named = append(named, e)
		}
	}
	named = sortNewest(named)
	var out []Package
	for _, e := range named {
		dep, depVer, meta := metaTarget(e)
		if !meta {
			out = append(out, e)
			continue
		}
		var targets []Package
		for _, t := range entries {
			if t.Package == dep && (depVer == "" || t.Version == depVer) {
				targets = append(targets, t)
			}
		}
		out = append(out, sortNewest(targets)...)
	}
	return dedupe(out)
}

// sortNewest orders entries newest first; among equal versions the
// security archive comes first (its pool is where new files land).
func sortNewest(es []Package) []Package {
	sort.SliceStable(es, func(i, j int) bool {
		if c := CompareVersions(es[i].Version, es[j].Version); c != 0 {
			return c > 0
		}
		return strings.HasSuffix(es[i].Suite, "-security") && !strings.HasSuffix(es[j].Suite, "-security")
	})
	return dedupe(es)
}

func dedupe(es []Package) []Package {
	seen := map[string]bool{}
	var out []Package
	for _, e := range es {
		k := e.Package + "=" + e.Version + "@" + e.Base + "/" + e.Filename + "@" + e.SHA256
		if !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	return out
}

// GuessSuites narrows the search for a package by its name's Debian tag.
func GuessSuites(pkg string) []string {
	switch {
	case strings.Contains(pkg, "+deb13"):
		return []string{"trixie"}
	case strings.Contains(pkg, "+deb12"):
		return []string{"bookworm"}
	case strings.Contains(pkg, "deb11"), strings.HasPrefix(pkg, "linux-image-5.10."):
		return []string{"bullseye"}
	case strings.HasPrefix(pkg, "linux-image-6.1.0-"):
		return []string{"bookworm"}
	}
	return Suites
}
