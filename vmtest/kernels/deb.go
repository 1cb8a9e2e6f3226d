package kernels

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// File names inside a cache entry.
const (
	fileVmlinuz   = "vmlinuz"
	fileVmlinux   = "vmlinux"
	fileConfig    = "config"
	fileSystemMap = "System.map"
	fileBTF       = "btf"
	dirModules    = "modules"
)

// debContents is what unpacking a kernel package produced.
type debContents struct {
	Release string // from the boot/vmlinuz-<release> file name
	Files   []string
	Modules string // "modules" when modules were extracted
}

// unpackDeb extracts the kernel image, its config and System.map (and the
// modules when withModules) from the .deb in r into dst, which must exist.
// A package without boot/vmlinuz-* yields ErrNoKernelImage.
func unpackDeb(r io.Reader, dst string, withModules bool) (debContents, error) {
	ar := NewArReader(r)
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

// unpackKernelTar extracts the kernel files from a package or image file
// system tree. Kernel images are named boot/vmlinuz-<release> (Debian,
// lvh) or boot/vmlinuz (ci-kernels); boot/vmlinux[-<v>] (ci-kernels) and
// boot/btf-<v> (lvh) are kept when present.
func unpackKernelTar(tr *tar.Reader, dst string, withModules bool) (debContents, error) {
	var c debContents
	seen := map[string]bool{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return c, fmt.Errorf("reading package data: %w", err)
		}
		name := path.Clean(strings.TrimPrefix(strings.TrimPrefix(h.Name, "./"), "/"))
		dir, base := path.Split(name)
		if dir == "boot/" && h.Typeflag == tar.TypeReg {
			var target string
			switch {
			case base == "vmlinuz" || strings.HasPrefix(base, "vmlinuz-"):
				target = fileVmlinuz
				if rel := strings.TrimPrefix(base, "vmlinuz-"); rel != base {
					c.Release = rel
				}
			case base == "vmlinux" || strings.HasPrefix(base, "vmlinux-"):
				target = fileVmlinux
			case strings.HasPrefix(base, "btf-") || base == "btf":
				target = fileBTF
			case strings.HasPrefix(base, "config-") || base == "config":
				target = fileConfig
			case strings.HasPrefix(base, "System.map-") || base == "System.map":
				target = fileSystemMap
			}
			if target != "" && !seen[target] {
				if err := writeFrom(filepath.Join(dst, target), tr, 0o644); err != nil {
					return c, err
				}
				seen[target] = true
				c.Files = append(c.Files, target)
			}
			continue
		}
		if withModules {
			if rest, ok := cutModulesPrefix(name); ok && rest != "" {
				if err := extractModuleEntry(h, tr, filepath.Join(dst, dirModules, "lib/modules", filepath.FromSlash(rest))); err != nil {
					return c, err
				}
				c.Modules = dirModules
			}
		}
	}
	if !seen[fileVmlinuz] {
		return c, ErrNoKernelImage
	}
	return c, nil
}

// cutModulesPrefix returns the path below lib/modules (or usr/lib/modules).
func cutModulesPrefix(name string) (string, bool) {
	for _, p := range []string{"lib/modules/", "usr/lib/modules/"} {
		if rest, ok := strings.CutPrefix(name, p); ok {
			if strings.HasPrefix(rest, "../") || rest == ".." {
				return "", false
			}
			return rest, true
		}
	}
	return "", false
}

func extractModuleEntry(h *tar.Header, r io.Reader, target string) error {
	switch h.Typeflag {
	case tar.TypeDir:
		return os.MkdirAll(target, 0o755)
	case tar.TypeReg:
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		return writeFrom(target, r, 0o644)
	}
	// Symlinks (build, source) point outside the tree; hard links are
	// not used in kernel packages.
	return nil
}

func writeFrom(path string, r io.Reader, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			return fmt.Errorf("%w: %v", ErrCacheUnwritable, err)
		}
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return fmt.Errorf("extract %s: %w", filepath.Base(path), err)
	}
	return f.Close()
}
