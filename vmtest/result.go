package vmtest

import (
	"fmt"
	"time"
)

// Outcome classifies how a run ended.
type Outcome string

// Outcomes.
const (
	OutcomeOK          Outcome = "ok"           // every step ran and exited 0
	OutcomeFailed      Outcome = "failed"       // a step exited non-zero, timed out or could not start
	OutcomeKernelPanic Outcome = "kernel-panic" // "Kernel panic" on the console
	OutcomeOops        Outcome = "oops"         // "Oops:" or "BUG:" on the console (oops=panic stops the VM)
	OutcomeTimeout     Outcome = "timeout"      // boot or run deadline passed
	OutcomeInfraError  Outcome = "infra-error"  // QEMU missing or crashed, agent never reported
)

// Result is what one VM run produced.
type Result struct {
	Outcome Outcome
	Reason  string // one line saying why, for anything but ok
	Steps   []StepResult

	Release     string   // uname -r reported by the agent
	Mounts      []string // filesystems the kernel lacked, as "fstype: error"
	ConsoleTail string   // the last lines of the console
	ConsoleLog  string   // path of the full console log; "" unless Machine.WorkDir was set

	BootToReady time.Duration // QEMU start to the agent's Ready frame (host clock)
	GuestReady  time.Duration // kernel start to Ready, by the guest's /proc/uptime
	Total       time.Duration
	Accel       Accel // the accelerator actually used
}

// StepResult is one step's outcome.
type StepResult struct {
	Name     string
	ExitCode int // -1 when the process did not exit normally
	Stdout   []byte
	Stderr   []byte
	Files    map[string][]byte
	Duration time.Duration
	TimedOut bool
	Error    string // could not start, killed by a signal, a file not collected
}

// Failed reports whether the step did not run to a zero exit.
func (s StepResult) Failed() bool { return s.ExitCode != 0 || s.TimedOut || s.Error != "" }

// Err returns nil for OutcomeOK and otherwise an error naming the outcome
// and reason.
func (r *Result) Err() error {
	if r.Outcome == OutcomeOK {
		return nil
	}
	return fmt.Errorf("%s: %s", r.Outcome, r.Reason)
}
