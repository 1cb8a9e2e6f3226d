package kernels

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// ErrNoModule is returned by Module when the kernel has no modules tree
// (pull with modules) or the tree has no such module.
var ErrNoModule = errors.New("kernel module not found")

// Module returns the kernel module name (e.g. "loop") from the kernel's
// modules tree, decompressed: Debian ships .ko, .ko.xz or .ko.zst depending
// on the release. Guests without a disk load it with finit_module.
func (k *Kernel) Module(name string) ([]byte, error) {
	if k.Modules == "" {
		return nil, fmt.Errorf("%w: %s: no modules tree (pull with modules)", ErrNoModule, k.Ref)
	}
	var path string
	filepath.WalkDir(k.Modules, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (d.Name() == name+".ko" || strings.HasPrefix(d.Name(), name+".ko.")) {
			path = p
			return fs.SkipAll
		}
		return nil
	})
	if path == "" {
		return nil, fmt.Errorf("%w: no %s.ko under %s", ErrNoModule, name, k.Modules)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	switch filepath.Ext(path) {
	case ".xz":
		if r, err = xz.NewReader(f); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	case ".zst":
		zr, err := zstd.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}
