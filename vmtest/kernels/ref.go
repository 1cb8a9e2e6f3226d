package kernels

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Kind says where a kernel comes from.
type Kind string

// Kinds of references.
const (
	KindAlias Kind = "alias" // "6.1": the newest cloud kernel of a Debian suite
	KindDeb   Kind = "deb"   // "deb:PACKAGE[=VERSION]"
	KindOCI   Kind = "oci"   // "oci:IMAGE[:TAG|@DIGEST]"
	KindFile  Kind = "file"  // "file:PATH"
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
	switch r.Kind {
	case KindAlias:
		return r.Alias
	case KindDeb:
		if r.Version != "" {
			return "deb:" + r.Package + "=" + r.Version
		}
		return "deb:" + r.Package
	case KindOCI:
		return "oci:" + r.Image
	case KindFile:
		return "file:" + r.Path
	}
	return ""
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

var (
	debPackageName = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)
	debVersion     = regexp.MustCompile(`^[0-9A-Za-z.+~:-]+$`)
	bareVersion    = regexp.MustCompile(`^v?[0-9]+\.[0-9]+(\.[0-9]+)?$`)
)

// ParseRef parses "5.10", "6.1", "6.12", "deb:PACKAGE[=VERSION]",
// "oci:IMAGE" and "file:PATH".
func ParseRef(s string) (Ref, error) {
	s = strings.TrimSpace(s)
	kind, rest, found := strings.Cut(s, ":")
	if !found {
		if a, ok := Aliases[s]; ok {
			return Ref{Kind: KindAlias, Alias: a.Name}, nil
		}
		if bareVersion.MatchString(s) {
			return Ref{}, fmt.Errorf("%w %q (known: %s; other versions come as oci:IMAGE or file:PATH)", ErrUnknownAlias, s, strings.Join(AliasNames(), ", "))
		}
		return Ref{}, fmt.Errorf("%w %q: want an alias (%s), deb:PACKAGE[=VERSION], oci:IMAGE or file:PATH", ErrBadRef, s, strings.Join(AliasNames(), ", "))
	}
	switch kind {
	case "deb":
		pkg, ver, _ := strings.Cut(rest, "=")
		if !debPackageName.MatchString(pkg) {
			return Ref{}, fmt.Errorf("%w %q: %q is not a Debian package name", ErrBadRef, s, pkg)
		}
		if strings.Contains(rest, "=") && !debVersion.MatchString(ver) {
			return Ref{}, fmt.Errorf("%w %q: %q is not a Debian version", ErrBadRef, s, ver)
		}
		return Ref{Kind: KindDeb, Package: pkg, Version: ver}, nil
	case "oci":
		if _, err := name.ParseReference(rest); err != nil {
			return Ref{}, fmt.Errorf("%w %q: %v", ErrBadRef, s, err)
		}
		return Ref{Kind: KindOCI, Image: rest}, nil
	case "file":
		if rest == "" {
			return Ref{}, fmt.Errorf("%w %q: empty path", ErrBadRef, s)
		}
		return Ref{Kind: KindFile, Path: rest}, nil
	}
	return Ref{}, fmt.Errorf("%w %q: unknown scheme %q (want deb:, oci: or file:)", ErrBadRef, s, kind)
}
