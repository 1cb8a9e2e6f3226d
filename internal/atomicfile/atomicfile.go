package atomicfile

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// WriteFile writes data to path atomically with permissions perm.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return Write(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Write streams fill into a temporary file in path's directory (so the
// rename stays on one file system) and renames it to path only when fill,
// the chmod, the fsync and the close all succeed. On error nothing is
// left behind and an existing path keeps its old content.
func Write(path string, perm os.FileMode, fill func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	pending.add(f.Name())
	defer func() {
		pending.remove(f.Name())
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = fill(f); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// Without the fsync a crash after the rename can leave an empty or
	// partial file under the final name on ext4/xfs with delayed allocation.
	if err = f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// pending holds the temporary files of writes in flight, so a process
// that must end at once (a second Ctrl-C) can remove them first.
var pending = pendingSet{names: map[string]struct{}{}}

type pendingSet struct {
	mu    sync.Mutex
	names map[string]struct{}
}

func (p *pendingSet) add(name string) {
	p.mu.Lock()
	p.names[name] = struct{}{}
	p.mu.Unlock()
}

func (p *pendingSet) remove(name string) {
	p.mu.Lock()
	delete(p.names, name)
	p.mu.Unlock()
}

// RemovePending removes the temporary file of every Write still in
// flight, for a process about to exit without returning from them: the
// final names keep their old content and no ".tmp-" file is left behind.
// Those Writes then fail (or are never resumed).
func RemovePending() {
	pending.mu.Lock()
	defer pending.mu.Unlock()
	for name := range pending.names {
		os.Remove(name)
		delete(pending.names, name)
	}
}
