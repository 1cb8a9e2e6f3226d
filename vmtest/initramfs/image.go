package initramfs

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/retrobpf/retrobpf/internal/atomicfile"
)

// AgentPath is where the agent lives in the guest; /init links to it.
const AgentPath = "/bin/retrobpf"

// baseVersion changes whenever the base layout changes, so cached bases
// built by older code are not reused.
const baseVersion = "v2"

// ErrNotStatic is returned for an agent binary that needs a dynamic loader:
// the guest has no libc.
var ErrNotStatic = errors.New("agent binary is not statically linked (build it with CGO_ENABLED=0)")

// File is a file to put into the guest.
type File struct {
	Path   string      // absolute guest path, e.g. "/loader"
	Source string      // host file to copy (used when Data is nil)
	Data   []byte      // contents, instead of Source
	Mode   fs.FileMode // permissions; 0 means the source's, or 0644 for Data
}

// Base returns the path of the base archive for the agent binary, building
// it under cacheDir when it is not there yet. The name carries the agent's
// SHA-256, so a rebuilt agent gets a new base and concurrent callers share
// one file (written atomically).
func Base(cacheDir, agent string) (string, error) {
	if err := CheckStatic(agent); err != nil {
		return "", err
	}
	sum, err := fileSHA256(agent)
	if err != nil {
		return "", err
	}
	dst := filepath.Join(cacheDir, "base-"+baseVersion+"-"+sum[:24]+".cpio")
	if _, err := os.Stat(dst); err == nil {
		now := time.Now()
		os.Chtimes(dst, now, now) // in use: keep it from pruning
		return dst, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", fmt.Errorf("initramfs cache: %w", err)
	}
	bin, size, err := stripped(agent)
	if err != nil {
		return "", err
	}
	err = atomicfile.Write(dst, 0o644, func(w io.Writer) error {
		return writeBase(w, bin, size)
	})
	if err != nil {
		return "", fmt.Errorf("build initramfs base: %w", err)
	}
	prune(cacheDir, dst)
	return dst, nil
}

// pruneAge is how long a base built for another agent binary is kept
// after its last use: every rebuild of retrobpf makes a new base.
const pruneAge = 24 * time.Hour

func prune(dir, keep string) {
	old, _ := filepath.Glob(filepath.Join(dir, "base-*.cpio"))
	for _, p := range old {
		if st, err := os.Stat(p); err == nil && p != keep && time.Since(st.ModTime()) > pruneAge {
			os.Remove(p)
		}
	}
}

func writeBase(w io.Writer, agent io.Reader, size int64) error {
	cw := NewWriter(w)
	for _, d := range []string{"bin", "sbin", "usr/bin", "etc", "root", "mnt", "proc", "sys", "run", "var", "dev"} {
		cw.Dir(d, 0o755)
	}
	cw.Dir("tmp", 0o777|fs.ModeSticky)
	// Device nodes for before devtmpfs is mounted (and for kernels without
	// it): the kernel opens /dev/console for init's stdio itself.
	cw.CharDev("dev/console", 0o600, 5, 1)
	cw.CharDev("dev/null", 0o666, 1, 3)
	cw.CharDev("dev/ttyS0", 0o660, 4, 64)
	cw.CharDev("dev/ttyS1", 0o660, 4, 65)
	cw.File(AgentPath, 0o755, size, agent)
	cw.Symlink("init", AgentPath)
	return cw.Close()
}

// CheckStatic returns ErrNotStatic unless path is an ELF executable without
// an interpreter.
func CheckStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("agent %s: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("agent %s: %w", path, ErrNotStatic)
		}
	}
	return nil
}

// Write writes the complete image to dst: the base archive followed by an
// overlay holding plan as /plan.json and files.
func Write(dst, base string, plan []byte, files []File) error {
	var overlay bytes.Buffer
	cw := NewWriter(&overlay)
	cw.File("plan.json", 0o644, int64(len(plan)), bytes.NewReader(plan))
	for _, f := range files {
		if !path.IsAbs(f.Path) || path.Clean(f.Path) == "/" {
			return fmt.Errorf("guest file %q: want an absolute path", f.Path)
		}
		data, mode := f.Data, f.Mode
		if data == nil {
			b, err := os.ReadFile(f.Source)
			if err != nil {
				return fmt.Errorf("guest file %s: %w", f.Path, err)
			}
			data = b
			if mode == 0 {
				st, err := os.Stat(f.Source)
				if err != nil {
					return err
				}
				mode = st.Mode().Perm()
			}
		}
		if mode == 0 {
			mode = 0o644
		}
		cw.File(f.Path, mode, int64(len(data)), bytes.NewReader(data))
	}
	if err := cw.Close(); err != nil {
		return err
	}
	in, err := os.Open(base)
	if err != nil {
		return fmt.Errorf("initramfs base: %w", err)
	}
	defer in.Close()
	return atomicfile.Write(dst, 0o644, func(w io.Writer) error {
		if _, err := io.Copy(w, in); err != nil {
			return err
		}
		_, err := w.Write(overlay.Bytes())
		return err
	})
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
