package reports

import (
	"math"
)

// Comparison is a veristat-style join of a baseline run (A) and a new
// run (B): one row per kernel × program/variant present in either.
type Comparison struct {
	// Kernels in the new run's order, then those only the baseline has.
	Kernels []string  `json:"kernels"`
	Rows    []DiffRow `json:"rows"`
	// Emulated is true when either side ran under TCG.
	Emulated bool `json:"emulated"`
	// SelectionErrors are the new run's selection errors, per kernel.
	SelectionErrors map[string][]string `json:"selection_errors,omitempty"`
	// Outcomes are the kernel outcomes, baseline and new ("" if absent).
	Outcomes map[string][2]Outcome `json:"outcomes"`
}

// DiffRow is one kernel × program/variant in both runs. A side that lacks
// the variant has an empty verdict and nil figures.
type DiffRow struct {
	Kernel  string `json:"kernel"`
	Program string `json:"program"`
	Variant string `json:"variant"`
	A       Side   `json:"a"`
	B       Side   `json:"b"`
}

// Side is one run's figures for a DiffRow.
type Side struct {
	Verdict Verdict `json:"verdict,omitempty"`
	// Insns and States are summed over the variant's BPF programs (nil if
	// any is unknown); Stack is the deepest; DurationUs the summed
	// verification time; Jited the summed JITed size.
	Insns      *int64 `json:"insns,omitempty"`
	States     *int64 `json:"states,omitempty"`
	PeakStates *int64 `json:"peak_states,omitempty"`
	Stack      *int64 `json:"stack,omitempty"`
	DurationUs *int64 `json:"duration_us,omitempty"`
	Jited      *int64 `json:"jited,omitempty"`
	// Overhead is the median added ns per event; RunTime is bpf stats
	// run_time_ns/run_cnt.
	Overhead *float64 `json:"overhead_ns,omitempty"`
	// OverheadPct is Overhead relative to the trigger's own cost per event
	// (percent), a within-VM ratio that survives TCG.
	OverheadPct *float64 `json:"overhead_pct,omitempty"`
	RunTime     *float64 `json:"run_time_ns,omitempty"`
}

// Metric is a comparable figure of a Side.
type Metric string

// Metrics usable in gates and shown by the diff.
const (
	MetricInsns      Metric = "insns"
	MetricStates     Metric = "states"
	MetricPeakStates Metric = "peak_states"
	MetricStack      Metric = "stack"
	MetricDuration   Metric = "duration"
	MetricJited      Metric = "jited"
	MetricOverhead   Metric = "overhead"
	// MetricOverheadPct is the added cost in percent of the trigger's own
	// cost per event (e.g. overhead_pct>5: more than 5 % slower exec).
	MetricOverheadPct Metric = "overhead_pct"
	// MetricRunTime ("run_time", bpf stats ns per run) is declared with
	// the Overhead.NotMeasurable keys in schema.go.
)

// Metrics lists every Metric.
var Metrics = []Metric{MetricInsns, MetricStates, MetricPeakStates, MetricStack, MetricDuration, MetricJited, MetricOverhead, MetricOverheadPct, MetricRunTime}

// Value returns the side's figure for m, or false when it is unknown.
func (s Side) Value(m Metric) (float64, bool) {
	i := func(p *int64) (float64, bool) {
		if p == nil {
			return 0, false
		}
		return float64(*p), true
	}
	f := func(p *float64) (float64, bool) {
		if p == nil {
			return 0, false
		}
		return *p, true
	}
	switch m {
	case MetricInsns:
		return i(s.Insns)
	case MetricStates:
		return i(s.States)
	case MetricPeakStates:
		return i(s.PeakStates)
	case MetricStack:
		return i(s.Stack)
	case MetricDuration:
		return i(s.DurationUs)
	case MetricJited:
		return i(s.Jited)
	case MetricOverhead:
		return f(s.Overhead)
	case MetricOverheadPct:
		return f(s.OverheadPct)
	case MetricRunTime:
		return f(s.RunTime)
	}
	return 0, false
}

// Delta returns B−A and the relative change in percent for m; ok is false
// when either side is unknown. A change from 0 is ±Inf percent.
func (r DiffRow) Delta(m Metric) (abs, pct float64, ok bool) {
	a, okA := r.A.Value(m)
	b, okB := r.B.Value(m)
	if !okA || !okB {
		return 0, 0, false
	}
	abs = b - a
	switch {
	case a != 0:
		pct = abs / math.Abs(a) * 100
	case abs > 0:
		pct = math.Inf(1)
	case abs < 0:
		pct = math.Inf(-1)
	}
	return abs, pct, true
}

// Compare joins baseline (A) and current (B) per kernel ref and
// program/variant.
func Compare(baseline, current *Results) *Comparison {
	c := &Comparison{Outcomes: map[string][2]Outcome{}, Emulated: baseline.emulated() || current.emulated()}
	seen := map[string]bool{}
	for _, k := range current.Kernels {
		if !seen[k.Ref] {
			seen[k.Ref] = true
			c.Kernels = append(c.Kernels, k.Ref)
		}
	}
	for _, k := range baseline.Kernels {
		if !seen[k.Ref] {
			seen[k.Ref] = true
			c.Kernels = append(c.Kernels, k.Ref)
		}
	}
	for _, ref := range c.Kernels {
		ka, kb := baseline.Kernel(ref), current.Kernel(ref)
		var o [2]Outcome
		if ka != nil {
			o[0] = ka.Outcome
		}
		if kb != nil {
			o[1] = kb.Outcome
			if len(kb.SelectionErrors) > 0 {
				if c.SelectionErrors == nil {
					c.SelectionErrors = map[string][]string{}
				}
				c.SelectionErrors[ref] = kb.SelectionErrors
			}
		}
		c.Outcomes[ref] = o
		type key struct{ p, v string }
		var order []key
		rows := map[key]*DiffRow{}
		add := func(k *KernelResult, b bool) {
			if k == nil {
				return
			}
			for i := range k.Variants {
				v := &k.Variants[i]
				kk := key{v.Program, v.Variant}
				row := rows[kk]
				if row == nil {
					row = &DiffRow{Kernel: ref, Program: v.Program, Variant: v.Variant}
					rows[kk] = row
					order = append(order, kk)
				}
				if b {
					row.B = side(v)
				} else {
					row.A = side(v)
				}
			}
		}
		add(kb, true)
		add(ka, false)
		for _, kk := range order {
			c.Rows = append(c.Rows, *rows[kk])
		}
	}
	return c
}

func side(v *VariantResult) Side {
	s := Side{Verdict: v.Verdict}
	sum := func(get func(*VerifierStats) *int64) *int64 {
		if len(v.Programs) == 0 {
			return nil
		}
		var t int64
		for i := range v.Programs {
			p := get(&v.Programs[i].Verifier)
			if p == nil {
				return nil
			}
			t += *p
		}
		return &t
	}
	s.Insns = sum(func(vs *VerifierStats) *int64 { return vs.InsnsProcessed })
	s.States = sum(func(vs *VerifierStats) *int64 { return vs.TotalStates })
	s.PeakStates = sum(func(vs *VerifierStats) *int64 { return vs.PeakStates })
	s.DurationUs = sum(func(vs *VerifierStats) *int64 { return vs.VerificationTimeUs })
	s.Jited = sum(func(vs *VerifierStats) *int64 { return vs.JitedBytes })
	for i := range v.Programs {
		if d := v.Programs[i].Verifier.StackDepth; d != nil && (s.Stack == nil || *d > *s.Stack) {
			s.Stack = d
		}
	}
	if o := v.Overhead; o != nil {
		if o.PerEventNs != nil {
			m := o.PerEventNs.Median
			s.Overhead = &m
		}
		s.OverheadPct = o.relative()
		s.RunTime = o.RunTimeNsPerRun
	}
	return s
}
