package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/retrobpf/retrobpf/vmtest/proto"
)

// maxOutput bounds what is kept of a step's stdout and stderr each; the
// rest is dropped with a note, so a runaway step cannot exhaust guest
// memory or the serial line.
const maxOutput = 16 << 20

func runStep(i int, s proto.Step) proto.StepResult {
	res := proto.StepResult{Index: i, Name: s.Name, ExitCode: -1}
	if len(s.Args) == 0 {
		res.Error = "step has no command"
		return res
	}
	ctx := context.Background()
	if s.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.Timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, s.Args[0], s.Args[1:]...)
	cmd.Env = append(os.Environ(), s.Env...)
	cmd.Dir = s.Dir
	if cmd.Dir == "" {
		cmd.Dir = "/"
	}
	stdout, stderr := &capped{max: maxOutput}, &capped{max: maxOutput}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// A process group of its own, so a timeout kills the step's children.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second

	start := time.Now()
	err := cmd.Run()
	res.Duration = time.Since(start)
	res.Stdout, res.Stderr = stdout.bytes(), stderr.bytes()
	var ee *exec.ExitError
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		res.TimedOut = true
		res.Error = fmt.Sprintf("timed out after %s", s.Timeout)
	case errors.As(err, &ee):
		res.ExitCode = ee.ExitCode()
		if st, ok := ee.Sys().(syscall.WaitStatus); ok && st.Signaled() {
			res.Error = "killed by " + st.Signal().String()
		}
	case err != nil:
		res.Error = err.Error()
	default:
		res.ExitCode = 0
	}
	for _, p := range s.Collect {
		b, err := os.ReadFile(p)
		if err != nil {
			res.Error = joinErr(res.Error, fmt.Sprintf("collect %s: %v", p, err))
			continue
		}
		if res.Files == nil {
			res.Files = map[string][]byte{}
		}
		res.Files[p] = b
	}
	reap()
	return res
}

func joinErr(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// reap collects orphans re-parented to PID 1 by finished steps.
func reap() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}

type capped struct {
	buf     bytes.Buffer
	max     int
	dropped int
}

func (c *capped) Write(p []byte) (int, error) {
	room := c.max - c.buf.Len()
	if room >= len(p) {
		return c.buf.Write(p)
	}
	if room > 0 {
		c.buf.Write(p[:room])
	}
	c.dropped += len(p) - max(room, 0)
	return len(p), nil
}

func (c *capped) bytes() []byte {
	if c.dropped > 0 {
		fmt.Fprintf(&c.buf, "\n[retrobpf: %d more bytes dropped]\n", c.dropped)
	}
	return c.buf.Bytes()
}
