package reports

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// ErrBadGate is returned by ParseGates for an expression it cannot read.
var ErrBadGate = errors.New("bad gate")

// GateSyntax documents the --fail-on expression.
const GateSyntax = `comma-separated gates:
  verdict      a variant that loaded in the baseline no longer loads
  selection    the new run has selection errors
  outcome      a kernel in the new run panicked, oopsed, timed out or hit an infra error
  missing      a kernel or variant of the baseline is absent from the new run
  METRIC OP VALUE
    METRIC: insns, states, peak_states, stack, duration (verification µs), jited,
            overhead (added ns per event, median), overhead_pct (that cost in % of the
            trigger's own, a within-VM ratio), run_time (bpf stats ns per run)
    OP:     >, >=, <, <=
    VALUE:  +10% / -5% (relative change), +500 / -2 (absolute change, a sign is required),
            500000 (the new value itself, no sign); time metrics take ns, us, µs, ms
  e.g. verdict,insns>+10%,overhead>+20%,stack>=448,overhead_pct>5`

// Gate is one parsed --fail-on term.
type Gate struct {
	// Expr is the term as written.
	Expr string `json:"expr"`
	// Kind is verdict, selection, outcome, missing or metric.
	Kind   string `json:"kind"`
	Metric Metric `json:"metric,omitempty"`
	Op     string `json:"op,omitempty"`
	// Value is the threshold in the metric's unit (ns for overhead and
	// run_time, µs for duration) or in percent.
	Value float64 `json:"value,omitempty"`
	// Mode is "relative" (Δ%), "delta" (Δ) or "value" (the new value).
	Mode string `json:"mode,omitempty"`
}

// Gates is a parsed --fail-on expression.
type Gates []Gate

// Violation is a tripped gate.
type Violation struct {
	Gate    string `json:"gate"`
	Kernel  string `json:"kernel"`
	Program string `json:"program,omitempty"`
	Variant string `json:"variant,omitempty"`
	Detail  string `json:"detail"`
}

func (v Violation) String() string {
	where := v.Kernel
	if v.Program != "" {
		where += " " + v.Program + "/" + v.Variant
	}
	return fmt.Sprintf("%s: %s: %s", v.Gate, where, v.Detail)
}

var gateRE = regexp.MustCompile(`^([a-z_]+)\s*(>=|<=|>|<)\s*([+-]?)([0-9]+(?:\.[0-9]+)?)\s*(%|ns|us|µs|ms)?$`)

// timeUnits converts a unit to the metric's base unit.
var timeUnits = map[Metric]map[string]float64{
	MetricOverhead: {"ns": 1, "us": 1e3, "µs": 1e3, "ms": 1e6},
	MetricRunTime:  {"ns": 1, "us": 1e3, "µs": 1e3, "ms": 1e6},
	MetricDuration: {"ns": 1e-3, "us": 1, "µs": 1, "ms": 1e3},
}

// ParseGates reads a --fail-on expression (see GateSyntax). An empty
// expression gives no gates.
func ParseGates(expr string) (Gates, error) {
	var gs Gates
	if strings.TrimSpace(expr) == "" {
		return nil, nil
	}
	for _, term := range strings.Split(expr, ",") {
		term = strings.TrimSpace(term)
		if term == "" {
			return nil, fmt.Errorf("%w: empty term in %q", ErrBadGate, expr)
		}
		switch term {
		case "verdict", "selection", "outcome", "missing":
			gs = append(gs, Gate{Expr: term, Kind: term})
			continue
		}
		m := gateRE.FindStringSubmatch(term)
		if m == nil {
			return nil, fmt.Errorf("%w %q: want verdict, selection, outcome, missing or METRIC OP VALUE (e.g. insns>+10%%)", ErrBadGate, term)
		}
		metric := Metric(m[1])
		known := false
		for _, k := range Metrics {
			known = known || k == metric
		}
		if !known {
			return nil, fmt.Errorf("%w %q: unknown metric %q (want one of %s)", ErrBadGate, term, m[1], metricNames())
		}
		v, err := strconv.ParseFloat(m[4], 64)
		if err != nil {
			return nil, fmt.Errorf("%w %q: %v", ErrBadGate, term, err)
		}
		g := Gate{Expr: term, Kind: "metric", Metric: metric, Op: m[2]}
		sign, unit := m[3], m[5]
		if sign == "-" {
			v = -v
		}
		switch {
		case unit == "%":
			g.Mode = "relative"
		case sign != "":
			g.Mode = "delta"
		default:
			g.Mode = "value"
		}
		if unit != "" && unit != "%" {
			f, ok := timeUnits[metric][unit]
			if !ok {
				return nil, fmt.Errorf("%w %q: %s is not a time, it takes no unit %q", ErrBadGate, term, metric, unit)
			}
			v *= f
		}
		g.Value = v
		gs = append(gs, g)
	}
	return gs, nil
}

func metricNames() string {
	s := make([]string, len(Metrics))
	for i, m := range Metrics {
		s[i] = string(m)
	}
	return strings.Join(s, ", ")
}

func (g Gate) holds(x float64) bool {
	switch g.Op {
	case ">":
		return x > g.Value
	case ">=":
		return x >= g.Value
	case "<":
		return x < g.Value
	case "<=":
		return x <= g.Value
	}
	return false
}

// Check returns every violation of gs in c, in row order.
func (gs Gates) Check(c *Comparison) []Violation {
	var out []Violation
	for _, g := range gs {
		switch g.Kind {
		case "selection":
			for _, ref := range c.Kernels {
				for _, e := range c.SelectionErrors[ref] {
					out = append(out, Violation{Gate: g.Expr, Kernel: ref, Detail: e})
				}
			}
		case "outcome":
			for _, ref := range c.Kernels {
				switch o := c.Outcomes[ref][1]; o {
				case OutcomeKernelPanic, OutcomeOops, OutcomeTimeout, OutcomeInfraError:
					out = append(out, Violation{Gate: g.Expr, Kernel: ref, Detail: "kernel run ended with " + string(o)})
				}
			}
		case "missing":
			for _, ref := range c.Kernels {
				if o := c.Outcomes[ref]; o[0] != "" && o[1] == "" {
					out = append(out, Violation{Gate: g.Expr, Kernel: ref, Detail: "kernel absent from the new run"})
				}
			}
			for _, r := range c.Rows {
				if r.A.Verdict != "" && r.B.Verdict == "" && c.Outcomes[r.Kernel][1] != "" {
					out = append(out, Violation{Gate: g.Expr, Kernel: r.Kernel, Program: r.Program, Variant: r.Variant, Detail: "variant absent from the new run"})
				}
			}
		case "verdict":
			for _, r := range c.Rows {
				if r.A.Verdict == VerdictLoaded && r.B.Verdict != "" && r.B.Verdict != VerdictLoaded {
					out = append(out, Violation{Gate: g.Expr, Kernel: r.Kernel, Program: r.Program, Variant: r.Variant,
						Detail: fmt.Sprintf("verdict %s → %s", r.A.Verdict, r.B.Verdict)})
				}
			}
		case "metric":
			for _, r := range c.Rows {
				if d, ok := g.tripped(r); ok {
					out = append(out, Violation{Gate: g.Expr, Kernel: r.Kernel, Program: r.Program, Variant: r.Variant, Detail: d})
				}
			}
		}
	}
	return out
}

// tripped evaluates a metric gate on one row; unknown figures never trip
// (they are not zero).
func (g Gate) tripped(r DiffRow) (string, bool) {
	if g.Mode == "value" {
		b, ok := r.B.Value(g.Metric)
		if !ok || !g.holds(b) {
			return "", false
		}
		return fmt.Sprintf("%s = %s", g.Metric, fmtMetric(g.Metric, b)), true
	}
	abs, pct, ok := r.Delta(g.Metric)
	if !ok {
		return "", false
	}
	x := abs
	if g.Mode == "relative" {
		x = pct
	}
	if !g.holds(x) {
		return "", false
	}
	a, _ := r.A.Value(g.Metric)
	b, _ := r.B.Value(g.Metric)
	return fmt.Sprintf("%s %s → %s (%s)", g.Metric, fmtMetric(g.Metric, a), fmtMetric(g.Metric, b), fmtPct(pct)), true
}

func fmtMetric(m Metric, v float64) string {
	switch m {
	case MetricOverhead, MetricRunTime:
		return fmtNs(v)
	case MetricDuration:
		return fmt.Sprintf("%.0f µs", v)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func fmtPct(p float64) string {
	if math.IsInf(p, 0) {
		if p > 0 {
			return "+∞%"
		}
		return "-∞%"
	}
	return fmt.Sprintf("%+.2f%%", p)
}
