package loopdev

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

func TestAttachWriteRead(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount devtmpfs and attach a loop device")
	}
	dev, cleanup, err := Attach(t.TempDir(), "")
	if errors.Is(err, ErrUnavailable) {
		t.Skipf("no loop device here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	f, err := os.OpenFile(dev, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := bytes.Repeat([]byte("retrobpf"), 512)
	if _, err := f.WriteAt(want, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(want))
	if _, err := f.ReadAt(got, 0); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read back %d bytes: %v", len(got), err)
	}
	if n, _ := f.Seek(0, 2); n != 4<<20 {
		t.Fatalf("device size %d, want the 4 MiB backing file", n)
	}
}

func TestAttachWithoutDriverOrModule(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	// A module path that does not exist is an error, not a silent skip,
	// when the driver is missing; with the driver present it is unused.
	dev, cleanup, err := Attach(t.TempDir(), "/nonexistent/loop.ko")
	if err == nil {
		cleanup()
		t.Logf("loop driver present: %s attached without loading the module", dev)
		return
	}
	if errors.Is(err, ErrUnavailable) {
		t.Skipf("no devtmpfs here: %v", err)
	}
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing module: %v", err)
	}
}
