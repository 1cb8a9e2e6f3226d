package vmtest

import (
	"time"

	"github.com/retrobpf/retrobpf/vmtest/initramfs"
	"github.com/retrobpf/retrobpf/vmtest/proto"
)

// Plan is the work for one VM: files to put into the initramfs and steps
// run one after the other by the agent.
type Plan struct {
	Steps []Step
	Files []File
}

// Step is one command run in the guest. Inside the guest the retrobpf
// binary is /bin/retrobpf, so any retrobpf subcommand can be a step.
type Step struct {
	Name    string
	Args    []string      // argv; Args[0] is looked up in the guest's PATH unless it has a slash
	Env     []string      // KEY=VALUE added to the agent's environment
	Dir     string        // working directory, default "/"
	Timeout time.Duration // the step's own limit; 0 = only the run deadline
	Collect []string      // guest files to bring back (StepResult.Files)
	// StopOnFailure skips the remaining steps when this one fails.
	StopOnFailure bool
}

// File is a file put into the guest at an absolute Path.
type File = initramfs.File

func (p Plan) wire() proto.Plan {
	var w proto.Plan
	for _, s := range p.Steps {
		w.Steps = append(w.Steps, proto.Step{Name: s.Name, Args: s.Args, Env: s.Env, Dir: s.Dir,
			Timeout: s.Timeout, Collect: s.Collect, StopOnFailure: s.StopOnFailure})
	}
	return w
}
