package matrix

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

	"github.com/retrobpf/retrobpf/matrix/suite"
)

func hasTrigger(s *suite.Suite, kind string) bool {
	for _, p := range s.Programs {
		if p.Trigger.Kind == kind {
			return true
		}
	}
	return false
}

// loopModule returns the kernel's loop.ko from its modules tree,
// decompressed (Debian ships .ko, .ko.xz or .ko.zst depending on the
// release): the guest loads it to get a block device for fsync triggers.
func loopModule(modules string) ([]byte, error) {
	if modules == "" {
		return nil, errors.New("no kernel modules tree")
	}
	var path string
	filepath.WalkDir(modules, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasPrefix(d.Name(), "loop.ko") {
			path = p
			return fs.SkipAll
		}
		return nil
	})
	if path == "" {
		return nil, fmt.Errorf("no loop.ko under %s", modules)
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
