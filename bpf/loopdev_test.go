package bpf

import (
	"errors"
	"os"
	"testing"

	"github.com/retrobpf/retrobpf/internal/loopdev"
)

// loopModuleEnv names a loop.ko to load when the kernel has no loop driver
// yet (VM guests boot from an initramfs with no modules and no disk).
const loopModuleEnv = "RETROBPF_LOOP_MODULE"

// loopDevice attaches a loop block device (internal/loopdev) for the test
// and returns its path, or "" with the reason when the system cannot
// provide one. Writes to the device plus fsync are real block requests.
func loopDevice(t *testing.T) (string, string) {
	t.Helper()
	dev, cleanup, err := loopdev.Attach(t.TempDir(), os.Getenv(loopModuleEnv))
	if errors.Is(err, loopdev.ErrUnavailable) {
		return "", err.Error()
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	return dev, ""
}
