package debian

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Mirrors are the Debian archive roots kernels are fetched from: the main
// archive ("…/debian") and the security archive ("…/debian-security").
type Mirrors struct {
	Archive  string
	Security string
}

// AptSource is one "deb" entry of the system's apt configuration.
type AptSource struct {
	URIs   []string
	Suites []string
}

// ErrNoMirror is returned when no Debian archive is configured.
var ErrNoMirror = errors.New("no Debian mirror in the apt sources (give --mirror URL or RETROBPF_DEB_MIRROR)")

// MirrorsFromApt reads the apt sources under root ("/" for the system):
// etc/apt/sources.list (one-line format) and etc/apt/sources.list.d/*.list
// and *.sources (deb822).
func MirrorsFromApt(root string) (Mirrors, error) {
	var all []AptSource
	files := []string{filepath.Join(root, "etc/apt/sources.list")}
	for _, pat := range []string{"*.list", "*.sources"} {
		m, _ := filepath.Glob(filepath.Join(root, "etc/apt/sources.list.d", pat))
		sort.Strings(m)
		files = append(files, m...)
	}
	for _, f := range files {
		fh, err := os.Open(f)
		if errors.Is(err, os.ErrNotExist) {
			continue
		} else if err != nil {
			return Mirrors{}, fmt.Errorf("apt sources: %w", err)
		}
		var src []AptSource
		if strings.HasSuffix(f, ".sources") {
			src = ParseDeb822Sources(fh)
		} else {
			src = ParseOneLineSources(fh)
		}
		fh.Close()
		all = append(all, src...)
	}
	return PickMirrors(all)
}

// PickMirrors chooses the main archive (an entry with a suite that is not
// "-security") and the security archive (an entry with a "-security"
// suite, or by convention the sibling "debian-security" of the archive).
func PickMirrors(sources []AptSource) (Mirrors, error) {
	var m Mirrors
	for _, s := range sources {
		for _, u := range s.URIs {
			if !isHTTP(u) {
				continue
			}
			u = strings.TrimRight(u, "/")
			for _, suite := range s.Suites {
				if strings.HasSuffix(suite, "-security") || strings.HasSuffix(suite, "/updates") {
					if m.Security == "" {
						m.Security = u
					}
				} else if m.Archive == "" {
					m.Archive = u
				}
			}
		}
	}
	if m.Archive == "" {
		if m.Security == "" {
			return Mirrors{}, ErrNoMirror
		}
		// Only a security entry: the archive is its sibling by convention.
		m.Archive = strings.TrimSuffix(m.Security, "-security")
	}
	if m.Security == "" {
		m.Security = SecurityFor(m.Archive)
	}
	return m, nil
}

// SecurityFor derives the security archive from a main archive URL by
// the Debian convention: ".../debian" → ".../debian-security".
func SecurityFor(archive string) string {
	archive = strings.TrimRight(archive, "/")
	if strings.HasSuffix(archive, "/debian") {
		return archive + "-security"
	}
	u, err := url.Parse(archive)
	if err != nil {
		return archive + "-security"
	}
	u.Path = strings.TrimRight(filepath.Dir(u.Path), "/") + "/debian-security"
	return u.String()
}

func isHTTP(u string) bool {
	return strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://")
}

// ParseOneLineSources parses the one-line format:
// "deb [option=value ...] URI SUITE [COMPONENT ...]".
func ParseOneLineSources(r io.Reader) []AptSource {
	var out []AptSource
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		// Options in brackets may contain spaces: drop them first.
		if i := strings.IndexByte(line, '['); i >= 0 {
			if j := strings.IndexByte(line[i:], ']'); j >= 0 {
				line = line[:i] + " " + line[i+j+1:]
			}
		}
		f := strings.Fields(line)
		if len(f) < 3 || f[0] != "deb" {
			continue
		}
		out = append(out, AptSource{URIs: []string{f[1]}, Suites: []string{f[2]}})
	}
	return out
}

// ParseDeb822Sources parses the deb822 format of *.sources files:
// paragraphs of "Field: value" lines separated by blank lines, with
// continuation lines starting with a space.
func ParseDeb822Sources(r io.Reader) []AptSource {
	var out []AptSource
	for _, p := range parseParagraphs(r) {
		if strings.EqualFold(p["enabled"], "no") {
			continue
		}
		if !hasWord(p["types"], "deb") {
			continue
		}
		s := AptSource{URIs: strings.Fields(p["uris"]), Suites: strings.Fields(p["suites"])}
		if len(s.URIs) > 0 && len(s.Suites) > 0 {
			out = append(out, s)
		}
	}
	return out
}

func hasWord(s, w string) bool {
	for _, f := range strings.Fields(s) {
		if f == w {
			return true
		}
	}
	return false
}

// parseParagraphs reads deb822 paragraphs with lower-cased field names;
// comment lines are skipped, continuation lines are joined with a space.
func parseParagraphs(r io.Reader) []map[string]string {
	var out []map[string]string
	cur := map[string]string{}
	last := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#"):
			continue
		case strings.TrimSpace(line) == "":
			if len(cur) > 0 {
				out = append(out, cur)
				cur = map[string]string{}
			}
			last = ""
		case line[0] == ' ' || line[0] == '\t':
			if last != "" {
				cur[last] += " " + strings.TrimSpace(line)
			}
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			last = strings.ToLower(strings.TrimSpace(k))
			cur[last] = strings.TrimSpace(v)
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}
