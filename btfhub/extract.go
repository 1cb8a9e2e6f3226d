package btfhub

import (
	"archive/tar"
	"bufio"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/ulikunitz/xz"
)

// ErrBadArchive is returned for a tarball that is not exactly one regular,
// safely named, bounded .btf file inside a valid xz stream.
var ErrBadArchive = errors.New("bad BTF archive")

// DefaultMaxBTFSize caps the extracted BTF. Full kernel BTF is a few MiB
// (6.x vmlinux is about 5-6 MiB); 64 MiB leaves room without letting a
// hostile archive fill the disk or memory.
const DefaultMaxBTFSize = 64 << 20

// ExtractBTF reads a BTFHub .btf.tar.xz from r and returns the raw BTF of its
// single member. It refuses anything but exactly one regular file (no links,
// directories or devices), names that are absolute, contain "..", or do not
// end in ".btf", files larger than maxSize (DefaultMaxBTFSize if <= 0), and
// truncated or corrupt xz streams (the xz checksums are verified to the end
// of the stream). If want is not empty, the member's base name must be want.
func ExtractBTF(r io.Reader, want string, maxSize int64) ([]byte, error) {
	if maxSize <= 0 {
		maxSize = DefaultMaxBTFSize
	}
	br := bufio.NewReader(r)
	if err := checkXZDict(br); err != nil {
		return nil, err
	}
	zr, err := xz.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("%w: not an xz stream: %v", ErrBadArchive, err)
	}
	// Bound everything decompressed (headers, padding, trailing data), not
	// only the member, so an xz bomb stops early.
	limited := &io.LimitedReader{R: zr, N: maxSize + 1<<20}
	tr := tar.NewReader(limited)

	var data []byte
	var name string
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadArchive, truncated(err, limited))
		}
		if err := checkMember(hdr, want, maxSize); err != nil {
			return nil, err
		}
		if data != nil {
			return nil, fmt.Errorf("%w: more than one file (%s, %s)", ErrBadArchive, name, hdr.Name)
		}
		name = hdr.Name
		data, err = io.ReadAll(io.LimitReader(tr, maxSize+1))
		if err != nil {
			return nil, fmt.Errorf("%w: read %s: %v", ErrBadArchive, name, truncated(err, limited))
		}
		if int64(len(data)) != hdr.Size {
			return nil, fmt.Errorf("%w: %s: read %d bytes, header says %d", ErrBadArchive, name, len(data), hdr.Size)
		}
		if data == nil {
			data = []byte{}
		}
	}
	if data == nil {
		return nil, fmt.Errorf("%w: empty archive (no file)", ErrBadArchive)
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: %s is empty", ErrBadArchive, name)
	}
	// Drain the rest of the xz stream so its index and checksums are checked.
	if _, err := io.Copy(io.Discard, limited); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadArchive, truncated(err, limited))
	}
	if limited.N <= 0 {
		return nil, fmt.Errorf("%w: more than %d bytes decompressed", ErrBadArchive, maxSize)
	}
	return data, nil
}

func checkMember(hdr *tar.Header, want string, maxSize int64) error {
	switch hdr.Typeflag {
	//lint:ignore SA1019 TypeRegA ('\x00') still appears in archives written by old tools
	case tar.TypeReg, tar.TypeRegA:
	case tar.TypeSymlink, tar.TypeLink:
		return fmt.Errorf("%w: %s is a link", ErrBadArchive, hdr.Name)
	default:
		return fmt.Errorf("%w: %s is not a regular file (type %q)", ErrBadArchive, hdr.Name, hdr.Typeflag)
	}
	n := hdr.Name
	if n == "" || strings.HasPrefix(n, "/") || strings.Contains(n, "\\") || strings.ContainsRune(n, 0) {
		return fmt.Errorf("%w: unsafe member name %q", ErrBadArchive, n)
	}
	for _, part := range strings.Split(n, "/") {
		if part == ".." {
			return fmt.Errorf("%w: member %q escapes the archive (..)", ErrBadArchive, n)
		}
	}
	base := path.Base(n)
	if !strings.HasSuffix(base, ".btf") {
		return fmt.Errorf("%w: member %q is not a .btf file", ErrBadArchive, n)
	}
	if want != "" && base != want {
		return fmt.Errorf("%w: member %q, want %q", ErrBadArchive, n, want)
	}
	if hdr.Size < 0 || hdr.Size > maxSize {
		return fmt.Errorf("%w: member %q is %d bytes, over the %d byte cap", ErrBadArchive, n, hdr.Size, maxSize)
	}
	return nil
}

func truncated(err error, l *io.LimitedReader) error {
	if l.N <= 0 {
		return fmt.Errorf("decompressed size cap reached: %v", err)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("truncated archive: %v", err)
	}
	return err
}
