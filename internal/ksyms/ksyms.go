package ksyms

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/retrobpf/retrobpf/internal/inputfile"
)

// ErrPlaceholder is returned for a symbol table that lists no kernel
// symbols, such as Debian's placeholder System.map.
var ErrPlaceholder = errors.New("not a real symbol table (a placeholder without kernel symbols)")

// MaxFile bounds a symbol table file, decompressed (a distribution
// kernel's System.map is about 6 MB, its kallsyms with modules 15 MB).
const MaxFile = 256 << 20

// maxLine bounds one line (KSYM_NAME_LEN is 512, plus a module name).
const maxLine = 1 << 20

// Read returns the symbol names of a kallsyms or System.map table, only
// those in want when want is not nil. A table without the kernel's own
// text symbols (no "T"/"t" entry at all) is ErrPlaceholder.
func Read(r io.Reader, want map[string]bool) (map[string]bool, error) {
	found := map[string]bool{}
	text := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	for sc.Scan() {
		// ADDR TYPE NAME [MODULE]
		line := sc.Bytes()
		i := bytes.IndexByte(line, ' ')
		if i < 0 || len(line) < i+3 || line[i+2] != ' ' {
			continue
		}
		if t := line[i+1]; t == 'T' || t == 't' {
			text = true
		}
		name := line[i+3:]
		if j := bytes.IndexAny(name, " \t"); j >= 0 {
			name = name[:j]
		}
		if len(name) == 0 || (want != nil && !want[string(name)]) {
			continue
		}
		found[string(name)] = true
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if !text {
		return nil, ErrPlaceholder
	}
	return found, nil
}

// ReadFile is Read for a file, gzip-compressed or not, bounded by MaxFile;
// errors name the file.
func ReadFile(path string) (map[string]bool, error) {
	f, err := inputfile.Open(path, MaxFile)
	if err != nil {
		return nil, err // names the file
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var r io.Reader = br
	if head, _ := br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		r = zr
	}
	lr := &io.LimitedReader{R: r, N: MaxFile + 1}
	syms, err := Read(lr, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if lr.N <= 0 {
		return nil, fmt.Errorf("%s: %w: more than %d bytes decompressed", path, inputfile.ErrTooLarge, MaxFile)
	}
	return syms, nil
}

// ParseFilterFunctions reads tracefs's available_filter_functions ("name"
// or "name [module]" per line): the functions ftrace can patch.
func ParseFilterFunctions(data []byte) []string {
	var out []string
	for line := range strings.Lines(string(data)) {
		if name, _, _ := strings.Cut(strings.TrimSpace(line), " "); name != "" {
			out = append(out, name)
		}
	}
	return out
}

// ReadFilterFunctions is ParseFilterFunctions for a file, bounded by
// MaxFile; errors name the file.
func ReadFilterFunctions(path string) (map[string]bool, error) {
	data, err := inputfile.Read(path, MaxFile)
	if err != nil {
		return nil, err
	}
	names := ParseFilterFunctions(data)
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: no functions listed", path)
	}
	set := make(map[string]bool, len(names))
	for _, n := range names {
		set[n] = true
	}
	return set, nil
}
