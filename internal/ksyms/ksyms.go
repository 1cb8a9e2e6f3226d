// Package ksyms reads kernel symbol tables: /proc/kallsyms and System.map,
// which share one format ("ADDRESS TYPE NAME [MODULE]" per line).
//
// A System.map lets a kernel that is not running answer what its
// /proc/kallsyms would: whether a kprobe target or a __ksym exists. Debian
// ships a one-line placeholder in its image packages (the real table is in
// the -dbg package); Read refuses it with ErrPlaceholder rather than
// calling every symbol absent.
package ksyms

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"

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
