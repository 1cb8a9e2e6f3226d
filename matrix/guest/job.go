package guest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/retrobpf/retrobpf/compat"
	"github.com/retrobpf/retrobpf/manifest"
	"github.com/retrobpf/retrobpf/matrix/overhead"
	"github.com/retrobpf/retrobpf/reports"
)

// Job is one guest-run invocation as a single JSON document: the matrix
// writes it into the VM and `retrobpf guest-run --job FILE` decodes it,
// so a new option is a field here rather than a flag built into argv on
// one side and parsed back on the other. Paths are guest paths.
type Job struct {
	// Manifest is the suite.yaml; its objects lie beside it.
	Manifest string `json:"manifest"`
	// Ref labels the kernel in the results (default: the release).
	Ref string `json:"ref,omitempty"`
	// BTF is an external BTF file for CO-RE.
	BTF string `json:"btf,omitempty"`
	// BTFIfMissing uses BTF only when the kernel has no vmlinux BTF of
	// its own: the matrix ships a file for a kernel that may not need it.
	BTFIfMissing bool `json:"btf_if_missing,omitempty"`
	// BTFLabel is what the results call the file (where it came from on
	// the host), instead of its path inside the VM.
	BTFLabel string `json:"btf_label,omitempty"`
	// LogDir, when set, also receives the verifier logs as files.
	LogDir string `json:"log_dir,omitempty"`
	// Accel is how the VM runs ("tcg", "kvm"), marking emulated figures.
	Accel reports.Accel `json:"accel,omitempty"`
	// VerifierOnly loads only: no attach, no overhead.
	VerifierOnly bool `json:"verifier_only,omitempty"`
	// AttachOnly loads and attaches, then detaches: no triggers, no
	// overhead. Whether the attach targets exist, at a load's cost.
	AttachOnly bool `json:"attach_only,omitempty"`
	// Deterministic marks a VM whose clock counts instructions: overhead
	// figures are then in icount-ns.
	Deterministic bool `json:"deterministic,omitempty"`
	// Sysctls are written (name as in sysctl(8)) and Modules (guest
	// paths of .ko files) loaded before anything else: the kernel's
	// profile, applied by every step so each sees the same kernel.
	Sysctls map[string]string `json:"sysctls,omitempty"`
	Modules []string          `json:"modules,omitempty"`
	// HideKernelBTF covers /sys/kernel/btf with an empty tmpfs first: the
	// kernel then looks like one built without BTF to everything after.
	HideKernelBTF bool `json:"hide_kernel_btf,omitempty"`
	// NoProbe selects from the catalog by kernel version.
	NoProbe bool `json:"no_probe,omitempty"`
	// Samples is the number of overhead sample pairs (0: the default, 10).
	Samples int `json:"samples,omitempty"`
	// Programs limits the run to these programs (all if empty).
	Programs []string `json:"programs,omitempty"`
	// ProbeOnly only probes the kernel and writes the probe report.
	ProbeOnly bool `json:"probe_only,omitempty"`
	// ProbeReport is a probe report saved by an earlier step to select
	// with instead of probing (probes again if it is missing).
	ProbeReport string `json:"probe_report,omitempty"`
	// BlockDevice gives fsync triggers a loop block device; LoopModule is
	// the loop.ko to load when the kernel has no loop driver.
	BlockDevice bool   `json:"block_device,omitempty"`
	LoopModule  string `json:"loop_module,omitempty"`
	// Fault injects a fault for hostile tests: "panic" crashes the kernel
	// before anything runs (only with RETROBPF_ALLOW_CRASH=1).
	Fault string `json:"fault,omitempty"`
	// Output is where the result (or the probe report) is written.
	Output string `json:"output,omitempty"`
}

// DefaultSamples is the number of overhead sample pairs when a Job leaves
// Samples at zero; MinSamples is the fewest that give a 95% confidence
// interval.
const (
	DefaultSamples = 10
	MinSamples     = overhead.MinSamples
)

// Check reports what makes j unusable, wrapping ErrInput.
func (j *Job) Check() error {
	if j.Manifest == "" {
		return fmt.Errorf("%w: job names no manifest", ErrInput)
	}
	if j.Samples != 0 && j.Samples < MinSamples {
		return fmt.Errorf("%w: %d samples: at least %d are needed for a 95%% confidence interval", ErrInput, j.Samples, MinSamples)
	}
	if j.Fault != "" && j.Fault != "panic" {
		return fmt.Errorf("%w: fault %q: want panic", ErrInput, j.Fault)
	}
	if j.VerifierOnly && j.AttachOnly {
		return fmt.Errorf("%w: verifier-only and attach-only exclude each other", ErrInput)
	}
	if j.ProbeOnly && len(j.Programs) > 0 {
		return fmt.Errorf("%w: a probe-only job runs no programs", ErrInput)
	}
	return nil
}

// Options returns the Run options of the job for its loaded manifest m.
// target, when set, answers selection instead of a probe (the job's
// ProbeReport, once read). Keeping the mapping here, next to both types,
// makes a new option a field in Job and Options and a line below.
func (j *Job) Options(m *manifest.Manifest, target compat.Target, logf func(format string, args ...any)) Options {
	return Options{
		Suite: m, Ref: j.Ref, BTF: j.BTF, BTFIfMissing: j.BTFIfMissing, BTFLabel: j.BTFLabel,
		VerifierOnly: j.VerifierOnly, AttachOnly: j.AttachOnly, Deterministic: j.Deterministic, NoProbe: j.NoProbe,
		Samples: j.Samples, Accel: j.Accel,
		Programs: j.Programs, Target: target,
		BlockDevice: j.BlockDevice, LoopModule: j.LoopModule,
		Logf: logf,
	}
}

// Marshal encodes j as the document DecodeJob reads.
func (j *Job) Marshal() ([]byte, error) {
	if err := j.Check(); err != nil {
		return nil, err
	}
	return json.MarshalIndent(j, "", "  ")
}

// DecodeJob decodes a job document strictly: unknown fields, a second
// document after the first and a job that fails Check are all refused,
// wrapping ErrInput, so a host and guest that disagree about the format
// fail loudly instead of silently dropping an option.
func DecodeJob(data []byte) (*Job, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var j Job
	if err := dec.Decode(&j); err != nil {
		return nil, fmt.Errorf("%w: job: %v", ErrInput, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: job: data after the JSON object", ErrInput)
	}
	if err := j.Check(); err != nil {
		return nil, err
	}
	return &j, nil
}
