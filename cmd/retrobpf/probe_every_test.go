package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestProbeEvery runs probe --every for real: it writes the NFD file,
// writes it again after the interval (the file is removed in between to
// see it come back), leaves no temporary file, and SIGTERM ends it with
// exit 0.
func TestProbeEvery(t *testing.T) {
	if testing.Short() {
		t.Skip("probes the host kernel three times")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "retrobpf")
	if b, err := buildStatic(".", bin); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	featuresD := filepath.Join(dir, "features.d")
	if err := os.Mkdir(featuresD, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(featuresD, "retrobpf")
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "probe", "-f", "nfd", "-o", out, "--every", "1s", "--skip-helpers")
	cmd.Stderr = &stderr
	cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer cmd.Process.Kill()

	waitFor := func(what string) []byte {
		t.Helper()
		deadline := time.After(30 * time.Second)
		for {
			if b, err := os.ReadFile(out); err == nil {
				return b
			}
			select {
			case err := <-exited:
				t.Fatalf("probe --every exited (%v) before %s; stderr:\n%s", err, what, stderr.String())
			case <-deadline:
				t.Fatalf("no %s within 30s; stderr:\n%s", what, stderr.String())
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	first := waitFor("first write")
	if err := os.Remove(out); err != nil {
		t.Fatal(err)
	}
	second := waitFor("second write after the interval")
	for _, b := range [][]byte{first, second} {
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if l != "" && !strings.HasPrefix(l, "retrobpf.io/") {
				t.Errorf("not an NFD feature line: %q", l)
			}
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		var ee *exec.ExitError
		if errors.As(err, &ee) || err != nil {
			t.Errorf("after SIGTERM: %v, want exit 0; stderr:\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("still running 30s after SIGTERM; stderr:\n%s", stderr.String())
	}
	if !strings.Contains(stderr.String(), "probe --every: stopped") {
		t.Errorf("stderr lacks the stop line:\n%s", stderr.String())
	}
	ents, _ := os.ReadDir(featuresD)
	for _, e := range ents {
		if e.Name() != "retrobpf" {
			t.Errorf("left behind in features.d: %s", e.Name())
		}
	}
}
