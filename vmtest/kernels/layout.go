package kernels

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// The layout of a kernel tree, as Debian packages, the lvh kernel-images
// and cilium's ci-kernels images (and a dir: directory) share it:
//
//	boot/vmlinuz[-<v>]     the bootable image (required)
//	boot/vmlinux[-<v>]     the ELF kernel (ci-kernels)
//	boot/btf-<v>           external BTF (lvh)
//	boot/config-<v>        the kernel configuration
//	boot/System.map-<v>    symbols
//	[usr/]lib/modules/<v>  modules
//
// Recognition lives here, once, for both tar streams (unpackKernelTar)
// and directories (scanKernelDir).

// File names inside a cache entry.
const (
	fileVmlinuz   = "vmlinuz"
	fileVmlinux   = "vmlinux"
	fileConfig    = "config"
	fileSystemMap = "System.map"
	fileBTF       = "btf"
	dirModules    = "modules"
)

// ErrArchiveTooLarge is returned for a package or image whose kernel
// files, or whose whole stream, exceed the extraction caps: a
// decompression bomb stops there instead of filling the disk.
var ErrArchiveTooLarge = errors.New("kernel archive exceeds the extraction cap")

// Extraction caps. Real trees are far below: a Debian cloud kernel
// package unpacks to ~100 MiB with modules, a vmlinux with BTF to
// ~60 MiB. Tests lower them.
var (
	maxKernelFile int64 = 1 << 30 // one boot/ file
	maxExtracted  int64 = 4 << 30 // everything written, modules included
	maxStream     int64 = 8 << 30 // everything read, skipped entries included
	maxEntries          = 1 << 20
)

// bootFile recognises a file name in boot/: the cache file it becomes
// and the version suffix of its name ("" for plain names).
func bootFile(base string) (target, suffix string) {
	for _, p := range []struct{ prefix, target string }{
		{"vmlinuz", fileVmlinuz},
		{"vmlinux", fileVmlinux},
		{"btf", fileBTF},
		{"config", fileConfig},
		{"System.map", fileSystemMap},
	} {
		if base == p.prefix {
			return p.target, ""
		}
		if v, ok := strings.CutPrefix(base, p.prefix+"-"); ok && v != "" {
			return p.target, v
		}
	}
	return "", ""
}

// debContents is what unpacking a kernel tree produced.
type debContents struct {
	Release string // from the boot/vmlinuz-<release> file name
	Files   []string
	Modules string // "modules" when modules were extracted
}

// unpackKernelTar extracts the kernel files from a package or image file
// system tree into dst (see the layout above); the first file of each
// kind wins. It streams, and refuses with ErrArchiveTooLarge a file,
// a total or a stream beyond the caps before writing past them.
func unpackKernelTar(tr *tar.Reader, dst string, withModules bool) (debContents, error) {
	var c debContents
	seen := map[string]bool{}
	var read, written int64
	for entries := 0; ; entries++ {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return c, fmt.Errorf("reading package data: %w", err)
		}
		if entries >= maxEntries {
			return c, fmt.Errorf("%w: more than %d entries", ErrArchiveTooLarge, maxEntries)
		}
		if h.Size < 0 {
			return c, fmt.Errorf("reading package data: %s: negative size", h.Name)
		}
		// Unread entries are skipped by reading them: bound that too.
		if read += h.Size; read > maxStream {
			return c, fmt.Errorf("%w: more than %d bytes in the archive", ErrArchiveTooLarge, maxStream)
		}
		name := path.Clean(strings.TrimPrefix(strings.TrimPrefix(h.Name, "./"), "/"))
		dir, base := path.Split(name)
		extract := func(target string, limit int64) error {
			if h.Size > limit {
				return fmt.Errorf("%w: %s is %d bytes, the cap is %d", ErrArchiveTooLarge, name, h.Size, limit)
			}
			if written += h.Size; written > maxExtracted {
				return fmt.Errorf("%w: more than %d bytes of kernel files", ErrArchiveTooLarge, maxExtracted)
			}
			return nil
		}
		if dir == "boot/" && h.Typeflag == tar.TypeReg {
			target, suffix := bootFile(base)
			if target != "" && !seen[target] {
				if err := extract(target, maxKernelFile); err != nil {
					return c, err
				}
				if target == fileVmlinuz && suffix != "" {
					c.Release = suffix
				}
				if err := writeFrom(filepath.Join(dst, target), tr, 0o644, h.Size); err != nil {
					return c, err
				}
				seen[target] = true
				c.Files = append(c.Files, target)
			}
			continue
		}
		if withModules {
			if rest, ok := cutModulesPrefix(name); ok && rest != "" {
				if h.Typeflag == tar.TypeReg {
					if err := extract(name, maxExtracted); err != nil {
						return c, err
					}
				}
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
		return writeFrom(target, r, 0o644, h.Size)
	}
	// Symlinks (build, source) point outside the tree; hard links are
	// not used in kernel packages.
	return nil
}

// writeFrom copies at most size bytes of r to a new file.
func writeFrom(path string, r io.Reader, perm os.FileMode, size int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			return fmt.Errorf("%w: %v", ErrCacheUnwritable, err)
		}
		return err
	}
	if _, err := io.Copy(f, io.LimitReader(r, size)); err != nil {
		f.Close()
		return fmt.Errorf("extract %s: %w", filepath.Base(path), err)
	}
	return f.Close()
}

// kernelDir is a kernel tree recognised in a directory: absolute paths.
type kernelDir struct {
	Release string            // the vmlinuz-<release> suffix, or ""
	Files   map[string]string // cache file name (fileVmlinuz…) → path
}

// scanKernelDir recognises the layout above in a directory. boot/ must
// hold exactly one kernel image; the other boot/ files count only with
// the image's version suffix, so a /boot with several kernels' configs
// never pairs one kernel with another's.
func scanKernelDir(root string) (*kernelDir, error) {
	des, err := os.ReadDir(filepath.Join(root, "boot"))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: no boot/ directory: %v", ErrNotAKernel, root, err)
	}
	var images []string
	bySuffix := map[string]map[string]string{}
	for _, de := range des {
		target, suffix := bootFile(de.Name())
		if target == "" {
			continue
		}
		p := filepath.Join(root, "boot", de.Name())
		if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
			continue
		}
		if target == fileVmlinuz {
			images = append(images, de.Name())
		}
		if bySuffix[suffix] == nil {
			bySuffix[suffix] = map[string]string{}
		}
		bySuffix[suffix][target] = p
	}
	sort.Strings(images)
	switch len(images) {
	case 0:
		return nil, fmt.Errorf("%w: %s: no boot/vmlinuz or boot/vmlinuz-<version>", ErrNoKernelImage, root)
	case 1:
	default:
		return nil, fmt.Errorf("%w: %s: several kernel images in boot/ (%s); give file:PATH of one", ErrNotAKernel, root, strings.Join(images, ", "))
	}
	_, suffix := bootFile(images[0])
	return &kernelDir{Release: suffix, Files: bySuffix[suffix]}, nil
}

// modulesRoot returns the directory holding lib/modules/<release> below
// root (root itself or root/usr), or "" if there is none.
func modulesRoot(root, release string) string {
	for _, base := range []string{root, filepath.Join(root, "usr")} {
		if fi, err := os.Stat(filepath.Join(base, "lib", "modules", release)); err == nil && fi.IsDir() {
			return base
		}
	}
	return ""
}

// onlyModulesRoot is modulesRoot for a tree with a single modules
// directory, whatever its name.
func onlyModulesRoot(root string) string {
	for _, base := range []string{root, filepath.Join(root, "usr")} {
		lib := filepath.Join(base, "lib", "modules")
		des, err := os.ReadDir(lib)
		if err != nil {
			continue
		}
		var dirs []string
		for _, de := range des {
			if de.IsDir() {
				dirs = append(dirs, de.Name())
			}
		}
		if len(dirs) == 1 {
			return base
		}
	}
	return ""
}
