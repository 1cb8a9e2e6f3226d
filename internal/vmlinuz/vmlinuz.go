package vmlinuz

import (
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"

	"github.com/retrobpf/retrobpf/internal/inputfile"
)

var (
	// ErrNotBzImage is returned for a file without an x86 boot setup
	// header carrying a payload (boot protocol 2.08 or later).
	ErrNotBzImage = errors.New("not an x86 bzImage with a compressed payload")
	// ErrCompression is returned for a payload compressed in a way this
	// package does not read (LZO), or whose data is corrupt.
	ErrCompression = errors.New("unreadable kernel payload")
	// ErrNoBTF is returned for a kernel built without CONFIG_DEBUG_INFO_BTF.
	ErrNoBTF = errors.New("the kernel has no .BTF section")
)

// MaxImage bounds a bzImage file (distribution kernels take 7-15 MB).
const MaxImage = 256 << 20

// MaxVmlinux bounds the decompressed kernel (a distribution vmlinux
// without debug info is 40-80 MB).
const MaxVmlinux = 1 << 30

// Vmlinux returns the decompressed vmlinux ELF of the bzImage at path.
func Vmlinux(path string) ([]byte, error) {
	img, err := inputfile.Read(path, MaxImage)
	if err != nil {
		return nil, err // names the file
	}
	out, err := Decompress(img)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// BTF returns the raw BTF of the kernel in the bzImage at path.
func BTF(path string) ([]byte, error) {
	vmlinux, err := Vmlinux(path)
	if err != nil {
		return nil, err
	}
	raw, err := SectionBTF(vmlinux)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return raw, nil
}

// SectionBTF returns the .BTF section of a vmlinux ELF.
func SectionBTF(vmlinux []byte) ([]byte, error) {
	f, err := elf.NewFile(bytes.NewReader(vmlinux))
	if err != nil {
		return nil, fmt.Errorf("%w: the payload is not an ELF: %v", ErrCompression, err)
	}
	sec := f.Section(".BTF")
	if sec == nil || sec.Type == elf.SHT_NOBITS {
		return nil, ErrNoBTF
	}
	if sec.Size > MaxVmlinux {
		return nil, fmt.Errorf("%w: .BTF claims %d bytes", ErrCompression, sec.Size)
	}
	return sec.Data()
}

// Decompress returns the vmlinux inside a bzImage held in memory.
func Decompress(img []byte) ([]byte, error) {
	payload, err := payloadOf(img)
	if err != nil {
		return nil, err
	}
	r, err := decompressor(payload)
	if err != nil {
		return nil, err
	}
	out, err := io.ReadAll(io.LimitReader(r, MaxVmlinux+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCompression, err)
	}
	if len(out) > MaxVmlinux {
		return nil, fmt.Errorf("%w: more than %d bytes decompressed", ErrCompression, MaxVmlinux)
	}
	return out, nil
}

// payloadOf finds the compressed kernel in the setup header.
func payloadOf(img []byte) ([]byte, error) {
	const hdr = 0x1f1
	if len(img) < 0x250 || string(img[0x202:0x206]) != "HdrS" {
		return nil, ErrNotBzImage
	}
	if version := binary.LittleEndian.Uint16(img[0x206:]); version < 0x0208 {
		return nil, fmt.Errorf("%w (boot protocol %d.%02d)", ErrNotBzImage, version>>8, version&0xff)
	}
	setupSects := int(img[hdr])
	if setupSects == 0 {
		setupSects = 4
	}
	off := uint64(setupSects+1)*512 + uint64(binary.LittleEndian.Uint32(img[0x248:]))
	n := uint64(binary.LittleEndian.Uint32(img[0x24c:]))
	if n < 8 || off+n > uint64(len(img)) {
		return nil, fmt.Errorf("%w: payload of %d bytes at %d outside the %d-byte file", ErrNotBzImage, n, off, len(img))
	}
	return img[off : off+n], nil
}

// decompressor reads payload by its magic. The kernel's build appends the
// decompressed size (4 bytes, little endian) to every payload.
func decompressor(payload []byte) (io.Reader, error) {
	p := bytes.NewReader(payload[:len(payload)-4])
	switch {
	case bytes.HasPrefix(payload, []byte{0x1f, 0x8b}):
		return gzip.NewReader(p)
	case bytes.HasPrefix(payload, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		return xz.NewReader(p)
	case bytes.HasPrefix(payload, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(p, zstd.WithDecoderMaxMemory(MaxVmlinux), zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, err
		}
		return zr.IOReadCloser(), nil
	case bytes.HasPrefix(payload, []byte("BZh")):
		return bzip2.NewReader(p), nil
	case bytes.HasPrefix(payload, []byte{0x5d, 0, 0}):
		return lzma.NewReader(p)
	case bytes.HasPrefix(payload, lz4LegacyMagic):
		return newLZ4Legacy(payload[:len(payload)-4]), nil // not the size suffix
	case bytes.HasPrefix(payload, []byte{0x89, 'L', 'Z', 'O'}):
		return nil, fmt.Errorf("%w: LZO is not supported", ErrCompression)
	}
	return nil, fmt.Errorf("%w: unknown compression (magic % x)", ErrCompression, payload[:min(6, len(payload))])
}

// lz4LegacyMagic starts LZ4's legacy frame format: then blocks, each a
// 4-byte little-endian compressed size and an LZ4 block of at most 8 MB
// decompressed; the magic may repeat (concatenated frames).
var lz4LegacyMagic = []byte{0x02, 0x21, 0x4c, 0x18}

const lz4LegacyBlock = 8 << 20

type lz4Legacy struct {
	src []byte
	buf []byte
	out []byte // decompressed, not yet read
}

func newLZ4Legacy(src []byte) *lz4Legacy {
	return &lz4Legacy{src: src[len(lz4LegacyMagic):], buf: make([]byte, lz4LegacyBlock)}
}

func (l *lz4Legacy) Read(p []byte) (int, error) {
	for len(l.out) == 0 {
		if len(l.src) == 0 {
			return 0, io.EOF
		}
		if len(l.src) < 4 {
			return 0, fmt.Errorf("lz4 legacy: %d trailing bytes", len(l.src))
		}
		if bytes.HasPrefix(l.src, lz4LegacyMagic) {
			l.src = l.src[4:]
			continue
		}
		n := binary.LittleEndian.Uint32(l.src)
		l.src = l.src[4:]
		if n == 0 || uint64(n) > uint64(len(l.src)) {
			return 0, fmt.Errorf("lz4 legacy: block of %d bytes with %d left", n, len(l.src))
		}
		m, err := lz4.UncompressBlock(l.src[:n], l.buf)
		if err != nil {
			return 0, fmt.Errorf("lz4 legacy: %w", err)
		}
		l.src = l.src[n:]
		l.out = l.buf[:m]
	}
	n := copy(p, l.out)
	l.out = l.out[n:]
	return n, nil
}
