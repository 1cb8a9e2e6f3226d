package kernels

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"

	"github.com/retrobpf/retrobpf/vmtest/kernels/debian"
)

// unpackDeb extracts the kernel image, its config and System.map (and the
// modules when withModules) from the .deb in r into dst, which must exist.
// A package without boot/vmlinuz-* yields ErrNoKernelImage.
func unpackDeb(r io.Reader, dst string, withModules bool) (debContents, error) {
	ar := debian.NewArReader(r)
	for {
		h, err := ar.Next()
		if err == io.EOF {
			return debContents{}, fmt.Errorf("%w: not a Debian package (no data.tar member)", ErrNoKernelImage)
		}
		if err != nil {
			return debContents{}, err
		}
		if !strings.HasPrefix(h.Name, "data.tar") {
			continue
		}
		dr, closeFn, err := decompressor(h.Name, ar)
		if err != nil {
			return debContents{}, err
		}
		c, err := unpackKernelTar(tar.NewReader(dr), dst, withModules)
		closeFn()
		return c, err
	}
}

// decompressor returns a reader for a data.tar member named by its suffix.
func decompressor(name string, r io.Reader) (io.Reader, func(), error) {
	switch path.Ext(name) {
	case ".xz":
		xr, err := xz.NewReader(bufio.NewReaderSize(r, 1<<20))
		return xr, func() {}, err
	case ".zst":
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, nil, err
		}
		return zr, zr.Close, nil
	case ".gz":
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, err
		}
		return zr, func() { zr.Close() }, nil
	case ".tar":
		return r, func() {}, nil
	}
	return nil, nil, fmt.Errorf("unsupported package compression %q", name)
}
