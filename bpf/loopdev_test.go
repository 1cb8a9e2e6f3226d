package bpf

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// loopModuleEnv names a loop.ko to load when the kernel has no loop driver
// yet (VM guests boot from an initramfs with no modules and no disk).
const loopModuleEnv = "RETROBPF_LOOP_MODULE"

// loopDevice attaches a loop block device to a 4 MiB file in a temporary
// directory and returns the device's path, or "" with the reason when the
// system cannot provide one. Writes to the device plus fsync are real block
// requests (loop is a blk-mq driver).
func loopDevice(t *testing.T) (string, string) {
	t.Helper()
	dev := filepath.Join(t.TempDir(), "dev")
	if err := os.Mkdir(dev, 0o755); err != nil {
		t.Fatal(err)
	}
	// A private devtmpfs has the nodes the kernel creates, whatever /dev is.
	if err := unix.Mount("devtmpfs", dev, "devtmpfs", 0, ""); err != nil {
		return "", fmt.Sprintf("mount devtmpfs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(dev, unix.MNT_DETACH) })

	ctlPath := filepath.Join(dev, "loop-control")
	if _, err := os.Stat(ctlPath); err != nil {
		mod := os.Getenv(loopModuleEnv)
		if mod == "" {
			return "", "no loop driver and no " + loopModuleEnv
		}
		b, err := os.ReadFile(mod)
		if err != nil {
			t.Fatal(err)
		}
		if err := unix.InitModule(b, ""); err != nil && !errors.Is(err, unix.EEXIST) {
			t.Fatalf("load %s: %v", mod, err)
		}
	}
	ctl, err := waitOpen(ctlPath, os.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	defer ctl.Close()
	n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
	if err != nil {
		t.Fatalf("LOOP_CTL_GET_FREE: %v", err)
	}

	backing, err := os.Create(filepath.Join(t.TempDir(), "backing"))
	if err != nil {
		t.Fatal(err)
	}
	defer backing.Close()
	if err := backing.Truncate(4 << 20); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dev, fmt.Sprintf("loop%d", n))
	d, err := waitOpen(path, os.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetInt(int(d.Fd()), unix.LOOP_SET_FD, int(backing.Fd())); err != nil {
		d.Close()
		t.Fatalf("LOOP_SET_FD %s: %v", path, err)
	}
	t.Cleanup(func() {
		unix.IoctlSetInt(int(d.Fd()), unix.LOOP_CLR_FD, 0)
		d.Close()
	})
	return path, ""
}

// waitOpen opens a device node devtmpfs may still be creating.
func waitOpen(path string, flag int) (*os.File, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		f, err := os.OpenFile(path, flag, 0)
		if err == nil || !errors.Is(err, os.ErrNotExist) || time.Now().After(deadline) {
			return f, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}
