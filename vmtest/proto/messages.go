package proto

import "time"

// PlanPath is where the host puts the plan in the initramfs.
const PlanPath = "/plan.json"

// Plan is the agent's work: steps run one after the other.
type Plan struct {
	Steps []Step `json:"steps"`
}

// Step is one command to run in the guest.
type Step struct {
	Name    string        `json:"name"`
	Args    []string      `json:"args"`              // argv; Args[0] is looked up in PATH unless it has a slash
	Env     []string      `json:"env,omitempty"`     // KEY=VALUE added to the agent's environment
	Dir     string        `json:"dir,omitempty"`     // working directory, default "/"
	Timeout time.Duration `json:"timeout,omitempty"` // 0: no limit of its own (the host's run deadline still holds)
	Collect []string      `json:"collect,omitempty"` // guest files to send back after the step
	// StopOnFailure skips the remaining steps when this one fails.
	StopOnFailure bool `json:"stop_on_failure,omitempty"`
}

// Ready is the agent's first frame, sent the moment it runs (boot timing).
type Ready struct {
	Release string  `json:"release"` // uname -r
	Uptime  float64 `json:"uptime"`  // seconds since the kernel started (/proc/uptime)
}

// Setup follows Ready once the agent has mounted the pseudo filesystems.
type Setup struct {
	Mounts []Mount `json:"mounts,omitempty"` // what was mounted, and what the kernel lacked
}

// Mount records one filesystem the agent tried to mount.
type Mount struct {
	Target string `json:"target"`
	FSType string `json:"fstype"`
	Error  string `json:"error,omitempty"` // e.g. "no such device": the kernel lacks the filesystem
}

// StepResult is one finished step.
type StepResult struct {
	Index    int               `json:"index"`
	Name     string            `json:"name"`
	ExitCode int               `json:"exit_code"` // -1 when the process did not exit normally
	Stdout   []byte            `json:"stdout,omitempty"`
	Stderr   []byte            `json:"stderr,omitempty"`
	Files    map[string][]byte `json:"files,omitempty"`
	Duration time.Duration     `json:"duration"`
	TimedOut bool              `json:"timed_out,omitempty"`
	Error    string            `json:"error,omitempty"` // why it could not start, or a signal
}

// Done ends the stream.
type Done struct {
	Steps int `json:"steps"` // how many steps ran
}

// Fatal reports the agent's own failure.
type Fatal struct {
	Error string `json:"error"`
	Stack string `json:"stack,omitempty"`
}
