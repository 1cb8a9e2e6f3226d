package inputfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

var (
	// ErrNotRegular is returned for FIFOs, sockets, devices and directories.
	ErrNotRegular = errors.New("not a regular file")
	// ErrTooLarge is returned for a file larger than the caller's cap.
	ErrTooLarge = errors.New("file too large")
)

// Size caps for the kinds of input retrobpf reads whole. They are far above
// anything real (a probe report is ~100 KB, a manifest a few KB, a matrix
// results file a few MB, the largest BPF objects of real tools ~2 MB).
const (
	MaxDocument = 64 << 20  // JSON/YAML documents: manifests, probe reports, results
	MaxObject   = 256 << 20 // BPF ELF objects
	MaxSmall    = 1 << 20   // os-release, kernel configs' single lines and the like
)

// Open opens path for reading after checking that it is a regular file of
// at most max bytes. It opens with O_NONBLOCK so that a FIFO is refused
// instead of blocking until a writer appears.
func Open(path string, max int64) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s: %w (%s)", path, ErrNotRegular, describe(st.Mode()))
	}
	if st.Size() > max {
		f.Close()
		return nil, fmt.Errorf("%s: %w: %d bytes, the limit is %d", path, ErrTooLarge, st.Size(), max)
	}
	// Regular files ignore O_NONBLOCK, but readers should not inherit it.
	if err := unix.SetNonblock(fd, false); err != nil {
		f.Close()
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return f, nil
}

// Read reads path whole under the same checks as Open. A file that grows
// past max while it is read is refused too.
func Read(path string, max int64) ([]byte, error) {
	f, err := Open(path, max)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Read into one buffer of the size the file reports, as os.ReadFile
	// does, instead of io.ReadAll's doubling: that copied a 5 MB vmlinux
	// BTF several times, which showed in btf minimize's profile.
	size := 512
	if st, err := f.Stat(); err == nil && st.Size() > 0 && st.Size() <= max {
		size = int(st.Size()) + 1 // one more byte: see the end, or growth
	}
	data := make([]byte, 0, size)
	for {
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
		n, err := f.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if int64(len(data)) > max {
			break
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: %w: more than %d bytes", path, ErrTooLarge, max)
	}
	return data, nil
}

func describe(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return m.Type().String()
}
