package compat

import (
	"strings"

	"github.com/retrobpf/retrobpf/internal/kversion"
)

// Unmet is a requirement a target does not satisfy (Unsupported) or
// cannot confirm (Unknown, with the raw detail).
type Unmet struct {
	Requirement
	State  State            `json:"state"`
	Detail string           `json:"detail,omitempty"`
	Since  kversion.Version `json:"since"`
	Hint   string           `json:"hint,omitempty"`
}

// Verdict is the outcome of comparing a program with a target.
type Verdict string

// Verdicts. Unconfirmed means no requirement is known to be missing but at
// least one could not be decided from what is known of the target (a
// kernel symbol against a bare version, say): it is never read as
// compatible, since a false "compatible" ships a program the node refuses.
// Invalid means the program cannot load on any kernel (an error finding
// such as a GPL-only helper in a non-GPL program).
const (
	Compatible   Verdict = "compatible"
	Incompatible Verdict = "incompatible"
	Unconfirmed  Verdict = "unconfirmed"
	Invalid      Verdict = "invalid"
)

// ProgramVerdict is a program compared with a target.
type ProgramVerdict struct {
	Program string  `json:"program"`
	Verdict Verdict `json:"verdict"`
	// Unmet lists every requirement that is not Supported, in requirement
	// order: Unsupported ones and those the target could not decide.
	Unmet []Unmet `json:"unmet"`
}

// OK reports whether the program is known to load on the target.
func (v ProgramVerdict) OK() bool { return v.Verdict == Compatible }

// CheckProgram compares one analysed program with a target.
func CheckProgram(p *ProgramReport, t Target) ProgramVerdict {
	v := ProgramVerdict{Program: p.Name, Unmet: Evaluate(t, p.Type, p.Requirements)}
	v.Verdict = verdictOf(v.Unmet)
	if p.HasErrors() {
		v.Verdict = Invalid
	}
	return v
}

func verdictOf(unmet []Unmet) Verdict {
	verdict := Compatible
	for _, u := range unmet {
		if u.State == Unsupported {
			return Incompatible
		}
		verdict = Unconfirmed
	}
	return verdict
}

// Evaluate returns the requirements t does not satisfy. progType (bpftool
// name, may be empty) refines helper requirements: a helper the kernel has
// but not for this program type is unmet, when the target knows the
// per-program-type answer (helper:bpf_X@TYPE).
func Evaluate(t Target, progType string, reqs []Requirement) []Unmet {
	out := []Unmet{}
	for _, r := range reqs {
		a := t.Has(r.Feature)
		id := r.Feature
		if a.State == Supported && progType != "" && strings.HasPrefix(string(r.Feature), "helper:") && !strings.Contains(string(r.Feature), "@") {
			q := FeatureID(string(r.Feature) + "@" + progType)
			if qa := t.Has(q); qa.State == Unsupported {
				a, id = qa, q
			}
		}
		if a.State == Supported {
			continue
		}
		if a.State != Unsupported && a.State != Unknown {
			a = Availability{State: Unknown, Detail: "target gave no answer: " + string(a.State) + " " + a.Detail}
		}
		r.Feature = id
		out = append(out, Unmet{Requirement: r, State: a.State, Detail: a.Detail, Since: featureSince(id), Hint: featureHint(id)})
	}
	return out
}

// DerivedSymbol reports whether r names something in the kernel (a ksym:,
// btf-func:, tracepoint: or raw-tp: attach target or kernel symbol) that
// Analyze derived, as opposed to one a manifest states: only derived ones
// may be accepted as unconfirmed by a selection on a target that cannot
// know kernel symbols.
func (r Requirement) DerivedSymbol() bool {
	if r.Origin != FromAnalysis {
		return false
	}
	for _, prefix := range []string{"ksym:", "btf-func:", "tracepoint:", "raw-tp:", "raw-tp-args:", "btf-func-args:"} {
		if strings.HasPrefix(string(r.Feature), prefix) {
			return true
		}
	}
	return false
}
