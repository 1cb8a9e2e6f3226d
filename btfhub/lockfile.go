package btfhub

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/retrobpf/retrobpf/internal/atomicfile"
)

// LockFileName is the name of the lock file kept in the cache directory.
const LockFileName = "retrobpf-btf.lock"

// ErrLockMismatch is returned when a fetched tarball's SHA256 differs from
// the one recorded in the lock file (and the caller did not ask to update).
var ErrLockMismatch = errors.New("archive file changed since it was locked")

// LockFile records what was fetched from the archive, which publishes no
// checksums of its own: one entry per archive path.
type LockFile struct {
	Version int                  `json:"version"`
	Entries map[string]LockEntry `json:"entries"` // key: archive path
}

// LockEntry is one fetched tarball.
type LockEntry struct {
	SHA256 string `json:"sha256"` // of the tarball
	Size   int64  `json:"size"`   // of the tarball
	URL    string `json:"url"`
	// BTFSHA256 is the digest of the extracted BTF as cached, checked on
	// every cache hit (absent in lock files of older versions).
	BTFSHA256 string    `json:"btf_sha256,omitempty"`
	Fetched   time.Time `json:"fetched"`
}

// ReadLockFile reads a lock file; a missing file is an empty lock.
func ReadLockFile(path string) (*LockFile, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &LockFile{Version: 1, Entries: map[string]LockEntry{}}, nil
	}
	if err != nil {
		return nil, err
	}
	var l LockFile
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return nil, fmt.Errorf("%s: invalid lock file: %w", path, err)
	}
	if l.Version != 1 {
		return nil, fmt.Errorf("%s: unsupported lock file version %d", path, l.Version)
	}
	if l.Entries == nil {
		l.Entries = map[string]LockEntry{}
	}
	return &l, nil
}

// Write stores the lock file atomically.
func (l *LockFile) Write(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(l); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, buf.Bytes(), 0o644)
}

// Check returns ErrLockMismatch if archivePath is locked with another hash.
func (l *LockFile) Check(archivePath, sha string) error {
	e, ok := l.Entries[archivePath]
	if !ok || e.SHA256 == sha {
		return nil
	}
	return fmt.Errorf("%w: %s: locked sha256 %s, fetched %s", ErrLockMismatch, archivePath, e.SHA256, sha)
}

// Paths returns the locked archive paths, sorted.
func (l *LockFile) Paths() []string {
	out := make([]string, 0, len(l.Entries))
	for p := range l.Entries {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}
