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

// Feature kinds.
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

// Feature is one catalog entry.
type Feature struct {
	ID          FeatureID        `json:"id"`
	Kind        Kind             `json:"kind"`
	Description string           `json:"description"`
	Since       kversion.Version `json:"since"` // first upstream kernel; zero if not known
	Probe       string           `json:"probe"` // how retrobpf probes it
	Hint        string           `json:"hint"`  // what to do when it is missing
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
}
