package kernels

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Kind says where a kernel comes from.
type Kind string

// Kinds of references.
const (
	KindAlias Kind = "alias" // "6.1": the newest cloud kernel of a Debian suite
	KindDeb   Kind = "deb"   // "deb:PACKAGE[=VERSION]"
	KindOCI   Kind = "oci"   // "oci:IMAGE[:TAG|@DIGEST]"
	KindFile  Kind = "file"  // "file:PATH"
	KindDir   Kind = "dir"   // "dir:PATH": a directory in the lvh/ci-kernels layout
)

// Alias maps a short kernel version to the Debian suite that ships it.
type Alias struct {
	Name  string // "6.1"
	Suite string // "bookworm"
}

// Aliases are the kernel versions with a Debian suite behind them.
var Aliases = map[string]Alias{
	"5.10": {Name: "5.10", Suite: "bullseye"},
	"6.1":  {Name: "6.1", Suite: "bookworm"},
	"6.12": {Name: "6.12", Suite: "trixie"},
}

// AliasNames returns the alias names, sorted by version.
func AliasNames() []string {
	var names []string
	for n := range Aliases {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		var ai, bi, aj, bj int
		fmt.Sscanf(names[i], "%d.%d", &ai, &bi)
		fmt.Sscanf(names[j], "%d.%d", &aj, &bj)
		return ai < aj || ai == aj && bi < bj
	})
	return names
}

// Ref is a parsed kernel reference.
type Ref struct {
	Kind    Kind
	Alias   string // KindAlias: "6.1"
	Package string // KindDeb
	Version string // KindDeb: exact Debian version, optional
	Image   string // KindOCI: the image reference as given
	Path    string // KindFile
}

// String returns the canonical form of the reference.
func (r Ref) String() string {
	s, ok := sources[r.Kind]
	switch {
	case !ok:
		return ""
	case r.Kind == KindAlias:
		return r.Alias
	}
	return string(r.Kind) + ":" + s.format(r)
}

// Key is the name of the reference's cache directory: the canonical
// reference when it is a safe file name, otherwise a sanitized form with a
// short hash so distinct references never share an entry.
func (r Ref) Key() string {
	s := r.String()
	safe := strings.Map(func(c rune) rune {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == '+', c == '=', c == '_':
			return c
		}
		return '_'
	}, s)
	if safe == s && !strings.HasPrefix(s, ".") {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return strings.TrimLeft(safe, "._") + "-" + hex.EncodeToString(sum[:4])
}

var bareVersion = regexp.MustCompile(`^v?[0-9]+\.[0-9]+(\.[0-9]+)?$`)

// ParseRef parses a kernel reference: an alias ("5.10", "6.1", "6.12") or
// "<kind>:…" for a registered source (deb:PACKAGE[=VERSION], oci:IMAGE,
// file:PATH, dir:PATH). It only reads the string, so it suits flag
// parsing; errors wrap ErrBadRef or ErrUnknownAlias.
func ParseRef(s string) (Ref, error) {
	s = strings.TrimSpace(s)
	kind, rest, found := strings.Cut(s, ":")
	if !found {
		if a, ok := Aliases[s]; ok {
			return Ref{Kind: KindAlias, Alias: a.Name}, nil
		}
		if bareVersion.MatchString(s) {
			return Ref{}, fmt.Errorf("%w %q (known: %s; other versions come as oci:IMAGE, file:PATH or dir:PATH)", ErrUnknownAlias, s, strings.Join(AliasNames(), ", "))
		}
		return Ref{}, fmt.Errorf("%w %q: want an alias (%s), deb:PACKAGE[=VERSION], oci:IMAGE, file:PATH or dir:PATH", ErrBadRef, s, strings.Join(AliasNames(), ", "))
	}
	src, ok := sources[Kind(kind)]
	if !ok || Kind(kind) == KindAlias {
		return Ref{}, fmt.Errorf("%w %q: unknown scheme %q (want %s)", ErrBadRef, s, kind, schemeList())
	}
	r, err := src.parse(rest)
	if err != nil {
		return Ref{}, fmt.Errorf("%w %q: %v", ErrBadRef, s, err)
	}
	return r, nil
}
