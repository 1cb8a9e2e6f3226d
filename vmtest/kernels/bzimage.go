package kernels

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/retrobpf/retrobpf/internal/kversion"
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

// BzImageVersion is BzImageRelease plus the upstream version: Debian
// kernels are named "6.1.0-18-…" but their build string says
// "Debian 6.1.76-1", which has the real patch level.
func BzImageVersion(path string) (string, kversion.Version, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", kversion.Version{}, fmt.Errorf("%w: %v", ErrNotAKernel, err)
	}
	defer f.Close()
	banner, err := bzImageBanner(f)
	if err != nil {
		return "", kversion.Version{}, fmt.Errorf("%s: %w", path, err)
	}
	release := strings.Fields(banner)[0]
	v, err := kversion.Parse(release)
	if err != nil {
		return "", kversion.Version{}, fmt.Errorf("%s: %w: release %q is not a kernel version", path, ErrNotAKernel, release)
	}
	v = kversion.Version{Major: v.Major, Minor: v.Minor, Patch: v.Patch}
	if _, after, ok := strings.Cut(banner, " Debian "); ok {
		if dv, err := kversion.Parse(after); err == nil && dv.Major == v.Major && dv.Minor == v.Minor {
			v.Patch = dv.Patch
		}
	}
	return release, v, nil
}

func bzImageRelease(r io.ReaderAt) (string, error) {
	banner, err := bzImageBanner(r)
	if err != nil {
		return "", err
	}
	return strings.Fields(banner)[0], nil
}

// bzImageBanner returns the kernel_version string of the setup header:
// "<release> (<builder>) #1 SMP …".
func bzImageBanner(r io.ReaderAt) (string, error) {
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
	if len(bytes.Fields(s)) == 0 {
		return "", fmt.Errorf("%w: empty version string", ErrNotAKernel)
	}
	return string(s), nil
}
