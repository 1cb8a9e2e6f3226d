package vmtest

import (
	"github.com/retrobpf/retrobpf/internal/cache"

	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/retrobpf/retrobpf/vmtest/initramfs"
	"github.com/retrobpf/retrobpf/vmtest/kernels"
	"github.com/retrobpf/retrobpf/vmtest/proto"
)

// ErrInput marks errors in the caller's input (no kernel, a missing file,
// a relative guest path): nothing was booted.
var ErrInput = errors.New("invalid VM input")

// powerOffGrace is how long QEMU may take to exit after the agent's Done
// frame before it is killed.
const powerOffGrace = 15 * time.Second

// Run boots m.Kernel with the agent and runs p. The error is non-nil only
// for bad input (wrapping ErrInput); whatever happens to the VM, QEMU
// included, is described by the Result. Cancelling ctx kills QEMU and
// removes the temporary files.
func Run(ctx context.Context, m Machine, p Plan) (*Result, error) {
	start := time.Now()
	if err := checkInput(m, p); err != nil {
		return nil, err
	}
	accel := m.Accel
	if m.Icount {
		if accel == AccelKVM {
			return nil, fmt.Errorf("%w: instruction counting (icount) needs TCG, not KVM", ErrInput)
		}
		accel = AccelTCG
	}
	if accel == "" || accel == AccelAuto {
		accel = DetectAccel(ctx, m)
	}
	m = m.withDefaults(accel)
	res := &Result{Accel: accel}
	defer func() { res.Total = time.Since(start) }()

	dir := m.WorkDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "retrobpf-vm-*")
		if err != nil {
			return res.infra("work dir: %v", err), nil
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return res.infra("work dir: %v", err), nil
	}

	p.Files = withKernelConfig(m.Kernel, p.Files)
	image, err := buildImage(m, p, dir)
	if err != nil {
		return res.infra("initramfs: %v", err), nil
	}
	consoleLog := filepath.Join(dir, "console.log")
	if m.WorkDir != "" {
		res.ConsoleLog = consoleLog
	}
	vm := &qemu{m: m, accel: accel, image: image, console: consoleLog}
	vm.run(ctx, res)
	return res, nil
}

// withKernelConfig puts the kernel's config where probes look for it
// (/boot/config-RELEASE), so the guest reads it like a distribution system
// would. This is the only place that adds it: every VM gets it, and a
// plan that already ships that path keeps its own.
func withKernelConfig(k *kernels.Kernel, files []File) []File {
	if k.Config == "" || k.Release == "" {
		return files
	}
	if _, err := os.Stat(k.Config); err != nil {
		return files
	}
	path := "/boot/config-" + k.Release
	for _, f := range files {
		if filepath.Clean(f.Path) == path {
			return files
		}
	}
	return append([]File{{Path: path, Source: k.Config}}, files...)
}

func checkInput(m Machine, p Plan) error {
	if m.Kernel == nil || m.Kernel.Vmlinuz == "" {
		return fmt.Errorf("no kernel: %w", ErrInput)
	}
	if _, err := os.Stat(m.Kernel.Vmlinuz); err != nil {
		return fmt.Errorf("kernel %s: %w: %v", m.Kernel.Vmlinuz, ErrInput, err)
	}
	if _, err := ParseAccel(string(m.Accel)); err != nil {
		return fmt.Errorf("%w: %v", ErrInput, err)
	}
	seen := map[string]bool{}
	for _, f := range p.Files {
		if !filepath.IsAbs(f.Path) || filepath.Clean(f.Path) == "/" {
			return fmt.Errorf("guest file %q: not an absolute path: %w", f.Path, ErrInput)
		}
		clean := filepath.Clean(f.Path)
		if reservedPaths[clean] {
			return fmt.Errorf("guest file %s: the path is the agent's own: %w", f.Path, ErrInput)
		}
		if seen[clean] {
			return fmt.Errorf("guest file %s given twice: %w", f.Path, ErrInput)
		}
		seen[clean] = true
		if f.Data == nil {
			if _, err := os.Stat(f.Source); err != nil {
				return fmt.Errorf("file %s: %w: %v", f.Source, ErrInput, err)
			}
		}
	}
	for i, s := range p.Steps {
		if len(s.Args) == 0 {
			return fmt.Errorf("step %d (%s) has no command: %w", i, s.Name, ErrInput)
		}
	}
	return nil
}

// reservedPaths are the initramfs entries a plan file must not replace:
// the agent, its /init link, the plan and the directories of the base.
var reservedPaths = map[string]bool{
	"/init": true, "/plan.json": true, "/bin": true, "/bin/retrobpf": true, "/dev": true,
	"/proc": true, "/sys": true, "/tmp": true, "/run": true, "/etc": true, "/root": true,
	"/sbin": true, "/usr": true, "/usr/bin": true, "/var": true, "/mnt": true,
}

func buildImage(m Machine, p Plan, dir string) (string, error) {
	agent := m.Agent
	if agent == "" {
		exe, err := os.Executable()
		if err != nil {
			return "", fmt.Errorf("find own executable: %w", err)
		}
		agent = exe
	}
	base, err := initramfs.Base(filepath.Join(cacheDir(m), "initramfs"), agent)
	if err != nil {
		return "", err
	}
	plan, err := json.Marshal(p.wire())
	if err != nil {
		return "", err
	}
	image := filepath.Join(dir, "initramfs.cpio")
	return image, initramfs.Write(image, base, plan, p.Files)
}

// cacheDir is Machine.CacheDir or $XDG_CACHE_HOME/retrobpf.
func cacheDir(m Machine) string {
	if m.CacheDir != "" {
		return m.CacheDir
	}
	d, err := cache.Root()
	if err != nil {
		return filepath.Join(os.TempDir(), "retrobpf")
	}
	return d
}

func (r *Result) infra(format string, args ...any) *Result {
	r.Outcome = OutcomeInfraError
	r.Reason = fmt.Sprintf(format, args...)
	return r
}

// qemu is one VM run.
type qemu struct {
	m       Machine
	accel   Accel
	image   string
	console string
}

// Cmdline is the kernel command line before Machine.Cmdline: console on
// the first serial port, QEMU exits on any panic (-no-reboot + panic=-1),
// an oops is a panic, and the initramfs's /init is the agent.
// no_timer_check: under TCG on a loaded host the IO-APIC timer check can
// miss its ticks and panic ("IO-APIC + timer doesn't work!"); seen in CI.
const Cmdline = "console=ttyS0 panic=-1 oops=panic quiet rdinit=/init no_timer_check"

func (q *qemu) args() []string {
	a := []string{"-nodefaults", "-nographic", "-no-reboot"}
	if q.accel == AccelKVM {
		a = append(a, "-accel", "kvm")
	} else {
		a = append(a, "-accel", "tcg")
		if q.m.Icount {
			a = append(a, "-icount", "shift=0,sleep=off")
		}
	}
	a = append(a, "-cpu", q.m.CPU)
	cmdline := Cmdline
	if q.m.Cmdline != "" {
		cmdline += " " + q.m.Cmdline
	}
	return append(a,
		"-m", fmt.Sprint(q.m.MemoryMB), "-smp", fmt.Sprint(q.m.CPUs),
		"-kernel", q.m.Kernel.Vmlinuz, "-initrd", q.image, "-append", cmdline,
		"-serial", "file:"+strings.ReplaceAll(q.console, ",", ",,"),
		"-serial", "stdio")
}

type event struct {
	frame proto.Frame
	at    time.Time
}

func (q *qemu) run(ctx context.Context, res *Result) {
	start := time.Now()
	cmd := exec.Command(q.m.QEMU, q.args()...)
	// Our own pipe, not StdoutPipe: Wait must not close it while frames
	// are still buffered in it. EOF comes when QEMU exits.
	pr, pw, err := os.Pipe()
	if err != nil {
		res.infra("pipe: %v", err)
		return
	}
	defer pr.Close()
	cmd.Stdout = pw
	stderr := &tailBuffer{max: 8 << 10}
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		pw.Close()
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			res.infra("QEMU not found: %v (install qemu-system-x86)", err)
		} else {
			res.infra("start QEMU: %v", err)
		}
		return
	}
	pw.Close()

	events := make(chan event, 16)
	var corrupt int
	go func() {
		defer close(events)
		r := proto.NewReader(pr)
		for {
			f, err := r.Next()
			if errors.Is(err, proto.ErrCorrupt) || errors.Is(err, proto.ErrTooLarge) {
				corrupt++
				continue
			}
			if err != nil {
				return
			}
			events <- event{f, time.Now()}
		}
	}()

	deadline := time.NewTimer(q.m.BootTimeout)
	defer deadline.Stop()
	var (
		ready, done, killed bool
		timedOut, canceled  string
		fatal               *proto.Fatal
		results             []proto.StepResult
	)
	kill := func() {
		if !killed {
			killed = true
			cmd.Process.Kill()
		}
	}
	for events != nil {
		select {
		case ev, ok := <-events:
			if !ok {
				events = nil
				break
			}
			switch ev.frame.Type {
			case proto.TypeReady:
				var r proto.Ready
				json.Unmarshal(ev.frame.Payload, &r)
				ready = true
				res.BootToReady = ev.at.Sub(start)
				res.ReadyCPU = processCPU(cmd.Process.Pid)
				res.Release = r.Release
				res.GuestReady = time.Duration(r.Uptime * float64(time.Second))
				deadline.Reset(q.m.RunTimeout)
			case proto.TypeSetup:
				var r proto.Setup
				json.Unmarshal(ev.frame.Payload, &r)
				for _, m := range r.Mounts {
					if m.Error != "" {
						res.MissingFS = append(res.MissingFS, m.FSType+": "+m.Error)
					}
				}
			case proto.TypeResult:
				var r proto.StepResult
				if err := json.Unmarshal(ev.frame.Payload, &r); err != nil {
					fatal = &proto.Fatal{Error: "undecodable step result: " + err.Error()}
					break
				}
				results = append(results, r)
			case proto.TypeDone:
				done = true
				deadline.Reset(powerOffGrace)
			case proto.TypeFatal:
				fatal = &proto.Fatal{}
				json.Unmarshal(ev.frame.Payload, fatal)
			}
		case <-deadline.C:
			switch {
			case done:
				// Everything arrived; the power-off just hangs.
			case ready:
				timedOut = fmt.Sprintf("run deadline %s passed after %d of the steps", q.m.RunTimeout, len(results))
			default:
				timedOut = fmt.Sprintf("boot deadline %s passed before the agent was ready", q.m.BootTimeout)
			}
			kill()
		case <-ctx.Done():
			canceled = ctx.Err().Error()
			kill()
			ctx = context.Background() // stop selecting on it
		}
	}
	waitErr := cmd.Wait()

	for _, r := range results {
		res.Steps = append(res.Steps, StepResult{Name: r.Name, ExitCode: r.ExitCode, Stdout: r.Stdout,
			Stderr: r.Stderr, Files: r.Files, Duration: r.Duration, TimedOut: r.TimedOut, Error: r.Error})
	}
	console, _ := readTail(q.console, 256<<10)
	res.ConsoleTail = consoleTail(console, 40)
	outcome, reason := classify(console)
	switch {
	case outcome != "":
		res.Outcome, res.Reason = outcome, reason
	case canceled != "":
		res.infra("canceled: %s", canceled)
	case timedOut != "":
		res.Outcome, res.Reason = OutcomeTimeout, timedOut
	case fatal != nil:
		res.infra("agent failed: %s", fatal.Error)
	case !ready:
		res.infra("QEMU exited (%v) before the agent was ready%s", exitStatus(waitErr), stderrNote(stderr))
	case !done:
		res.infra("QEMU exited (%v) after %d steps without the agent's final report%s", exitStatus(waitErr), len(results), stderrNote(stderr))
	default:
		res.Outcome = OutcomeOK
		for i, s := range res.Steps {
			if s.Failed() {
				res.Outcome = OutcomeFailed
				res.Reason = fmt.Sprintf("step %d (%s) failed: %s", i, s.Name, s.describe())
				break
			}
		}
	}
	if corrupt > 0 && res.Outcome != OutcomeOK {
		res.Reason += fmt.Sprintf(" (%d corrupt frames dropped)", corrupt)
	}
}

func (s StepResult) describe() string {
	var parts []string
	if s.TimedOut || s.ExitCode != -1 || s.Error == "" {
		parts = append(parts, fmt.Sprintf("exit code %d", s.ExitCode))
	}
	if s.Error != "" {
		parts = append(parts, s.Error)
	}
	return strings.Join(parts, ", ")
}

func exitStatus(err error) string {
	if err == nil {
		return "status 0"
	}
	return err.Error()
}

func stderrNote(b *tailBuffer) string {
	s := strings.TrimSpace(b.String())
	if s == "" {
		return ""
	}
	return ": " + lastLines(s, 1)
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.b) }

func readTail(path string, max int64) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > max {
		f.Seek(-max, io.SeekEnd)
	}
	b, err := io.ReadAll(f)
	return string(b), err
}

// processCPU returns the user+system CPU time of a running process, from
// /proc/PID/stat (fields 14 and 15, in clock ticks of 1/100 s on Linux).
func processCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0
	}
	var utime, stime int64
	fmt.Sscan(f[11], &utime)
	fmt.Sscan(f[12], &stime)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}
