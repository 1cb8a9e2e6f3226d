package matrix

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/retrobpf/retrobpf/internal/inputfile"
	"github.com/retrobpf/retrobpf/vmtest/kernels"
)

// ErrKernelList marks an unusable kernel list: no kernels or an
// unreadable @FILE. An entry that is not a kernel reference is reported
// with the kernels package's error (ErrBadRef, ErrUnknownAlias) instead.
var ErrKernelList = errors.New("invalid kernel list")

// ParseKernels parses a kernel list: comma-separated references (aliases
// like 6.1, deb:…, oci:…, file:…); an entry "@FILE" reads one reference
// per line from FILE ('#' starts a comment). Every reference is parsed
// here, before anything boots, so a typo is bad input rather than a
// kernel that fails to resolve half-way through a run. Duplicates are
// dropped, order is kept.
func ParseKernels(s string) ([]kernels.Ref, error) {
	var out []kernels.Ref
	seen := map[string]bool{}
	add := func(where, entry string) error {
		if entry == "" {
			return nil
		}
		ref, err := kernels.ParseRef(entry)
		if err != nil {
			return fmt.Errorf("%s%w", where, err)
		}
		// A local path that is no kernel is the user's mistake, found
		// here rather than as an infra-error result after the run.
		if err := kernels.CheckLocal(ref); err != nil {
			return fmt.Errorf("%s%w", where, err)
		}
		if key := ref.String(); !seen[key] {
			seen[key] = true
			out = append(out, ref)
		}
		return nil
	}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		path, isFile := strings.CutPrefix(part, "@")
		if !isFile {
			if err := add("", part); err != nil {
				return nil, err
			}
			continue
		}
		// inputfile refuses a FIFO at once instead of blocking on it.
		data, err := inputfile.Read(path, inputfile.MaxSmall)
		if err != nil {
			return nil, fmt.Errorf("%w: kernels file: %w", ErrKernelList, err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for line := 1; sc.Scan(); line++ {
			entry, _, _ := strings.Cut(sc.Text(), "#")
			if err := add(fmt.Sprintf("%s:%d: ", path, line), strings.TrimSpace(entry)); err != nil {
				return nil, err
			}
		}
		if err := sc.Err(); err != nil {
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
	// Every byte outside [A-Za-z0-9.-] is written _XX (hex), '_' included:
	// '_' then only ever starts an escape, so two refs never share a name
	// ("file:/a/k_1" and "file:/a/k/1", or Debian versions with + and ~).
	var b strings.Builder
	for i := 0; i < len(ref); i++ {
		switch c := ref[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.' && i > 0, c == '-':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "_%02x", c)
		}
	}
	name := b.String()
	// File systems cap names at 255 bytes; a long file: path keeps a
	// readable head and a digest of the whole ref.
	if len(name) > 200 {
		sum := sha256.Sum256([]byte(ref))
		name = name[:150] + "-" + hex.EncodeToString(sum[:16])
	}
	return name + ".json"
}
