package agent

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"golang.org/x/sys/unix"

	"github.com/retrobpf/retrobpf/vmtest/proto"
)

// ResultPort is the serial device the agent streams frames on. The host
// connects it to QEMU's second serial port; the first is the console.
const ResultPort = "/dev/ttyS1"

// testPanicEnv, set on the kernel command line (the kernel hands it to
// init's environment), makes the agent panic after Ready: the tests prove
// with it that a panic is reported and ends in a power-off, not in a
// kernel panic.
const testPanicEnv = "RETROBPF_AGENT_TEST_PANIC"

// Path is the PATH steps run with.
const Path = "/bin:/sbin:/usr/bin:/usr/sbin:/"

// Main runs the agent. It never returns.
func Main() {
	var out *proto.Writer
	defer func() {
		if r := recover(); r != nil {
			logf("agent panic: %v", r)
			if out != nil {
				sendJSON(out, proto.TypeFatal, proto.Fatal{Error: fmt.Sprint(r), Stack: string(debug.Stack())})
			}
		}
		powerOff()
	}()
	os.Setenv("PATH", Path)
	os.Setenv("HOME", "/root")
	os.Setenv("TMPDIR", "/tmp")

	port, err := openPort(ResultPort)
	if err != nil {
		// Without the result channel there is nobody to tell: the host
		// sees no Ready frame and reports an infrastructure error with the
		// console tail, which holds this line.
		logf("open %s: %v", ResultPort, err)
		return
	}
	out = proto.NewWriter(port)

	// /proc is not mounted yet: the uptime comes from the clock the kernel
	// also uses for /proc/uptime.
	sendJSON(out, proto.TypeReady, proto.Ready{Release: release(), Uptime: uptime()})
	mounts := mountAll()
	raiseLimits()
	sendJSON(out, proto.TypeSetup, proto.Setup{Mounts: mounts})
	if os.Getenv(testPanicEnv) != "" {
		panic("deliberate panic (" + testPanicEnv + ")")
	}

	plan, err := readPlan(proto.PlanPath)
	if err != nil {
		sendJSON(out, proto.TypeFatal, proto.Fatal{Error: err.Error()})
		return
	}
	n := 0
	for i, step := range plan.Steps {
		res := runStep(i, step)
		n++
		sendJSON(out, proto.TypeResult, res)
		if step.StopOnFailure && (res.ExitCode != 0 || res.Error != "") {
			break
		}
	}
	sendJSON(out, proto.TypeDone, proto.Done{Steps: n})
}

func readPlan(p string) (*proto.Plan, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	var plan proto.Plan
	if err := json.Unmarshal(b, &plan); err != nil {
		return nil, fmt.Errorf("plan %s: %w", p, err)
	}
	return &plan, nil
}

func sendJSON(w *proto.Writer, t proto.Type, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(proto.Fatal{Error: fmt.Sprintf("encode %s: %v", t, err)})
		t = proto.TypeFatal
	}
	if err := w.WriteFrame(t, b); err != nil {
		logf("send %s frame: %v", t, err)
	}
}

// logf writes to the console (the kernel gave PID 1 /dev/console as stdio).
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "retrobpf-agent: "+format+"\n", args...)
}

func release() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

func uptime() float64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return 0
	}
	return float64(ts.Nano()) / 1e9
}

// powerOff drains the result port, syncs and powers off. If the power-off
// fails it blocks forever rather than return (PID 1 exiting panics the
// kernel); the host's deadline ends the VM then.
func powerOff() {
	if port != nil {
		drain(port)
	}
	unix.Sync()
	err := unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	logf("power off: %v", err)
	for {
		time.Sleep(time.Hour)
	}
}
