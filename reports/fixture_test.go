package reports

import (
	"strconv"
	"time"

	"github.com/retrobpf/retrobpf/internal/kversion"
)

func i64(v int64) *int64     { return &v }
func f64(v float64) *float64 { return &v }
func ver(s string) *kversion.Version {
	v := kversion.MustParse(s)
	return &v
}

// loadedProg is a program the verifier accepted, with the figures a kernel
// of that generation prints.
func loadedProg(name, typ string, insns int64, k string) ProgramResult {
	p := ProgramResult{Name: name, Type: typ, Verdict: VerdictLoaded, Section: typ + "/x"}
	v := &p.Verifier
	v.InsnsProcessed = i64(insns)
	v.ProgInsns = i64(insns / 2)
	v.XlatedBytes = i64(insns * 4)
	v.JitedBytes = i64(insns * 3)
	v.StackDepth = i64(16)
	v.LogExcerpt = "processed " + itoa(insns) + " insns"
	v.LogArtifact = "logs/" + k + "/" + name + ".log.zst"
	switch k {
	case "5.10":
		v.InsnsSource = InsnsFromLog
		v.TotalStates, v.PeakStates, v.MaxStatesPerInsn = i64(insns/10), i64(insns/12), i64(1)
		v.VerificationTimeUs = i64(120)
	default:
		v.InsnsSource = InsnsFromVerifiedInsns
		v.TotalStates, v.PeakStates, v.MaxStatesPerInsn = i64(insns/9), i64(insns/11), i64(2)
		v.VerificationTimeUs = i64(95)
	}
	return p
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func overhead(k string, perEvent float64) *Overhead {
	o := &Overhead{Trigger: "exec", EventsPerSample: 50, Samples: 8, Emulated: true,
		BaselineNs: &Estimate{Median: 90000, CILow: 88000, CIHigh: 93000},
		PerEventNs: &Estimate{Median: perEvent, CILow: perEvent * 0.8, CIHigh: perEvent * 1.3},
		RunCount:   i64(400),
	}
	o.RunTimeNsPerRun = f64(perEvent / 3)
	return o
}

// fixture is a realistic three-kernel run: execsnoop has a modern variant
// (ring buffer, 5.8+) and a legacy one; opensnoop's fentry variant needs
// BTF; loopy is a hostile program the verifier rejects everywhere. One
// variant on 6.12 attached but has no overhead figures.
func fixture() *Results {
	created := time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC)
	r := &Results{
		SchemaVersion: SchemaVersion,
		Tool:          Tool{Name: "retrobpf", Version: "0.1.0-test"},
		CreatedAt:     created,
		Manifest: Manifest{Path: "bpf/suite.yaml", SHA256: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			Programs: []ManifestProgram{
				{Name: "execsnoop", Trigger: "exec", Variants: []string{"modern", "legacy"}},
				{Name: "opensnoop", Trigger: "open", Variants: []string{"fentry", "kprobe"}},
				{Name: "loopy", Trigger: "test-run", Variants: []string{"only"}},
			}},
	}
	for _, k := range []string{"5.10", "6.1", "6.12"} {
		kr := KernelResult{Ref: k, Release: k + ".0-amd64", Version: kversion.MustParse(k), Accel: AccelTCG,
			Emulated: true, Outcome: OutcomeOK, BootSeconds: f64(7.5), BTFSource: "vmlinux"}
		old := k == "5.10"
		// execsnoop
		modern := VariantResult{Program: "execsnoop", Variant: "modern", Object: "execsnoop_modern.o"}
		if old {
			modern.Verdict = VerdictRejected
			p := ProgramResult{Name: "handle_exec", Type: "tracing", Verdict: VerdictRejected,
				Error: "load program: invalid argument: map type 27 not supported"}
			p.Verifier.LogExcerpt = "map type 27 not supported"
			p.Triage = &Triage{Class: TriageMissingMapType, Message: "map type 27 not supported",
				Hint: "use the legacy variant (perf event array) or a kernel >= 5.8", Feature: "map:ringbuf", MinKernel: ver("5.8")}
			modern.Programs = []ProgramResult{p}
		} else {
			modern.Verdict, modern.Attached, modern.Events = VerdictLoaded, true, i64(400)
			modern.Programs = []ProgramResult{loadedProg("handle_exec", "tracing", 1200, k)}
			modern.Overhead = overhead(k, 1800)
		}
		legacy := VariantResult{Program: "execsnoop", Variant: "legacy", Object: "execsnoop_legacy.o",
			Verdict: VerdictLoaded, Attached: true, Events: i64(400)}
		legacy.Programs = []ProgramResult{loadedProg("handle_exec", "kprobe", 1500, k)}
		legacy.Overhead = overhead(k, 2600)
		if old {
			legacy.Overhead.RunTimeNsPerRun = nil
			legacy.Overhead.NotMeasurable = map[string]string{MetricRunTime: "bpf stats not enabled"}
		}
		// opensnoop
		fentry := VariantResult{Program: "opensnoop", Variant: "fentry", Object: "opensnoop_fentry.o",
			Verdict: VerdictLoaded, Attached: true}
		fentry.Programs = []ProgramResult{loadedProg("trace_open", "tracing", 300, k)}
		if k == "6.12" {
			// attached, but nothing measurable: no overhead figures at all
			fentry.Overhead = &Overhead{Trigger: "open", Samples: 0, Emulated: true,
				NotMeasurable: map[string]string{MetricPerEvent: "trigger failed: open: ENOENT", MetricRunTime: "run_cnt stayed 0"}}
		} else {
			fentry.Overhead = overhead(k, 700)
		}
		kprobe := VariantResult{Program: "opensnoop", Variant: "kprobe", Object: "opensnoop_kprobe.o",
			Verdict: VerdictLoaded, Attached: true}
		kprobe.Programs = []ProgramResult{loadedProg("trace_open", "kprobe", 420, k)}
		// loopy: rejected everywhere with a source line
		loopy := VariantResult{Program: "loopy", Variant: "only", Object: "loopy.o", Verdict: VerdictRejected}
		lp := ProgramResult{Name: "loop_forever", Type: "socket_filter", Verdict: VerdictRejected,
			Error: "load program: permission denied: back-edge from insn 12 to 4"}
		lp.Verifier.LogExcerpt = "; for (;;) {\n12: (05) goto pc-9\nback-edge from insn 12 to 4"
		lp.Verifier.LogLines = 40
		lp.Triage = &Triage{Class: TriageLoop, Message: "back-edge from insn 12 to 4",
			Source: &SourceLocation{File: "bpf/testdata/loopy.c", Line: 17, Column: 2, Text: "for (;;) {"},
			Hint:   "bound the loop (for (i = 0; i < N; i++)) or use bpf_loop (5.17)"}
		if !old {
			lp.Triage.Class = TriageTooComplex
			lp.Triage.Message = "BPF program is too large. Processed 1000001 insn"
			lp.Triage.Hint = "bound the loop"
		}
		loopy.Programs = []ProgramResult{lp}

		kr.Variants = []VariantResult{modern, legacy, fentry, kprobe, loopy}
		sel := func(prog, v string, rej ...Rejection) Selection {
			return Selection{Program: prog, Variant: v, Rejected: rej}
		}
		if old {
			kr.Selection = []Selection{
				sel("execsnoop", "legacy", Rejection{Variant: "modern", Feature: "map:ringbuf", Reason: "map:ringbuf needs 5.8"}),
				sel("opensnoop", "fentry"),
				sel("loopy", "only"),
			}
			kr.Variants[1].Selected = true
		} else {
			kr.Selection = []Selection{sel("execsnoop", "modern"), sel("opensnoop", "fentry"), sel("loopy", "only")}
			kr.Variants[0].Selected = true
		}
		kr.Variants[2].Selected = true
		kr.Variants[4].Selected = true
		kr.SelectionErrors = []string{"loopy: selected variant only was rejected (loop)"}
		kr.Outcome = OutcomeFailed
		kr.Error = "1 selection error"
		r.Kernels = append(r.Kernels, kr)
	}
	return r
}
