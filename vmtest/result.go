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
	Outcome Outcome      `json:"outcome"`
	Reason  string       `json:"reason,omitempty"` // one line saying why, for anything but ok
	Steps   []StepResult `json:"steps"`

	Release     string   `json:"release,omitempty"`             // uname -r reported by the agent
	MissingFS   []string `json:"missing_filesystems,omitempty"` // filesystems the kernel lacked, as "fstype: error"
	ConsoleTail string   `json:"console_tail,omitempty"`        // the last lines of the console
	ConsoleLog  string   `json:"console_log,omitempty"`         // path of the full console log; "" unless Machine.WorkDir was set

	BootToReady time.Duration `json:"boot_to_ready_ns"` // QEMU start to the agent's Ready frame (host clock)
	GuestReady  time.Duration `json:"guest_ready_ns"`   // kernel start to Ready, by the guest's CLOCK_BOOTTIME (as /proc/uptime)
	// ReadyCPU is the CPU time (user+system) QEMU had used when the Ready
	// frame arrived: under TCG the work of booting, and unlike the clocks
	// above nearly independent of other load on the host.
	ReadyCPU time.Duration `json:"ready_cpu_ns"`
	Total    time.Duration `json:"total_ns"`
	Accel    Accel         `json:"accel"` // the accelerator actually used
}

// StepResult is one step's outcome.
type StepResult struct {
	Name     string            `json:"name"`
	ExitCode int               `json:"exit_code"` // -1 when the process did not exit normally
	Stdout   []byte            `json:"stdout,omitempty"`
	Stderr   []byte            `json:"stderr,omitempty"`
	Files    map[string][]byte `json:"files,omitempty"`
	Duration time.Duration     `json:"duration_ns"`
	TimedOut bool              `json:"timed_out,omitempty"`
	Error    string            `json:"error,omitempty"` // could not start, killed by a signal, a file not collected
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
