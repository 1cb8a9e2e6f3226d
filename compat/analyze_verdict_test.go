package compat

import (
	"testing"

	"github.com/retrobpf/retrobpf/internal/kversion"
)

// staticTarget answers from a fixed table, so the per-program-type helper
// refinement can be tested without a kernel that lacks a helper for one
// program type only.
type staticTarget map[FeatureID]State

func (s staticTarget) Name() string { return "static" }
func (s staticTarget) Has(id FeatureID) Availability {
	if st, ok := s[id]; ok {
		return Availability{State: st, Detail: "table"}
	}
	return Availability{State: Supported}
}

func TestEvaluateQualifiedHelper(t *testing.T) {
	reqs := []Requirement{{Feature: "helper:bpf_ringbuf_output", Reason: "calls bpf_ringbuf_output"}}
	tg := staticTarget{"helper:bpf_ringbuf_output@tracepoint": Unsupported}
	un := Evaluate(tg, "tracepoint", reqs)
	if len(un) != 1 || un[0].Feature != "helper:bpf_ringbuf_output@tracepoint" || un[0].Reason != "calls bpf_ringbuf_output" {
		t.Fatalf("unmet %+v", un)
	}
	if un := Evaluate(tg, "kprobe", reqs); len(un) != 0 {
		t.Fatalf("kprobe: %+v", un)
	}
	// An unknown qualified answer does not override a supported helper.
	tg = staticTarget{"helper:bpf_ringbuf_output@tracepoint": Unknown}
	if un := Evaluate(tg, "tracepoint", reqs); len(un) != 0 {
		t.Fatalf("unknown qualified: %+v", un)
	}
}

func TestCheckProgramVerdicts(t *testing.T) {
	rep := analyzeFile(t, "ringbuf_tp.o")
	p := rep.Program("handle_exec")
	if v := CheckProgram(p, VersionTarget(kversion.MustParse("5.8"))); v.Verdict != Compatible || len(v.Unmet) != 0 {
		t.Errorf("5.8: %+v", v)
	}
	v := CheckProgram(p, VersionTarget(kversion.MustParse("5.4")))
	if v.Verdict != Incompatible || len(v.Unmet) != 2 {
		t.Fatalf("5.4: %+v", v)
	}
	rep = analyzeFile(t, "nongpl.o")
	if v := CheckProgram(rep.Program("read_probe"), VersionTarget(kversion.MustParse("6.12"))); v.Verdict != Invalid {
		t.Errorf("non-GPL: %+v", v)
	}
	rep = analyzeFile(t, "fentry_core.o")
	if v := CheckProgram(rep.Program("on_unlink"), VersionTarget(kversion.MustParse("6.12"))); v.Verdict != Unconfirmed || v.Unmet[0].State != Unknown {
		t.Errorf("fentry ksym on a version target: %+v", v)
	}
}
