package overhead

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Trigger kinds (the manifest's trigger.kind).
const (
	KindExec    = "exec"
	KindOpen    = "open"
	KindSleep   = "sleep"
	KindConnect = "connect"
	KindFsync   = "fsync"
	KindTestRun = "test-run"
	KindCommand = "command"
)

// ErrUnknownKind is returned for a trigger kind this package cannot run.
var ErrUnknownKind = errors.New("unknown trigger kind")

// TriggerSpec describes a workload; it mirrors the manifest's trigger.
type TriggerSpec struct {
	Kind     string
	Count    int           // events per sample (default 50)
	Path     string        // exec: binary (default: a tiny exit(0) ELF); open, fsync: file (default: a temp file); command: the user's binary
	Args     []string      // exec, command: arguments
	Port     int           // connect: loopback port (0: a listener of our own)
	Duration time.Duration // sleep: nanosleep length (0: sched_yield)
}

// Trigger fires events the program under test observes.
type Trigger interface {
	// Fire runs n events.
	Fire(n int) error
	Close() error
}

// DefaultCount is the number of events per sample when the manifest gives
// none.
const DefaultCount = 50

// NewTrigger prepares the workload of spec; dir holds its scratch files.
func NewTrigger(spec TriggerSpec, dir string) (Trigger, error) {
	switch spec.Kind {
	case KindExec:
		path, args := spec.Path, spec.Args
		if path == "" {
			var err error
			if path, err = writeTinyExit(dir); err != nil {
				path, args = defaultExec()
			}
		}
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("exec trigger: %w", err)
		}
		return &execTrigger{path: path, args: args}, nil
	case KindOpen:
		path, err := scratch(spec.Path, dir, "open-trigger")
		if err != nil {
			return nil, err
		}
		return &openTrigger{path: path}, nil
	case KindFsync:
		path, err := scratch(spec.Path, dir, "fsync-trigger")
		if err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("fsync trigger: %w", err)
		}
		return &fsyncTrigger{f: f, buf: make([]byte, 4096)}, nil
	case KindSleep:
		return &sleepTrigger{d: spec.Duration}, nil
	case KindConnect:
		return newConnectTrigger(spec.Port)
	case KindCommand:
		if spec.Count <= 0 {
			return nil, fmt.Errorf("command trigger: count (the events one run makes) is required")
		}
		st, err := os.Stat(spec.Path)
		if err != nil {
			return nil, fmt.Errorf("command trigger: %w", err)
		}
		if !st.Mode().IsRegular() || st.Mode()&0o111 == 0 {
			return nil, fmt.Errorf("command trigger: %s is not an executable file", spec.Path)
		}
		return &commandTrigger{path: spec.Path, args: spec.Args, events: spec.Count}, nil
	}
	return nil, fmt.Errorf("%w %q (want exec, open, sleep, connect, fsync, test-run or command)", ErrUnknownKind, spec.Kind)
}

// defaultExec is the fallback when no tiny binary can be made: /bin/true
// where it exists (not in the guest's initramfs), else this binary's
// version command.
func defaultExec() (string, []string) {
	for _, p := range []string{"/bin/true", "/usr/bin/true"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	self, err := os.Executable()
	if err != nil {
		self = "/bin/retrobpf"
	}
	return self, []string{"version"}
}

func scratch(path, dir, name string) (string, error) {
	if path != "" {
		return path, nil
	}
	path = filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte("retrobpf trigger\n"), 0o644); err != nil {
		return "", fmt.Errorf("trigger scratch file: %w", err)
	}
	return path, nil
}

// commandTrigger runs the user's workload: one run makes events events,
// so Fire(n) runs it n/events times (at least once). Its output is kept
// for the error message when it fails.
type commandTrigger struct {
	path   string
	args   []string
	events int
}

func (t *commandTrigger) Fire(n int) error {
	runs := max(1, n/t.events)
	for range runs {
		var out headBuffer // a chatty workload must not grow our memory
		cmd := exec.Command(t.path, t.args...)
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			head := strings.TrimSpace(out.String())
			if len(head) > 200 {
				head = head[:200] + "…"
			}
			return fmt.Errorf("command %s: %w (output: %q)", t.path, err, head)
		}
	}
	return nil
}
func (t *commandTrigger) Close() error { return nil }

// headBuffer keeps the first 4 KiB written to it and drops the rest.
type headBuffer struct{ bytes.Buffer }

func (b *headBuffer) Write(p []byte) (int, error) {
	if room := 4096 - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

type execTrigger struct {
	path string
	args []string
}

func (t *execTrigger) Fire(n int) error {
	for range n {
		cmd := exec.Command(t.path, t.args...)
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("exec %s: %w", t.path, err)
		}
	}
	return nil
}
func (t *execTrigger) Close() error { return nil }

type openTrigger struct{ path string }

func (t *openTrigger) Fire(n int) error {
	for range n {
		fd, err := unix.Open(t.path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open %s: %w", t.path, err)
		}
		unix.Close(fd)
	}
	return nil
}
func (t *openTrigger) Close() error { return nil }

type fsyncTrigger struct {
	f   *os.File
	buf []byte
}

func (t *fsyncTrigger) Fire(n int) error {
	for range n {
		if _, err := t.f.WriteAt(t.buf, 0); err != nil {
			return fmt.Errorf("fsync trigger: %w", err)
		}
		if err := t.f.Sync(); err != nil {
			return fmt.Errorf("fsync trigger: %w", err)
		}
	}
	return nil
}
func (t *fsyncTrigger) Close() error { return t.f.Close() }

type sleepTrigger struct{ d time.Duration }

func (t *sleepTrigger) Fire(n int) error {
	ts := unix.NsecToTimespec(t.d.Nanoseconds())
	for range n {
		if t.d <= 0 {
			unix.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
			continue
		}
		if err := unix.Nanosleep(&ts, nil); err != nil && !errors.Is(err, unix.EINTR) {
			return err
		}
	}
	return nil
}
func (t *sleepTrigger) Close() error { return nil }

// connectTrigger connects to a loopback TCP listener; the accept side runs
// in a goroutine and closes every connection at once.
type connectTrigger struct {
	ln   net.Listener
	addr string
}

func newConnectTrigger(port int) (*connectTrigger, error) {
	t := &connectTrigger{addr: fmt.Sprintf("127.0.0.1:%d", port)}
	if port == 0 {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("connect trigger: %w", err)
		}
		t.ln, t.addr = ln, ln.Addr().String()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
	}
	return t, nil
}

func (t *connectTrigger) Fire(n int) error {
	for range n {
		c, err := net.DialTimeout("tcp4", t.addr, 5*time.Second)
		if err != nil {
			return fmt.Errorf("connect %s: %w", t.addr, err)
		}
		c.Close()
	}
	return nil
}

func (t *connectTrigger) Close() error {
	if t.ln != nil {
		return t.ln.Close()
	}
	return nil
}
