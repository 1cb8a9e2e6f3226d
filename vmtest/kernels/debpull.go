package kernels

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/retrobpf/retrobpf/internal/kversion"

	"github.com/retrobpf/retrobpf/vmtest/kernels/debian"
)

// ErrBadMirror is returned for a --mirror or RETROBPF_DEB_MIRROR that is
// not an http(s) URL.
var ErrBadMirror = errors.New("invalid Debian mirror URL")

// MirrorEnv overrides the Debian mirror of the apt sources.
const MirrorEnv = "RETROBPF_DEB_MIRROR"

// aptRoot is where the apt sources are read from (tests change it).
var aptRoot = "/"

// mirrors returns the archive roots: opts.Mirror, $RETROBPF_DEB_MIRROR,
// or the system's apt sources.
func mirrors(opts ResolveOptions) (debian.Mirrors, error) {
	m := opts.Mirror
	if m == "" {
		m = os.Getenv(MirrorEnv)
	}
	if m == "" {
		m, err := debian.MirrorsFromApt(aptRoot)
		if errors.Is(err, debian.ErrNoMirror) {
			err = fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return m, err
	}
	u, err := url.Parse(m)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return debian.Mirrors{}, fmt.Errorf("%w: %q (want http(s)://HOST/PATH of a Debian archive)", ErrBadMirror, m)
	}
	m = strings.TrimRight(m, "/")
	return debian.Mirrors{Archive: m, Security: debian.SecurityFor(m)}, nil
}

func init() {
	register(KindDeb, debianSource{}, true)
	register(KindAlias, debianSource{}, false)
}

var (
	debPackageName = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)
	debVersion     = regexp.MustCompile(`^[0-9A-Za-z.+~:-]+$`)
)

// debianSource pulls Debian kernel packages: deb:PACKAGE[=VERSION] and
// the aliases.
type debianSource struct{}

func (debianSource) parse(rest string) (Ref, error) {
	pkg, ver, hasVer := strings.Cut(rest, "=")
	if !debPackageName.MatchString(pkg) {
		return Ref{}, fmt.Errorf("%q is not a Debian package name", pkg)
	}
	if hasVer && !debVersion.MatchString(ver) {
		return Ref{}, fmt.Errorf("%q is not a Debian version", ver)
	}
	return Ref{Kind: KindDeb, Package: pkg, Version: ver}, nil
}

func (debianSource) format(r Ref) string {
	if r.Version != "" {
		return r.Package + "=" + r.Version
	}
	return r.Package
}

func (debianSource) local() bool { return false }

func (debianSource) fetch(ctx context.Context, c *Cache, r Ref, opts ResolveOptions, tmp string) (*Kernel, error) {
	return c.pullDeb(ctx, r, opts, tmp)
}

func (debianSource) identify(ctx context.Context, c *Cache, r Ref, opts ResolveOptions) (Resolved, error) {
	f, cands, err := c.debCandidates(ctx, r, opts)
	if err != nil {
		return Resolved{}, err
	}
	// Ask only whether the pool has the file: a pull would fall back the
	// same way, so the identity is the package a pull fetches.
	return firstOnMirror(cands, opts, func(e debian.Package) (Resolved, error) {
		if err := f.head(ctx, e.URL()); err != nil {
			return Resolved{}, err
		}
		return Resolved{Identity: e.Package + "=" + e.Version, Digest: "sha256:" + e.SHA256}, nil
	})
}

func (c *Cache) pullDeb(ctx context.Context, r Ref, opts ResolveOptions, tmp string) (*Kernel, error) {
	f, cands, err := c.debCandidates(ctx, r, opts)
	if err != nil {
		return nil, err
	}
	return firstOnMirror(cands, opts, func(e debian.Package) (*Kernel, error) {
		return c.fetchDeb(ctx, f, e, opts, tmp)
	})
}

// debCandidates reads the suite indexes and returns the packages that
// can serve r, the preferred first: for an alias the cloud kernels of its
// suite (with -updates and -security) newest first; for deb: the package
// (at the version), meta packages followed, searched in the suites its
// name suggests and then in the others. Pull and Identify both choose
// from it, so they agree on the kernel. The fetcher is the one the
// indexes were read with.
func (c *Cache) debCandidates(ctx context.Context, r Ref, opts ResolveOptions) (*fetcher, []debian.Package, error) {
	m, err := mirrors(opts)
	if err != nil {
		return nil, nil, err
	}
	f := newFetcher(opts.Progress, opts.debugf)
	if r.Kind == KindAlias {
		a := Aliases[r.Alias]
		entries, err := c.collect(ctx, f, suitesFor(m, a.Suite), opts)
		if err != nil {
			return nil, nil, err
		}
		cands := debian.SelectAlias(entries, r.Alias)
		if len(cands) == 0 {
			return nil, nil, fmt.Errorf("%w: no linux-image-%s.*-cloud-amd64 in %s at %s", ErrUnavailable, r.Alias, a.Suite, m.Archive)
		}
		return f, cands, nil
	}
	keep := func(name string) bool {
		return strings.HasPrefix(name, "linux-image-") || name == r.Package
	}
	guess := debian.GuessSuites(r.Package)
	var searched []string
	var lastErr error
	var cands []debian.Package
	for _, suites := range [][]string{guess, without(debian.Suites, guess)} {
		var refs []suiteRef
		for _, s := range suites {
			refs = append(refs, suitesFor(m, s)...)
		}
		if len(refs) == 0 {
			continue
		}
		entries, err := c.collectKeep(ctx, f, refs, keep, opts)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, ErrCacheUnwritable) {
				return nil, nil, err
			}
			lastErr = err // these suites are absent: look further
			continue
		}
		searched = append(searched, suites...)
		if cands = debian.SelectPackage(entries, r.Package, r.Version); len(cands) > 0 {
			break
		}
	}
	if len(searched) == 0 {
		return nil, nil, lastErr
	}
	if len(cands) == 0 {
		return nil, nil, fmt.Errorf("%w: %s in %s (amd64, main) at %s", ErrPackageNotFound, r, strings.Join(searched, ", "), m.Archive)
	}
	return f, cands, nil
}

// firstOnMirror calls try on each candidate in order until one is not
// missing from the pool (404), logging the fallback, and returns its
// result or first other error. cands is not empty.
func firstOnMirror[T any](cands []debian.Package, opts ResolveOptions, try func(debian.Package) (T, error)) (T, error) {
	for i, e := range cands {
		v, err := try(e)
		if errors.Is(err, errNotFound) {
			if i+1 < len(cands) {
				opts.logf("%s %s is missing on the mirror (404), falling back to %s %s", e.Package, e.Version, cands[i+1].Package, cands[i+1].Version)
			}
			continue
		}
		return v, err
	}
	var zero T
	return zero, fmt.Errorf("%w: every candidate package answered 404 (newest: %s)", ErrUnavailable, cands[0].URL())
}

// collect reads the kernel entries of the given suites.
func (c *Cache) collect(ctx context.Context, f *fetcher, suites []suiteRef, opts ResolveOptions) ([]debian.Package, error) {
	return c.collectKeep(ctx, f, suites, func(n string) bool { return strings.HasPrefix(n, "linux-image-") }, opts)
}

// collectKeep reads the entries keep accepts from every suite that exists.
// Missing suites (404) are skipped; it fails only when no suite could be
// read at all.
func (c *Cache) collectKeep(ctx context.Context, f *fetcher, suites []suiteRef, keep func(string) bool, opts ResolveOptions) ([]debian.Package, error) {
	var all []debian.Package
	var firstErr error
	ok := 0
	dead := map[string]bool{} // hosts that could not be reached at all
	for _, s := range suites {
		host := hostOf(s.Base)
		if dead[host] {
			opts.debugf("skipping suite %s: %s is unreachable", s.Suite, host)
			continue
		}
		entries, err := c.suiteIndex(ctx, f, s, keep)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if errors.Is(err, ErrCacheUnwritable) {
				return nil, err
			}
			if !errors.Is(err, errNotFound) {
				if firstErr == nil {
					firstErr = err
				}
				if isConnError(err) {
					dead[host] = true
				}
				opts.debugf("skipping suite %s at %s: %v", s.Suite, s.Base, err)
			}
			continue
		}
		ok++
		all = append(all, entries...)
	}
	if ok == 0 {
		if firstErr != nil {
			return nil, firstErr
		}
		var names []string
		for _, s := range suites {
			names = append(names, s.Suite)
		}
		return nil, fmt.Errorf("%w: none of the suites %s is on the mirror %s (give --mirror URL of a Debian archive)", ErrUnavailable, strings.Join(names, ", "), suites[0].Base)
	}
	return all, nil
}

// fetchDeb downloads (resuming) and verifies one package, then unpacks
// its kernel into tmp.
func (c *Cache) fetchDeb(ctx context.Context, f *fetcher, e debian.Package, opts ResolveOptions, tmp string) (*Kernel, error) {
	dl := filepath.Join(c.dir, ".downloads", e.SHA256+".deb")
	unlock, err := c.lock(ctx, "dl-"+e.SHA256)
	if err != nil {
		return nil, err
	}
	defer unlock()
	opts.logf("downloading %s %s (%s, %s)", e.Package, e.Version, e.Suite, humanBytes(e.Size))
	if err := f.download(ctx, e.URL(), dl, e.Size, e.SHA256, e.Package); err != nil {
		return nil, err
	}
	fh, err := os.Open(dl)
	if err != nil {
		return nil, err
	}
	contents, err := unpackDeb(fh, tmp, opts.Modules)
	fh.Close()
	os.Remove(dl)
	if err != nil {
		return nil, fmt.Errorf("%s=%s: %w", e.Package, e.Version, err)
	}
	k := &Kernel{Source: e.Package + "=" + e.Version}
	if err := fillKernel(k, tmp, contents, false); err != nil {
		return nil, fmt.Errorf("%s=%s: %w", e.Package, e.Version, err)
	}
	// Debian ABI names say "6.1.0"; the package version has the real
	// upstream patch level ("6.1.170-1").
	if v, err := kversion.Parse(e.Version); err == nil && v.Major == k.Version.Major && v.Minor == k.Version.Minor {
		k.Version = kversion.Version{Major: v.Major, Minor: v.Minor, Patch: v.Patch}
	}
	return k, nil
}

// fillKernel sets the paths and release of a kernel unpacked into dir.
// The release comes from the vmlinuz-<release> file name (Debian) or,
// with preferHeader or when the name has none, from the bzImage header
// (image layouts name files by a label, not always the release).
func fillKernel(k *Kernel, dir string, c debContents, preferHeader bool) error {
	k.Vmlinuz = filepath.Join(dir, fileVmlinuz)
	hdrRelease, hdrVersion, err := BzImageVersion(k.Vmlinuz)
	if err != nil {
		return err
	}
	k.Release, k.Version = hdrRelease, hdrVersion
	if c.Release != "" && !preferHeader {
		v, err := kversion.Parse(c.Release)
		if err != nil {
			return fmt.Errorf("%w: release %q", ErrNotAKernel, c.Release)
		}
		k.Release = c.Release
		if v.Major != hdrVersion.Major || v.Minor != hdrVersion.Minor {
			k.Version = kversion.Version{Major: v.Major, Minor: v.Minor, Patch: v.Patch}
		}
	}
	for _, f := range c.Files {
		p := filepath.Join(dir, f)
		switch f {
		case fileConfig:
			k.Config = p
		case fileSystemMap:
			k.SystemMap = p
		case fileBTF:
			k.BTF = p
		case fileVmlinux:
			k.Vmlinux = p
		}
	}
	if c.Modules != "" {
		k.Modules = filepath.Join(dir, c.Modules)
	}
	return nil
}

func without(all, drop []string) []string {
	var out []string
	for _, a := range all {
		found := false
		for _, d := range drop {
			found = found || a == d
		}
		if !found {
			out = append(out, a)
		}
	}
	return out
}

func hostOf(u string) string {
	if p, err := url.Parse(u); err == nil {
		return p.Host
	}
	return u
}

// isConnError reports whether err is a failure to reach the server at
// all (refused, unresolvable, unroutable), as opposed to an HTTP error.
func isConnError(err error) bool {
	var op *net.OpError
	var dns *net.DNSError
	return errors.As(err, &op) || errors.As(err, &dns)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
	case n >= 1<<10:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " B"
}
