package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/retrobpf/retrobpf/internal/atomicfile"
)

// interruptHelper is a command that never looks at its context, stopped
// in the middle of an atomic write: what interruptible guarantees for any
// command that blocks where no context reaches.
func interruptHelper() {
	ctx, stop := interruptible(context.Background())
	defer stop()
	_ = ctx
	err := atomicfile.Write(os.Args[1], 0o644, func(w io.Writer) error {
		io.WriteString(w, "half of it")
		fmt.Println("writing")
		time.Sleep(time.Hour)
		return nil
	})
	fmt.Fprintln(os.Stderr, "the write returned:", err)
	os.Exit(0)
}

// TestSecondInterruptQuitsNow: the first SIGINT is left to the command;
// the second ends the process at once with exit 130, the write's
// temporary file removed and the old content kept.
func TestSecondInterruptQuitsNow(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.json")
	if err := os.WriteFile(out, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("retrobpf-interrupt-helper", out)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	if line, _ := bufio.NewReader(stdout).ReadString('\n'); line != "writing\n" {
		t.Fatalf("helper said %q; stderr: %s", line, stderr.String())
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-done:
		t.Fatalf("the first SIGINT ended the process (%v): the command had no chance to clean up; stderr: %s", err, stderr.String())
	case <-time.After(time.Second):
	}
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the second SIGINT did not end the process within 10s")
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted {
		t.Fatalf("exit: %v, want %d; stderr: %s", err, exitInterrupted, stderr.String())
	}
	if got := strings.TrimSpace(stderr.String()); got != "retrobpf: interrupted again: quitting now" {
		t.Errorf("stderr = %q", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("left in the output directory: %v, want out.json only", entries)
	}
	if got, _ := os.ReadFile(out); string(got) != "old\n" {
		t.Errorf("out.json = %q, want its old content", got)
	}
}

// TestInterruptStopsDownloads sends a real SIGINT to commands waiting on
// a loopback server that never answers, with timeouts far away: each stops
// within seconds with one line and exit 3, and leaves nothing in the cache
// but its lock files.
func TestInterruptStopsDownloads(t *testing.T) {
	asked := make(chan string, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked <- r.URL.Path
		<-r.Context().Done()
	}))
	defer srv.Close()

	for _, tc := range []struct {
		name string
		args []string
	}{
		{"btf fetch", []string{"btf", "fetch", "--hub", srv.URL, "--retries", "0", "--idle-timeout", "10m",
			"--os-id", "debian", "--os-version", "10", "--arch", "x86_64", "--release", "4.19.0-27-amd64"}},
		{"kernels pull", []string{"kernels", "pull", "--mirror", srv.URL + "/debian", "6.1"}},
		{"kernels resolve", []string{"kernels", "resolve", "--mirror", srv.URL + "/debian", "6.1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cache := t.TempDir()
			cmd := exec.Command("retrobpf", tc.args...)
			cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+cache, "RETROBPF_BTFHUB=", "NO_COLOR=1")
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			select {
			case <-asked:
			case <-time.After(30 * time.Second):
				t.Fatalf("never asked the server; stderr: %s", stderr.String())
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			start := time.Now()
			cmd.Process.Signal(syscall.SIGINT)
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("still running 10s after SIGINT; stderr: %s", stderr.String())
			}
			t.Logf("stopped %v after SIGINT", time.Since(start).Round(time.Millisecond))
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 3 {
				t.Fatalf("exit: %v, want 3; stderr: %s", err, stderr.String())
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			if last := lines[len(lines)-1]; !strings.HasPrefix(last, "retrobpf: interrupted: ") {
				t.Errorf("last line %q does not say it was cancelled", last)
			}
			filepath.WalkDir(cache, func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() && !strings.HasSuffix(p, ".lock") && d.Name() != ".lock" {
					t.Errorf("left in the cache: %s", p)
				}
				return nil
			})
		})
	}
}
