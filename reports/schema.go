package reports

import (
	"fmt"
	"time"

	"github.com/retrobpf/retrobpf/internal/kversion"
)

// SchemaVersion is the version of the results schema this package reads
// and writes. It changes only on incompatible changes; adding an optional
// field keeps it.
const SchemaVersion = 1

// Results is one matrix run (or one shard of it): every kernel, every
// program variant loaded on it, and what it cost.
type Results struct {
	// SchemaVersion is always SchemaVersion (1).
	SchemaVersion int `json:"schema_version"`
	// Tool identifies the producer.
	Tool Tool `json:"tool"`
	// CreatedAt is when the run started (UTC).
	CreatedAt time.Time `json:"created_at"`
	// Manifest describes the suite that was run.
	Manifest Manifest `json:"manifest"`
	// Shard is set when this document holds one share of a sharded run;
	// Merge clears it.
	Shard *Shard `json:"shard,omitempty"`
	// Kernels holds one entry per kernel, in the order they were requested.
	// A kernel that has not finished yet is absent (results are persisted
	// per kernel as they arrive).
	Kernels []KernelResult `json:"kernels"`
}

// Tool names the program that produced a Results document.
type Tool struct {
	Name    string `json:"name"`              // "retrobpf"
	Version string `json:"version,omitempty"` // its version string
}

// Shard is the i-th (1-based) of Total shares of a run.
type Shard struct {
	Index int `json:"index"`
	Total int `json:"total"`
}

// Manifest identifies the suite (bpf/suite.yaml) that was run.
type Manifest struct {
	// Path is the manifest file as given on the command line.
	Path string `json:"path"`
	// SHA256 is the hex digest of the manifest file; Merge refuses to join
	// shards of different manifests.
	SHA256 string `json:"sha256,omitempty"`
	// Programs lists every program and its variants in preference order, so
	// reports can show rows even for kernels where nothing ran.
	Programs []ManifestProgram `json:"programs,omitempty"`
}

// ManifestProgram is one program of the manifest.
type ManifestProgram struct {
	Name     string   `json:"name"`
	Trigger  string   `json:"trigger,omitempty"` // trigger kind: exec, open, sleep, connect, fsync, test-run
	Variants []string `json:"variants"`          // in preference order
}

// Accel is how the VM executed: under KVM or emulated by TCG.
type Accel string

// Accelerators.
const (
	AccelTCG Accel = "tcg"
	AccelKVM Accel = "kvm"
)

// Outcome is how the run on one kernel ended.
type Outcome string

// Kernel outcomes. Only OutcomeOK means every step ran; the others keep what
// finished before the problem.
const (
	OutcomeOK          Outcome = "ok"           // every step ran (programs may still be rejected)
	OutcomeFailed      Outcome = "failed"       // a step failed (e.g. selection disagreed with the loads)
	OutcomeKernelPanic Outcome = "kernel-panic" // the guest kernel panicked
	OutcomeOops        Outcome = "oops"         // the guest kernel oopsed but kept running
	OutcomeTimeout     Outcome = "timeout"      // the VM did not finish in time
	OutcomeInfraError  Outcome = "infra-error"  // QEMU, kernel download, BTF, …: nothing to say about the programs
)

// KernelResult is everything measured on one kernel.
type KernelResult struct {
	// Ref is the kernel as requested: "6.1", "oci:…", "file:…". It is the
	// join key between runs.
	Ref string `json:"ref"`
	// Release is the guest's `uname -r`.
	Release string `json:"release,omitempty"`
	// Version is the kernel version (major.minor.patch).
	Version kversion.Version `json:"version"`
	// Accel is tcg or kvm ("" when the VM never started); Emulated is true
	// under TCG (absolute times are emulated then: compare ratios within
	// one VM only).
	Accel    Accel `json:"accel"`
	Emulated bool  `json:"emulated"`
	// Outcome says how the run ended; Error explains any outcome but ok.
	Outcome Outcome `json:"outcome"`
	Error   string  `json:"error,omitempty"`
	// ConsoleTail is the last lines of the guest console (bounded), kept
	// for panics, oopses and timeouts.
	ConsoleTail string `json:"console_tail,omitempty"`
	// BootSeconds is the time from QEMU start to the agent's first frame;
	// WallSeconds the whole VM lifetime.
	BootSeconds *float64 `json:"boot_seconds,omitempty"`
	WallSeconds *float64 `json:"wall_seconds,omitempty"`
	// Phases is where the wall time went, in order: "boot" (to the
	// agent's first frame), one entry per guest step ("probe", then each
	// program), and "other" (uploads, teardown, what no step measured).
	Phases []Phase `json:"phases,omitempty"`
	// BTFSource says where kernel BTF came from: "vmlinux"
	// (/sys/kernel/btf/vmlinux), "file:PATH" (--btf), "env:PATH"
	// ($RETROBPF_BTF), "btfhub:PATH" (the BTF cache), or "none".
	BTFSource string `json:"btf_source,omitempty"`
	// Profile is how this kernel was booted when it is not as packaged
	// (boot parameters, sysctls, modules); Ref is then the profile's name.
	Profile *Profile `json:"profile,omitempty"`
	// Lockdown is the kernel's lockdown mode when it is not "none"
	// (integrity, confidentiality): it denies programs kernel reads.
	Lockdown string `json:"lockdown,omitempty"`
	// Selection is, per program, the variant static selection picked for
	// this kernel and why the better ones were rejected.
	Selection []Selection `json:"selection,omitempty"`
	// Variants holds every variant of every program, loaded whether or not
	// it was selected (dead fallbacks must show).
	Variants []VariantResult `json:"variants,omitempty"`
	// SelectionErrors lists disagreements between Selection and Variants
	// (a selected variant that did not load, …). Any entry fails the run.
	SelectionErrors []string `json:"selection_errors,omitempty"`
}

// Selection is the static choice for one program on one kernel.
type Selection struct {
	Program string `json:"program"`
	// Variant is the chosen variant; empty when none fits (see Error).
	Variant string `json:"variant,omitempty"`
	// Rejected lists the variants preferred over Variant and why each was
	// ruled out.
	Rejected []Rejection `json:"rejected,omitempty"`
	Error    string      `json:"error,omitempty"`
}

// Rejection is why selection ruled out a variant.
type Rejection struct {
	Variant string `json:"variant"`
	Feature string `json:"feature,omitempty"` // compat feature ID, e.g. map:ringbuf
	Reason  string `json:"reason"`
}

// Verdict is the result of loading a variant or a program.
type Verdict string

// Verdicts.
const (
	VerdictLoaded   Verdict = "loaded"   // the verifier accepted it
	VerdictRejected Verdict = "rejected" // the verifier (or the kernel) refused it; see Triage
	VerdictSkipped  Verdict = "skipped"  // not attempted (e.g. unsupported program type, an earlier program failed); see Reason
	VerdictError    Verdict = "error"    // the attempt itself failed (infrastructure, bad object)
)

// VariantResult is one variant (one object) of one program on one kernel.
type VariantResult struct {
	Program string `json:"program"`
	Variant string `json:"variant"`
	// Object is the object file, relative to the manifest.
	Object string `json:"object"`
	// Verdict is loaded only when every program in it loaded.
	Verdict Verdict `json:"verdict"`
	// Reason explains skipped and error verdicts.
	Reason string `json:"reason,omitempty"`
	// Selected is true when static selection picked this variant here.
	Selected bool `json:"selected,omitempty"`
	// Programs holds each BPF program of the object that was loaded.
	Programs []ProgramResult `json:"programs,omitempty"`
	// Attached is true when every program attached; AttachError says why not.
	Attached    bool   `json:"attached"`
	AttachError string `json:"attach_error,omitempty"`
	// Events is how many times the programs ran while their trigger ran
	// (from bpf stats run_cnt or the program's own counter); nil when unknown.
	Events *int64 `json:"events,omitempty"`
	// Overhead is the run-time cost; nil when it was not measured at all
	// (not attached, verifier-only run).
	Overhead *Overhead `json:"overhead,omitempty"`
}

// ProgramResult is one BPF program (ELF section function) of a variant.
type ProgramResult struct {
	Name       string  `json:"name"`
	Type       string  `json:"type"`                  // bpftool name: kprobe, tracing, xdp, …
	AttachType string  `json:"attach_type,omitempty"` // e.g. trace_fentry
	Section    string  `json:"section,omitempty"`     // ELF section, e.g. fentry/do_sys_openat2
	Verdict    Verdict `json:"verdict"`
	// Error is the load error summary (first line) for rejected/error.
	Error    string        `json:"error,omitempty"`
	Verifier VerifierStats `json:"verifier"`
	// Triage explains a rejection; nil for loaded programs.
	Triage *Triage `json:"triage,omitempty"`
}

// Where the processed-instruction count came from.
const (
	InsnsFromVerifiedInsns = "verified_insns" // bpf_prog_info.verified_insns (5.16+)
	InsnsFromLog           = "log"            // the verifier log's "processed N insns" line
)

// VerifierStats are veristat's per-program figures. A nil field was not
// printed by this kernel (e.g. 4.19 has no states or verification time).
type VerifierStats struct {
	InsnsProcessed *int64 `json:"insns_processed,omitempty"`
	// InsnsSource is InsnsFromVerifiedInsns or InsnsFromLog.
	InsnsSource      string `json:"insns_source,omitempty"`
	InsnsLimit       *int64 `json:"insns_limit,omitempty"` // the "(limit N)" of the stats line
	TotalStates      *int64 `json:"total_states,omitempty"`
	PeakStates       *int64 `json:"peak_states,omitempty"`
	MaxStatesPerInsn *int64 `json:"max_states_per_insn,omitempty"`
	MarkRead         *int64 `json:"mark_read,omitempty"`
	// StackDepth is the sum of the "stack depth A+B+…" figures (as veristat).
	StackDepth         *int64 `json:"stack_depth,omitempty"`
	VerificationTimeUs *int64 `json:"verification_time_us,omitempty"`
	// ProgInsns is the static instruction count of the program (veristat prog_size).
	ProgInsns   *int64 `json:"prog_insns,omitempty"`
	XlatedBytes *int64 `json:"xlated_bytes,omitempty"`
	JitedBytes  *int64 `json:"jited_bytes,omitempty"`
	// LogExcerpt is a bounded tail of the verifier log (the lines that
	// matter for a rejection, the stats lines for a load).
	LogExcerpt string `json:"log_excerpt,omitempty"`
	// LogLines is the full log's line count.
	LogLines int `json:"log_lines,omitempty"`
	// LogArtifact is the full log (compressed), relative to the results file.
	LogArtifact string `json:"log_artifact,omitempty"`
}

// TriageClass is what kind of rejection the verifier (or kernel) reported.
type TriageClass string

// Triage classes. Unknown messages are TriageOther, never a guess.
const (
	TriageMissingHelper         TriageClass = "missing-helper"
	TriageUnsupportedProgType   TriageClass = "unsupported-prog-type"
	TriageUnsupportedAttachType TriageClass = "unsupported-attach-type"
	TriageMissingMapType        TriageClass = "missing-map-type"
	TriageMissingFeature        TriageClass = "missing-feature" // a catalog feature the kernel lacks (global data, callbacks, ...)
	TriageNoKernelBTF           TriageClass = "no-kernel-btf"
	TriageCORERelocation        TriageClass = "core-relocation"
	TriageLoop                  TriageClass = "loop"
	TriageTooComplex            TriageClass = "too-complex" // program too large / complexity limit
	TriageInvalidMemoryAccess   TriageClass = "invalid-memory-access"
	TriageUnreleasedReference   TriageClass = "unreleased-reference"
	TriageStack                 TriageClass = "stack"
	TriageGPLOnly               TriageClass = "gpl-only"
	TriageISA                   TriageClass = "isa"
	TriagePermission            TriageClass = "permission"
	TriageLockdown              TriageClass = "lockdown" // kernel lockdown denies the helper (kernel reads, user writes)
	TriageOther                 TriageClass = "other"
)

// TriageClasses lists every class, in documentation order.
var TriageClasses = []TriageClass{
	TriageMissingHelper, TriageUnsupportedProgType, TriageUnsupportedAttachType,
	TriageMissingMapType, TriageMissingFeature, TriageNoKernelBTF, TriageCORERelocation, TriageLoop,
	TriageTooComplex, TriageInvalidMemoryAccess, TriageUnreleasedReference,
	TriageStack, TriageGPLOnly, TriageISA, TriagePermission, TriageLockdown, TriageOther,
}

// Triage explains one rejection.
type Triage struct {
	Class TriageClass `json:"class"`
	// Message is the decisive verifier/kernel line.
	Message string `json:"message"`
	// Source is where in the C source the rejection happened, from the
	// object's line info; nil without line info.
	Source *SourceLocation `json:"source,omitempty"`
	// Hint is a concrete fix: the fallback variant, the minimum kernel, how
	// to change the code.
	Hint string `json:"hint,omitempty"`
	// Feature is the compat feature ID that would have predicted this
	// rejection, when there is one (e.g. helper:bpf_loop).
	Feature string `json:"feature,omitempty"`
	// MinKernel is the first kernel version that has the missing feature.
	MinKernel *kversion.Version `json:"min_kernel,omitempty"`
}

// SourceLocation is a position in a C source file (from BTF line info).
// When only the verifier log's "; source text" annotation is known, File
// is empty and Line 0: Text alone still helps a human.
type SourceLocation struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column int    `json:"column,omitempty"`
	// Text is the source line as recorded in line info.
	Text string `json:"text,omitempty"`
}

// Located reports whether s names a file and line (what SARIF needs).
func (s *SourceLocation) Located() bool { return s != nil && s.File != "" && s.Line > 0 }

// String is "file:line", or the quoted source text when there is no file.
func (s *SourceLocation) String() string {
	switch {
	case s == nil:
		return ""
	case s.Located():
		return fmt.Sprintf("%s:%d", s.File, s.Line)
	case s.File != "":
		return s.File
	}
	return fmt.Sprintf("%q", s.Text)
}

// Metric names used in Overhead.NotMeasurable.
const (
	MetricPerEvent = "per_event" // trigger with and without the program
	MetricRunTime  = "run_time"  // bpf stats run_time_ns/run_cnt
	MetricTestRun  = "test_run"  // BPF_PROG_TEST_RUN ns/op
)

// WithinNoise starts a NotMeasurable reason for a figure that was measured
// but whose 95% interval includes 0: the cost is lost in the trigger's own
// jitter (common under TCG). Renderers print it as such, never as 0.
const WithinNoise = "within noise"

// UnitIcountNs is the unit of overhead measured with instruction counting:
// one "nanosecond" per guest instruction executed.
const UnitIcountNs = "icount-ns"

// Overhead is what an attached variant costs at run time. Absent figures
// are nil and NotMeasurable says why; they are never reported as 0.
type Overhead struct {
	// Trigger is the workload kind that fired the program.
	Trigger string `json:"trigger"`
	// EventsPerSample is how many trigger events one sample runs.
	EventsPerSample int `json:"events_per_sample,omitempty"`
	// Samples is the number of interleaved with/without sample pairs.
	Samples int `json:"samples"`
	// BaselineNs is the trigger's cost per event without the program.
	BaselineNs *Estimate `json:"baseline_ns,omitempty"`
	// PerEventNs is the cost the program adds per event (with − without).
	PerEventNs *Estimate `json:"per_event_ns,omitempty"`
	// PerEventSamples are the added costs per event of each sample pair,
	// in sample order: their spread is the figure's run-to-run noise.
	PerEventSamples []float64 `json:"per_event_samples,omitempty"`
	// Unit is the unit of the per-event figures: "" for nanoseconds,
	// UnitIcountNs when the guest's clock counted instructions (QEMU
	// -icount): deterministic, and not real time.
	Unit string `json:"unit,omitempty"`
	// RunTimeNsPerRun is bpf stats run_time_ns / run_cnt (5.1+): the JITed
	// body only, not the attach dispatch.
	RunTimeNsPerRun *float64 `json:"run_time_ns_per_run,omitempty"`
	RunCount        *int64   `json:"run_count,omitempty"`
	// TestRunNsPerOp is BPF_PROG_TEST_RUN's mean ns per run, for program
	// types that support it.
	TestRunNsPerOp *float64 `json:"test_run_ns_per_op,omitempty"`
	// NotMeasurable maps a metric (MetricPerEvent, MetricRunTime,
	// MetricTestRun) to why it is missing, e.g. "no bpf stats before 5.1".
	NotMeasurable map[string]string `json:"not_measurable,omitempty"`
	// Emulated is true when measured under TCG.
	Emulated bool `json:"emulated"`
}

// Estimate is a median with its 95 % confidence interval, in nanoseconds.
type Estimate struct {
	Median float64 `json:"median"`
	CILow  float64 `json:"ci_low"`
	CIHigh float64 `json:"ci_high"`
}

// Profile is a kernel booted as production runs it.
type Profile struct {
	// Kernel is the kernel reference the profile boots.
	Kernel      string            `json:"kernel"`
	Cmdline     []string          `json:"cmdline,omitempty"`
	Sysctls     map[string]string `json:"sysctls,omitempty"`
	Modules     []string          `json:"modules,omitempty"`
	ModuleFiles []string          `json:"module_files,omitempty"`
}

// Phase is one part of a kernel's wall time.
type Phase struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
}
