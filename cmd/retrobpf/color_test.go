package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY returns a pseudo-terminal's controller and its terminal end.
func openPTY(t *testing.T) (ctl, tty *os.File) {
	t.Helper()
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	ctl = os.NewFile(uintptr(fd), "/dev/ptmx")
	t.Cleanup(func() { ctl.Close() })
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tty.Close() })
	return ctl, tty
}

// checkOnTTY runs check with stdout on a terminal and returns what the
// terminal received.
func checkOnTTY(t *testing.T, noColor string) string {
	ctl, tty := openPTY(t)
	t.Setenv("NO_COLOR", noColor)
	stdout := os.Stdout
	os.Stdout = tty
	code := run([]string{"retrobpf", "check", "--kernel", "4.19", filepath.Join("..", "..", "compat", "testdata", "ringbuf_tp.o"), filepath.Join("..", "..", "compat", "testdata", "xdp_pass.o")})
	os.Stdout = stdout
	tty.Close()
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	var out strings.Builder
	buf := make([]byte, 1<<16)
	for {
		n, err := ctl.Read(buf)
		out.Write(buf[:n])
		if err != nil || n == 0 {
			break
		}
	}
	return out.String()
}

func TestColorOnTerminal(t *testing.T) {
	out := checkOnTTY(t, "")
	if !strings.Contains(out, "\x1b[31m✗ INCOMPATIBLE\x1b[0m") || !strings.Contains(out, "\x1b[32m✔ COMPATIBLE\x1b[0m") {
		t.Fatalf("no coloured verdicts on a terminal:\n%q", out)
	}
	if out := checkOnTTY(t, "1"); strings.Contains(out, "\x1b[") || !strings.Contains(out, "INCOMPATIBLE") {
		t.Fatalf("NO_COLOR=1 still coloured:\n%q", out)
	}
}
