package initramfs

import (
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
)

// Writer writes a newc ("070701") cpio archive. Names are relative to the
// archive root ("bin/retrobpf"); a leading slash is dropped. Missing parent
// directories are added automatically (the kernel's unpacker does not create
// them).
type Writer struct {
	w    io.Writer
	n    int64 // bytes written
	ino  uint32
	dirs map[string]bool
	err  error
}

// NewWriter returns a Writer on w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: w, ino: 1000, dirs: map[string]bool{".": true, "": true}}
}

// Unix file type bits as stored in the cpio mode field.
const (
	modeDir     = 0o040000
	modeFile    = 0o100000
	modeSymlink = 0o120000
	modeCharDev = 0o020000
)

// Dir adds a directory.
func (w *Writer) Dir(name string, perm fs.FileMode) error {
	name = clean(name)
	if w.dirs[name] {
		return w.err
	}
	if err := w.parents(name); err != nil {
		return err
	}
	w.dirs[name] = true
	return w.entry(name, modeDir|unixPerm(perm), 0, 0, nil, 0)
}

// File adds a regular file with the contents of r (exactly size bytes).
func (w *Writer) File(name string, perm fs.FileMode, size int64, r io.Reader) error {
	name = clean(name)
	if err := w.parents(name); err != nil {
		return err
	}
	return w.entry(name, modeFile|unixPerm(perm), 0, 0, r, size)
}

// Symlink adds a symbolic link name pointing to target.
func (w *Writer) Symlink(name, target string) error {
	name = clean(name)
	if err := w.parents(name); err != nil {
		return err
	}
	return w.entry(name, modeSymlink|0o777, 0, 0, strings.NewReader(target), int64(len(target)))
}

// CharDev adds a character device node.
func (w *Writer) CharDev(name string, perm fs.FileMode, major, minor uint32) error {
	name = clean(name)
	if err := w.parents(name); err != nil {
		return err
	}
	return w.entry(name, modeCharDev|unixPerm(perm), major, minor, nil, 0)
}

// Close writes the trailer. It does not close the underlying writer. The
// archive's length is a multiple of 4, so another archive may follow.
func (w *Writer) Close() error {
	return w.entry("TRAILER!!!", 0, 0, 0, nil, 0)
}

func clean(name string) string {
	return strings.TrimPrefix(path.Clean("/"+name), "/")
}

func (w *Writer) parents(name string) error {
	dir := path.Dir(name)
	if w.dirs[dir] {
		return w.err
	}
	return w.Dir(dir, 0o755)
}

func (w *Writer) entry(name string, mode, rmajor, rminor uint32, data io.Reader, size int64) error {
	if w.err != nil {
		return w.err
	}
	if size > 0xffffffff {
		w.err = fmt.Errorf("cpio: %s: %d bytes is too large for newc", name, size)
		return w.err
	}
	w.ino++
	nlink := uint32(1)
	if mode&0o170000 == modeDir {
		nlink = 2
	}
	hdr := fmt.Sprintf("070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		w.ino, mode, 0, 0, nlink, 0, size, 0, 0, rmajor, rminor, len(name)+1, 0)
	w.write([]byte(hdr + name + "\x00"))
	w.pad()
	if data != nil {
		n, err := io.CopyN(w.w, data, size)
		w.n += n
		if err != nil && w.err == nil {
			w.err = fmt.Errorf("cpio: %s: %w", name, err)
		}
		w.pad()
	}
	return w.err
}

func (w *Writer) write(b []byte) {
	if w.err != nil {
		return
	}
	n, err := w.w.Write(b)
	w.n += int64(n)
	w.err = err
}

func (w *Writer) pad() {
	if r := w.n % 4; r != 0 {
		w.write(make([]byte, 4-r))
	}
}

// unixPerm converts Go's permission and special bits to the Unix ones.
func unixPerm(m fs.FileMode) uint32 {
	p := uint32(m.Perm())
	if m&fs.ModeSticky != 0 {
		p |= 0o1000
	}
	if m&fs.ModeSetgid != 0 {
		p |= 0o2000
	}
	if m&fs.ModeSetuid != 0 {
		p |= 0o4000
	}
	return p
}
