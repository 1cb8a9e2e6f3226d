package reports

import (
	"fmt"
	"math"
	"path"
	"strconv"
	"strings"
)

// TCGNote is printed by every renderer when a kernel ran under TCG.
const TCGNote = "absolute times are emulated (TCG); compare ratios within one VM"

// grid is the kernel × program/variant view shared by the table, markdown
// and html renderers: rows = program/variant (manifest order, then any
// variant only the results know), columns = kernels.
type grid struct {
	kernels  []*KernelResult
	programs []gridProgram
	labels   map[*KernelResult]string
}

// label is the kernel's column header: its ref, shortened for local
// kernels (see shortRef) unless two kernels would then read the same.
func (g *grid) label(k *KernelResult) string {
	if g.labels == nil {
		g.labels = map[*KernelResult]string{}
		count := map[string]int{}
		for _, kk := range g.kernels {
			count[shortRef(kk.Ref)]++
		}
		for _, kk := range g.kernels {
			g.labels[kk] = kk.Ref
			if count[shortRef(kk.Ref)] == 1 {
				g.labels[kk] = shortRef(kk.Ref)
			}
		}
	}
	if l, ok := g.labels[k]; ok {
		return l
	}
	return k.Ref
}

// shortRef names a file: or dir: kernel by its last path element, not
// the whole host path that would fill every table header.
func shortRef(ref string) string {
	for _, scheme := range []string{"file:", "dir:"} {
		if p, ok := strings.CutPrefix(ref, scheme); ok {
			return scheme + path.Base(strings.TrimRight(p, "/"))
		}
	}
	return ref
}

type gridProgram struct {
	name     string
	variants []string
}

func newGrid(r *Results) *grid {
	g := &grid{}
	for i := range r.Kernels {
		g.kernels = append(g.kernels, &r.Kernels[i])
	}
	index := map[string]int{}
	add := func(prog, variant string) {
		i, ok := index[prog]
		if !ok {
			i = len(g.programs)
			index[prog] = i
			g.programs = append(g.programs, gridProgram{name: prog})
		}
		if variant == "" {
			return
		}
		for _, v := range g.programs[i].variants {
			if v == variant {
				return
			}
		}
		g.programs[i].variants = append(g.programs[i].variants, variant)
	}
	for _, p := range r.Manifest.Programs {
		add(p.Name, "")
		for _, v := range p.Variants {
			add(p.Name, v)
		}
	}
	for _, k := range g.kernels {
		for _, s := range k.Selection {
			add(s.Program, "")
		}
		for _, v := range k.Variants {
			add(v.Program, v.Variant)
		}
	}
	return g
}

// variant returns the result of one variant on kernel k, or nil.
func (k *KernelResult) variant(prog, variant string) *VariantResult {
	for i := range k.Variants {
		if k.Variants[i].Program == prog && k.Variants[i].Variant == variant {
			return &k.Variants[i]
		}
	}
	return nil
}

// selection returns the selection for prog on k, or nil.
func (k *KernelResult) selection(prog string) *Selection {
	for i := range k.Selection {
		if k.Selection[i].Program == prog {
			return &k.Selection[i]
		}
	}
	return nil
}

// isSelected reports whether v is the variant selection picked on k.
func (k *KernelResult) isSelected(v *VariantResult) bool {
	if v.Selected {
		return true
	}
	s := k.selection(v.Program)
	return s != nil && s.Variant == v.Variant
}

// predictedRejection returns the selection's reason for ruling v out on k,
// or "" when selection expected it to work.
func (k *KernelResult) predictedRejection(v *VariantResult) string {
	s := k.selection(v.Program)
	if s == nil {
		return ""
	}
	for _, r := range s.Rejected {
		if r.Variant == v.Variant {
			return r.Reason
		}
	}
	return ""
}

// emulated reports whether any kernel ran under TCG.
func (r *Results) emulated() bool {
	for _, k := range r.Kernels {
		if k.Emulated || k.Accel == AccelTCG {
			return true
		}
	}
	return false
}

// icount reports whether any overhead was measured with instruction
// counting (its figures are then icount-ns, not time).
func (r *Results) icount() bool {
	for _, k := range r.Kernels {
		for _, v := range k.Variants {
			if v.Overhead != nil && v.Overhead.Unit == UnitIcountNs {
				return true
			}
		}
	}
	return false
}

// IcountNote explains icount-ns figures.
const IcountNote = "overhead was measured with instruction counting (run --deterministic): per-event figures are icount-ns, one per guest instruction executed, reproducible run to run but not real time"

// insns is the verifier's processed instructions summed over the variant's
// programs; nil when any program's count is unknown.
func (v *VariantResult) insns() *int64 {
	if len(v.Programs) == 0 {
		return nil
	}
	var sum int64
	for _, p := range v.Programs {
		if p.Verifier.InsnsProcessed == nil {
			return nil
		}
		sum += *p.Verifier.InsnsProcessed
	}
	return &sum
}

// triage returns the first rejected program and its triage.
func (v *VariantResult) triage() (*ProgramResult, *Triage) {
	for i := range v.Programs {
		p := &v.Programs[i]
		if p.Verdict == VerdictRejected || p.Verdict == VerdictError {
			return p, p.Triage
		}
	}
	return nil, nil
}

// class is the rejection class of a variant ("" when it loaded).
func (v *VariantResult) class() string {
	if v.Verdict != VerdictRejected {
		return ""
	}
	if _, t := v.triage(); t != nil {
		return string(t.Class)
	}
	return "rejected"
}

// cellText is the grid cell: ✔ insns, ✗ class, – skipped, ! error, and ★
// for the variant selection picked on this kernel.
func cellText(k *KernelResult, v *VariantResult) string {
	if v == nil {
		if k.Outcome != OutcomeOK && k.Outcome != OutcomeFailed {
			return "· " + string(k.Outcome)
		}
		return "·"
	}
	var s string
	switch v.Verdict {
	case VerdictLoaded:
		s = "✔"
		if n := v.insns(); n != nil {
			s += " " + strconv.FormatInt(*n, 10)
		}
	case VerdictRejected:
		s = "✗ " + v.class()
	case VerdictSkipped:
		s = "– skipped"
	default:
		s = "! error"
	}
	if k.isSelected(v) {
		s += " ★"
	}
	return s
}

// selectedText is the "selected variant" row cell.
func selectedText(k *KernelResult, prog string) string {
	s := k.selection(prog)
	switch {
	case s == nil:
		return "·"
	case s.Variant == "":
		return "✗ none"
	}
	return s.Variant
}

// fmtNs prints a duration in ns with a readable unit.
func fmtNs(ns float64) string {
	a := math.Abs(ns)
	switch {
	case a >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case a >= 1e3:
		return fmt.Sprintf("%.2f µs", ns/1e3)
	}
	return fmt.Sprintf("%.0f ns", ns)
}

// NotMeasurable is printed where a figure could not be measured.
const NotMeasurable = "not measurable"

// overheadText is the overhead cell: added ns per event (median [CI]), or
// why it is missing. Never "0" for a missing figure.
func overheadText(v *VariantResult) string {
	if v == nil || (v.Overhead == nil && !v.Attached) {
		return "–"
	}
	if v.Overhead == nil {
		return "not measured"
	}
	o := v.Overhead
	fmtNs := fmtNs
	if o.Unit == UnitIcountNs {
		// Guest instructions, not time: never scaled to µs or ms.
		fmtNs = func(v float64) string { return fmt.Sprintf("%.0f icount-ns", v) }
	}
	if o.PerEventNs == nil {
		// Measured, but the added cost is lost in the trigger's own jitter
		// (common under TCG): say so rather than print a meaningless figure.
		if strings.HasPrefix(o.NotMeasurable[MetricPerEvent], WithinNoise) {
			return WithinNoise
		}
		// No trigger figure (e.g. a test-run program): show what the
		// kernel could measure of the program itself.
		switch {
		case o.TestRunNsPerOp != nil:
			return "test_run " + fmtNs(*o.TestRunNsPerOp) + "/op"
		case o.RunTimeNsPerRun != nil:
			return "run_time " + fmtNs(*o.RunTimeNsPerRun) + "/run"
		}
		return NotMeasurable
	}
	e := o.PerEventNs
	signed := fmtSigned(e.Median)
	if o.Unit == UnitIcountNs {
		signed = fmt.Sprintf("%+.0f icount-ns", e.Median)
	}
	s := fmt.Sprintf("%s [%s, %s]", signed, fmtNs(e.CILow), fmtNs(e.CIHigh))
	if pct := o.relative(); pct != nil {
		s += fmt.Sprintf(" (%+.1f%%)", *pct)
	}
	return s
}

// relative is the added cost as a percentage of the trigger's own cost per
// event: a ratio measured within one VM, the figure that stays meaningful
// under TCG. nil without a baseline.
func (o *Overhead) relative() *float64 {
	if o == nil || o.PerEventNs == nil || o.BaselineNs == nil || o.BaselineNs.Median <= 0 {
		return nil
	}
	p := o.PerEventNs.Median / o.BaselineNs.Median * 100
	return &p
}

func fmtSigned(ns float64) string {
	if ns >= 0 {
		return "+" + fmtNs(ns)
	}
	return fmtNs(ns)
}

// runTimeText is bpf stats run_time_ns/run_cnt, or why it is missing.
// noRunTime is the reason bpf stats are missing on the whole kernel (they
// came in 5.1), when every measured variant gives that same reason; "" when
// any variant has run_time figures or a reason of its own.
func (k *KernelResult) noRunTime() string {
	why := ""
	for _, v := range k.Variants {
		if v.Overhead == nil {
			continue
		}
		r := v.Overhead.NotMeasurable[MetricRunTime]
		if !strings.HasPrefix(r, "no bpf stats") || (why != "" && r != why) {
			return ""
		}
		why = r
	}
	return why
}

func runTimeText(o *Overhead) string {
	if o == nil {
		return "–"
	}
	if o.RunTimeNsPerRun != nil {
		return fmtNs(*o.RunTimeNsPerRun)
	}
	return NotMeasurable
}

func testRunText(o *Overhead) string {
	if o == nil {
		return "–"
	}
	if o.TestRunNsPerOp != nil {
		return fmtNs(*o.TestRunNsPerOp)
	}
	return NotMeasurable
}

func optInt(p *int64) string {
	if p == nil {
		return "–"
	}
	return strconv.FormatInt(*p, 10)
}

func optSeconds(p *float64) string {
	if p == nil {
		return "–"
	}
	return fmt.Sprintf("%.1fs", *p)
}

// counts tallies the variants of one kernel by verdict.
type counts struct{ loaded, rejected, skipped, errored, total int }

func (k *KernelResult) counts() counts {
	var c counts
	for _, v := range k.Variants {
		c.total++
		switch v.Verdict {
		case VerdictLoaded:
			c.loaded++
		case VerdictRejected:
			c.rejected++
		case VerdictSkipped:
			c.skipped++
		default:
			c.errored++
		}
	}
	return c
}

func (c counts) String() string {
	s := fmt.Sprintf("%d/%d loaded", c.loaded, c.total)
	if c.rejected > 0 {
		s += fmt.Sprintf(", %d rejected", c.rejected)
	}
	if c.skipped > 0 {
		s += fmt.Sprintf(", %d skipped", c.skipped)
	}
	if c.errored > 0 {
		s += fmt.Sprintf(", %d errors", c.errored)
	}
	return s
}

// kernelLabel is the column header of a kernel.
