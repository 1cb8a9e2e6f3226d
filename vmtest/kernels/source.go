package kernels

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// source is one kind of kernel reference: how it is written and where its
// kernels come from. Adding a source is one file holding its
// implementation and a register call in that file's init (see dir.go).
type source interface {
	// parse parses what follows "<kind>:" in a reference.
	parse(rest string) (Ref, error)
	// format is the inverse of parse.
	format(r Ref) string
	// local sources name kernels on this machine: they are validated and
	// used in place, never copied into the cache.
	local() bool
	// fetch makes r's kernel available. A local source validates it in
	// place (tmp is ""); any other source unpacks it into tmp, an empty
	// directory that becomes the cache entry.
	fetch(ctx context.Context, c *Cache, r Ref, opts ResolveOptions, tmp string) (*Kernel, error)
	// identify says which kernel r stands for now, without fetching it: the
	// Identity and Digest of a Resolved (Cache.Identify fills in Ref). It
	// reads what fetch would read to choose the kernel (indexes,
	// manifests, local files), and never writes a cache entry.
	identify(ctx context.Context, c *Cache, r Ref, opts ResolveOptions) (Resolved, error)
}

// sources holds every kind of reference; schemes those written
// "<kind>:…" (all but aliases).
var (
	sources = map[Kind]source{}
	schemes []string
)

func register(k Kind, s source, scheme bool) {
	if _, dup := sources[k]; dup {
		panic("kernels: source " + string(k) + " registered twice")
	}
	sources[k] = s
	if scheme {
		schemes = append(schemes, string(k))
		sort.Strings(schemes)
	}
}

// schemeList is "deb:, dir:, file: or oci:" for error messages.
func schemeList() string {
	var s []string
	for _, k := range schemes {
		s = append(s, k+":")
	}
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

func sourceOf(r Ref) (source, error) {
	s, ok := sources[r.Kind]
	if !ok {
		return nil, fmt.Errorf("%w: unknown kind %q", ErrBadRef, r.Kind)
	}
	return s, nil
}

// CheckLocal validates a local kernel reference (file:, dir:) in place,
// so that a path that is not a kernel is refused where the reference is
// read — before a VM boots or a result is written — with the same error a
// run would meet. Other references are not touched (no network).
func CheckLocal(r Ref) error {
	src, ok := sources[r.Kind]
	if !ok || !src.local() {
		return nil
	}
	_, err := src.fetch(context.Background(), nil, r, ResolveOptions{}, "")
	return err
}
