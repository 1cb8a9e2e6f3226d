package matrix

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"
)

// ErrKernelList marks an unusable --kernels value.
var ErrKernelList = errors.New("invalid kernel list")

// ParseKernels splits a --kernels value: comma-separated references
// (aliases like 6.1, deb:…, oci:…, file:…); an entry "@FILE" reads one
// reference per line from FILE ('#' starts a comment). Duplicates are
// dropped, order is kept.
func ParseKernels(s string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	add := func(ref string) {
		if ref != "" && !seen[ref] {
			seen[ref] = true
			out = append(out, ref)
		}
	}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		path, isFile := strings.CutPrefix(part, "@")
		if !isFile {
			add(part)
			continue
		}
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("%w: kernels file: %v", ErrKernelList, err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line, _, _ := strings.Cut(sc.Text(), "#")
			add(strings.TrimSpace(line))
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrKernelList, path, err)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no kernels given", ErrKernelList)
	}
	return out, nil
}

// FileName is the per-kernel results file name for ref.
func FileName(ref string) string {
	var b strings.Builder
	for _, r := range ref {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String() + ".json"
}
