package kernels

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
)

// x86 boot protocol offsets (Documentation/arch/x86/boot.rst).
const (
	bzMagicOffset   = 0x202 // "HdrS"
	bzVersionOffset = 0x206 // boot protocol version
	bzKernelVersion = 0x20e // pointer to the version string, minus 0x200
	bzHeaderEnd     = 0x210
)

// BzImageRelease reads the kernel release ("6.1.0-18-cloud-amd64") from
// the setup header of an x86 bzImage. A file that is not a bzImage
// yields ErrNotAKernel.
func BzImageRelease(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNotAKernel, err)
	}
	defer f.Close()
	rel, err := bzImageRelease(f)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return rel, nil
}

func bzImageRelease(r io.ReaderAt) (string, error) {
	var hdr [bzHeaderEnd]byte
	if _, err := r.ReadAt(hdr[:], 0); err != nil {
		return "", fmt.Errorf("%w: too short for a bzImage", ErrNotAKernel)
	}
	if string(hdr[bzMagicOffset:bzMagicOffset+4]) != "HdrS" {
		return "", fmt.Errorf("%w: no bzImage setup header (magic HdrS at 0x202)", ErrNotAKernel)
	}
	proto := binary.LittleEndian.Uint16(hdr[bzVersionOffset:])
	ptr := binary.LittleEndian.Uint16(hdr[bzKernelVersion:])
	if proto < 0x200 || ptr == 0 {
		return "", fmt.Errorf("%w: bzImage without a version string (boot protocol %#x)", ErrNotAKernel, proto)
	}
	var buf [256]byte
	n, err := r.ReadAt(buf[:], int64(ptr)+0x200)
	if n == 0 {
		return "", fmt.Errorf("%w: version string out of range: %v", ErrNotAKernel, err)
	}
	s := buf[:n]
	if i := bytes.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	f := bytes.Fields(s)
	if len(f) == 0 {
		return "", fmt.Errorf("%w: empty version string", ErrNotAKernel)
	}
	return string(f[0]), nil
}
