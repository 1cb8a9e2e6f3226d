// Package loopdev attaches a loop block device inside a VM guest, which
// has no disk: writes plus fsync to it are real block requests, so
// programs on the block layer run. Used by the matrix's guest run and by
// the bpf package's in-kernel tests.
package loopdev

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// ErrUnavailable means the system cannot provide a loop device (no
// devtmpfs, no loop driver and no module to load): a reason to skip, not
// a failure.
var ErrUnavailable = errors.New("no loop device available")

// Attach attaches a loop block device to a 4 MiB file under dir and
// returns its path and a cleanup. A VM guest has no disk: without a block
// device the fsync trigger never reaches the block layer and programs on
// block tracepoints never run. Writes to the device plus fsync are real
// block requests (loop is a blk-mq driver). module is a loop.ko to load
// when the kernel has no loop driver yet ("" to not try).
func Attach(dir, module string) (string, func(), error) {
	dev := filepath.Join(dir, "dev")
	if err := os.MkdirAll(dev, 0o755); err != nil {
		return "", nil, err
	}
	// A private devtmpfs has the nodes the kernel creates, whatever /dev is.
	if err := unix.Mount("devtmpfs", dev, "devtmpfs", 0, ""); err != nil {
		return "", nil, fmt.Errorf("%w: mount devtmpfs: %w", ErrUnavailable, err)
	}
	cleanups := []func(){func() { unix.Unmount(dev, unix.MNT_DETACH) }}
	cleanup := func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	fail := func(err error) (string, func(), error) { cleanup(); return "", nil, err }

	ctlPath := filepath.Join(dev, "loop-control")
	if _, err := os.Stat(ctlPath); err != nil {
		if module == "" {
			return fail(fmt.Errorf("%w: the kernel has no loop driver and no loop.ko was shipped", ErrUnavailable))
		}
		b, err := os.ReadFile(module)
		if err != nil {
			return fail(err)
		}
		if err := unix.InitModule(b, ""); err != nil && !errors.Is(err, unix.EEXIST) {
			return fail(fmt.Errorf("load %s: %w", module, err))
		}
	}
	ctl, err := waitOpen(ctlPath)
	if err != nil {
		return fail(err)
	}
	defer ctl.Close()
	n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
	if err != nil {
		return fail(fmt.Errorf("LOOP_CTL_GET_FREE: %w", err))
	}
	backing, err := os.Create(filepath.Join(dir, "loop-backing"))
	if err != nil {
		return fail(err)
	}
	defer backing.Close()
	if err := backing.Truncate(4 << 20); err != nil {
		return fail(err)
	}
	path := filepath.Join(dev, fmt.Sprintf("loop%d", n))
	d, err := waitOpen(path)
	if err != nil {
		return fail(err)
	}
	if err := unix.IoctlSetInt(int(d.Fd()), unix.LOOP_SET_FD, int(backing.Fd())); err != nil {
		d.Close()
		return fail(fmt.Errorf("LOOP_SET_FD %s: %w", path, err))
	}
	cleanups = append(cleanups, func() {
		unix.IoctlSetInt(int(d.Fd()), unix.LOOP_CLR_FD, 0)
		d.Close()
	})
	return path, cleanup, nil
}

// waitOpen opens a device node devtmpfs may still be creating.
func waitOpen(path string) (*os.File, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err == nil || !errors.Is(err, os.ErrNotExist) || time.Now().After(deadline) {
			return f, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}
