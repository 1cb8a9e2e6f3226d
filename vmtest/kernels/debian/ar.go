package debian

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ErrBadAr is returned for a file that is not a valid ar archive (the
// container format of .deb packages).
var ErrBadAr = errors.New("invalid ar archive")

const arMagic = "!<arch>\n"

// ArHeader describes one member of an ar archive.
type ArHeader struct {
	Name string
	Size int64
}

// ArReader reads the members of an ar archive in order, like tar.Reader.
// It understands the common (System V/GNU) format used by dpkg: 60-byte
// headers, members padded to an even size, names ending in "/" allowed.
type ArReader struct {
	r       *bufio.Reader
	remain  int64 // unread bytes of the current member
	pad     bool  // the current member is followed by a padding byte
	started bool
}

// NewArReader returns a reader for the ar archive in r.
func NewArReader(r io.Reader) *ArReader {
	return &ArReader{r: bufio.NewReader(r)}
}

// Next skips to the next member and returns its header; io.EOF at the end.
func (a *ArReader) Next() (*ArHeader, error) {
	if !a.started {
		var magic [len(arMagic)]byte
		if _, err := io.ReadFull(a.r, magic[:]); err != nil {
			return nil, fmt.Errorf("%w: short magic", ErrBadAr)
		}
		if string(magic[:]) != arMagic {
			return nil, fmt.Errorf("%w: bad magic", ErrBadAr)
		}
		a.started = true
	}
	skip := a.remain
	if a.pad {
		skip++
	}
	if skip > 0 {
		if _, err := io.CopyN(io.Discard, a.r, skip); err != nil {
			return nil, fmt.Errorf("%w: truncated member", ErrBadAr)
		}
	}
	a.remain, a.pad = 0, false
	var hdr [60]byte
	n, err := io.ReadFull(a.r, hdr[:])
	if err == io.EOF {
		return nil, io.EOF
	}
	if err != nil {
		return nil, fmt.Errorf("%w: truncated header (%d bytes)", ErrBadAr, n)
	}
	if hdr[58] != '`' || hdr[59] != '\n' {
		return nil, fmt.Errorf("%w: bad header terminator", ErrBadAr)
	}
	name := strings.TrimRight(string(hdr[0:16]), " ")
	if name != "/" && name != "//" {
		name = strings.TrimSuffix(name, "/")
	}
	size, err := strconv.ParseInt(strings.TrimRight(string(hdr[48:58]), " "), 10, 64)
	if err != nil || size < 0 {
		return nil, fmt.Errorf("%w: bad member size %q", ErrBadAr, hdr[48:58])
	}
	a.remain, a.pad = size, size%2 == 1
	return &ArHeader{Name: name, Size: size}, nil
}

// Read reads from the current member.
func (a *ArReader) Read(p []byte) (int, error) {
	if a.remain <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > a.remain {
		p = p[:a.remain]
	}
	n, err := a.r.Read(p)
	a.remain -= int64(n)
	if err == io.EOF && a.remain > 0 {
		err = fmt.Errorf("%w: truncated member", ErrBadAr)
	}
	if err == io.EOF {
		err = nil
	}
	return n, err
}
