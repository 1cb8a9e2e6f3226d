package compat

import (
	"errors"

	"github.com/retrobpf/retrobpf/internal/kversion"
)

// ErrUnknownFeature is returned for a feature ID not in the catalog.
var ErrUnknownFeature = errors.New("unknown feature")

// FeatureID is a stable feature name such as "prog:kprobe", "map:ringbuf",
// "helper:bpf_ringbuf_output", "attach:fentry", "btf:vmlinux",
// "insn:bounded-loops", "insn:v3", "limit:1m-insns", "global-data",
// "bpf2bpf-calls", "kfunc:NAME", "test-run:xdp", "stats:run-time".
type FeatureID string

// Kind groups features; it is the part of the ID before the colon, or
// "misc" for IDs without one.
type Kind string

// Feature kinds. Adding one is a constant here and a row in kinds.
const (
	KindProg    Kind = "prog"
	KindMap     Kind = "map"
	KindMapFlag Kind = "map-flag"
	KindHelper  Kind = "helper"
	KindAttach  Kind = "attach"
	KindBTF     Kind = "btf"
	KindInsn    Kind = "insn"
	KindLimit   Kind = "limit"
	KindKfunc   Kind = "kfunc"
	KindTestRun Kind = "test-run"
	KindStats   Kind = "stats"
	KindMisc    Kind = "misc"
)

// kinds is the one table of feature kinds, in the order the docs list
// them: KindOf, the features command and docs/features.md read it.
var kinds = []struct {
	kind  Kind
	title string
}{
	{KindProg, "Program types (`prog:`)"},
	{KindMap, "Map types (`map:`)"},
	{KindMapFlag, "Map flags (`map-flag:`)"},
	{KindHelper, "Helpers (`helper:`)"},
	{KindAttach, "Attach mechanisms (`attach:`)"},
	{KindBTF, "BTF (`btf:`)"},
	{KindInsn, "Instruction set and verifier (`insn:`)"},
	{KindLimit, "Limits (`limit:`)"},
	{KindKfunc, "Well-known kfuncs (`kfunc:`)"},
	{KindTestRun, "BPF_PROG_TEST_RUN per program type (`test-run:`)"},
	{KindStats, "Run-time statistics (`stats:`)"},
	{KindMisc, "Other features and well-known kernel symbols"},
}

// Kinds returns every feature kind, in docs order.
func Kinds() []Kind {
	out := make([]Kind, len(kinds))
	for i, k := range kinds {
		out[i] = k.kind
	}
	return out
}

// Title is the kind's heading in docs/features.md ("" for an unknown kind).
func (k Kind) Title() string {
	for _, e := range kinds {
		if e.kind == k {
			return e.title
		}
	}
	return ""
}

// Feature is one catalog entry.
type Feature struct {
	ID          FeatureID        `json:"id"`
	Kind        Kind             `json:"kind"`
	Description string           `json:"description"`
	Since       kversion.Version `json:"since"` // first upstream kernel; zero if not known
	// Config is the kernel option the feature also needs, when
	// distributions build kernels with and without it
	// (CONFIG_DEBUG_INFO_BTF): a version alone then cannot confirm it.
	Config string `json:"config,omitempty"`
	// Lapse, for a verifier behaviour programs relied on that kernels
	// dropped for a while, says where it was measured gone; nil for the
	// features kernels keep once they have them.
	Lapse *Lapse `json:"lapse,omitempty"`
	Probe string `json:"probe"` // how retrobpf probes it
	Hint  string `json:"hint"`  // what to do when it is missing
}

// Lapse is a stretch of kernels without a feature they had before, as
// measured: present through KeptThrough, absent from LostIn through
// LostThrough, present again from BackIn (zero: not seen back). A version
// between two measurements is Unknown, never guessed.
type Lapse struct {
	KeptThrough kversion.Version `json:"kept_through"`
	LostIn      kversion.Version `json:"lost_in"`
	LostThrough kversion.Version `json:"lost_through"`
	BackIn      kversion.Version `json:"back_in,omitzero"`
}

// State is the three-state answer of a probe.
type State string

// Probe states. Unknown always carries the raw error that made it unknown.
const (
	Supported   State = "supported"
	Unsupported State = "unsupported"
	Unknown     State = "unknown"
)

// Availability is a Target's answer for one feature.
type Availability struct {
	State  State  `json:"state"`
	Detail string `json:"detail,omitempty"` // raw errno/error for Unknown, or the evidence
}

// Target is a kernel to reason about: a version (catalog knowledge), or a
// probed kernel.
type Target interface {
	// Name describes the target, e.g. "kernel 4.19 (catalog)" or "host 6.1.0-18-amd64".
	Name() string
	// Has answers for one feature.
	Has(id FeatureID) Availability
}

// Requirement is one thing a program needs, with where it comes from.
type Requirement struct {
	Feature FeatureID `json:"feature"`
	Reason  string    `json:"reason"`           // e.g. "calls bpf_ringbuf_output"
	Source  string    `json:"source,omitempty"` // e.g. "section tracepoint/syscalls/sys_enter_execve, insn 42"
	Origin  Origin    `json:"origin,omitempty"`
}

// Origin says who stated a requirement.
type Origin string

// Requirement origins.
const (
	FromAnalysis Origin = ""         // derived from the object by Analyze
	FromManifest Origin = "manifest" // a requires: entry of a manifest variant
)
