package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// clone deep-copies r through JSON.
func clone(t testing.TB, r *Results) *Results {
	t.Helper()
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var c Results
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

func TestParseGates(t *testing.T) {
	gs, err := ParseGates(" verdict, insns>+10% ,overhead>+20%,stack>=448,duration>+50us,run_time<-1.5ms,states>+100")
	if err != nil {
		t.Fatal(err)
	}
	want := Gates{
		{Expr: "verdict", Kind: "verdict"},
		{Expr: "insns>+10%", Kind: "metric", Metric: MetricInsns, Op: ">", Value: 10, Mode: "relative"},
		{Expr: "overhead>+20%", Kind: "metric", Metric: MetricOverhead, Op: ">", Value: 20, Mode: "relative"},
		{Expr: "stack>=448", Kind: "metric", Metric: MetricStack, Op: ">=", Value: 448, Mode: "value"},
		{Expr: "duration>+50us", Kind: "metric", Metric: MetricDuration, Op: ">", Value: 50, Mode: "delta"},
		{Expr: "run_time<-1.5ms", Kind: "metric", Metric: MetricRunTime, Op: "<", Value: -1.5e6, Mode: "delta"},
		{Expr: "states>+100", Kind: "metric", Metric: MetricStates, Op: ">", Value: 100, Mode: "delta"},
	}
	if !reflect.DeepEqual(gs, want) {
		t.Fatalf("got  %+v\nwant %+v", gs, want)
	}
	if gs, err := ParseGates("  "); err != nil || gs != nil {
		t.Fatalf("empty: %v %v", gs, err)
	}
	for _, bad := range []string{"insns>>10%", "foo>1", "insns>10ns", "verdict,,insns>1", "insns>", "overhead>+1parsec", "verdicts", "insns=10", "insns>+10%%"} {
		_, err := ParseGates(bad)
		if !errors.Is(err, ErrBadGate) {
			t.Errorf("%q: err = %v, want ErrBadGate", bad, err)
			continue
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: multi-line error %q", bad, err)
		}
	}
}

func FuzzParseGates(f *testing.F) {
	for _, s := range []string{"verdict,insns>+10%,overhead>+20%", "stack>=448", "duration>+5ms", "x<", ",,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		gs, err := ParseGates(s)
		if err != nil {
			if !errors.Is(err, ErrBadGate) {
				t.Fatalf("%q: error %v is not ErrBadGate", s, err)
			}
			return
		}
		for _, g := range gs {
			if g.Kind == "metric" && g.Mode == "" {
				t.Fatalf("%q: metric gate without mode", s)
			}
		}
		gs.Check(Compare(fixture(), fixture()))
	})
}

// variant finds a variant in r for mutation.
func variantOf(t *testing.T, r *Results, kernel, prog, variant string) *VariantResult {
	t.Helper()
	v := r.Kernel(kernel).variant(prog, variant)
	if v == nil {
		t.Fatalf("no %s %s/%s", kernel, prog, variant)
	}
	return v
}

func TestGatesTrip(t *testing.T) {
	base := fixture()
	// Start from a clean baseline: no selection errors.
	for i := range base.Kernels {
		base.Kernels[i].SelectionErrors = nil
		base.Kernels[i].Outcome = OutcomeOK
	}
	for _, tc := range []struct {
		name   string
		gates  string
		mutate func(r *Results)
		want   []string // "kernel program/variant" of each violation
	}{
		{"identical", "verdict,selection,outcome,missing,insns>+0%,overhead>+0%,states>+0", func(*Results) {}, nil},
		{"insns +15% trips 10%", "insns>+10%", func(r *Results) {
			*variantOf(t, r, "6.1", "execsnoop", "modern").Programs[0].Verifier.InsnsProcessed = 1380
		}, []string{"6.1 execsnoop/modern"}},
		{"insns +15% passes 20%", "insns>+20%", func(r *Results) {
			*variantOf(t, r, "6.1", "execsnoop", "modern").Programs[0].Verifier.InsnsProcessed = 1380
		}, nil},
		{"insns absolute delta", "insns>+100", func(r *Results) {
			*variantOf(t, r, "6.12", "opensnoop", "kprobe").Programs[0].Verifier.InsnsProcessed = 521
		}, []string{"6.12 opensnoop/kprobe"}},
		{"insns shrink not a regression", "insns>+10%", func(r *Results) {
			*variantOf(t, r, "6.1", "execsnoop", "modern").Programs[0].Verifier.InsnsProcessed = 10
		}, nil},
		{"insns unknown never trips", "insns>+10%", func(r *Results) {
			variantOf(t, r, "6.1", "execsnoop", "modern").Programs[0].Verifier.InsnsProcessed = nil
		}, nil},
		{"verdict regression", "verdict", func(r *Results) {
			v := variantOf(t, r, "6.12", "execsnoop", "modern")
			v.Verdict = VerdictRejected
			v.Programs[0].Verdict = VerdictRejected
		}, []string{"6.12 execsnoop/modern"}},
		{"verdict fixed is fine", "verdict", func(r *Results) {
			v := variantOf(t, r, "5.10", "execsnoop", "modern")
			v.Verdict = VerdictLoaded
		}, nil},
		{"overhead +25%", "overhead>+20%", func(r *Results) {
			variantOf(t, r, "5.10", "opensnoop", "fentry").Overhead.PerEventNs.Median = 875
		}, []string{"5.10 opensnoop/fentry"}},
		{"overhead +10%", "overhead>+20%", func(r *Results) {
			variantOf(t, r, "5.10", "opensnoop", "fentry").Overhead.PerEventNs.Median = 770
		}, nil},
		{"overhead not measurable never trips", "overhead>+20%", func(r *Results) {
			o := variantOf(t, r, "6.1", "opensnoop", "fentry").Overhead
			o.PerEventNs = nil
			o.NotMeasurable = map[string]string{MetricPerEvent: "no samples"}
		}, nil},
		{"overhead absolute ns", "overhead>+100ns", func(r *Results) {
			variantOf(t, r, "6.1", "opensnoop", "fentry").Overhead.PerEventNs.Median = 850
		}, []string{"6.1 opensnoop/fentry"}},
		{"overhead_pct value", "overhead_pct>2.5", func(r *Results) {
			// 2600 ns on a 90 µs exec is 2.9 %; 1800 ns is 2.0 %
		}, []string{"5.10 execsnoop/legacy", "6.1 execsnoop/legacy", "6.12 execsnoop/legacy"}},
		{"overhead_pct needs a baseline", "overhead_pct>2.5", func(r *Results) {
			for i := range r.Kernels {
				if o := r.Kernels[i].variant("execsnoop", "legacy").Overhead; o != nil {
					o.BaselineNs = nil
				}
			}
		}, nil},
		{"stack value", "stack>=64", func(r *Results) {
			*variantOf(t, r, "6.1", "opensnoop", "kprobe").Programs[0].Verifier.StackDepth = 64
		}, []string{"6.1 opensnoop/kprobe"}},
		{"selection errors", "selection", func(r *Results) {
			r.Kernel("6.1").SelectionErrors = []string{"execsnoop: selected modern did not load"}
		}, []string{"6.1"}},
		{"kernel panic", "outcome", func(r *Results) {
			r.Kernel("6.12").Outcome = OutcomeKernelPanic
		}, []string{"6.12"}},
		{"failed outcome is not an outcome gate", "outcome", func(r *Results) {
			r.Kernel("6.12").Outcome = OutcomeFailed
		}, nil},
		{"missing kernel and variant", "missing", func(r *Results) {
			r.Kernels = r.Kernels[:2]
			k := r.Kernel("6.1")
			k.Variants = k.Variants[1:]
		}, []string{"6.12", "6.1 execsnoop/modern"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cur := clone(t, base)
			tc.mutate(cur)
			gs, err := ParseGates(tc.gates)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, v := range gs.Check(Compare(base, cur)) {
				s := v.Kernel
				if v.Program != "" {
					s += " " + v.Program + "/" + v.Variant
				}
				if v.Detail == "" {
					t.Errorf("violation without detail: %+v", v)
				}
				got = append(got, s)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("violations %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRenderDiff(t *testing.T) {
	base := fixture()
	cur := clone(t, base)
	*variantOf(t, cur, "6.1", "execsnoop", "modern").Programs[0].Verifier.InsnsProcessed = 1380
	v := variantOf(t, cur, "6.12", "opensnoop", "kprobe")
	v.Verdict = VerdictRejected
	c := Compare(base, cur)
	gs, _ := ParseGates("verdict,insns>+10%")
	vs := gs.Check(c)
	if len(vs) != 2 {
		t.Fatalf("violations %v", vs)
	}
	var b bytes.Buffer
	if err := RenderDiff(&b, c, gs, vs, "table"); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"6.1     execsnoop/modern  MATCH loaded", "1200", "1380", "+180 (+15.00%)",
		"MISMATCH loaded → rejected", "gates verdict,insns>+10%: 2 violation(s)", TCGNote} {
		if !strings.Contains(out, want) {
			t.Errorf("diff table lacks %q:\n%s", want, out)
		}
	}
	b.Reset()
	if err := RenderDiff(&b, c, gs, vs, "markdown"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "| 6.1 | execsnoop/modern | MATCH loaded | 1200 | 1380 | +180 (+15.00%) |") {
		t.Errorf("diff markdown:\n%s", b.String())
	}
	b.Reset()
	if err := RenderDiff(&b, c, gs, vs, "json"); err != nil {
		t.Fatal(err)
	}
	var j struct {
		Rows       []DiffRow   `json:"rows"`
		Violations []Violation `json:"violations"`
		Gates      Gates       `json:"gates"`
	}
	if err := json.Unmarshal(b.Bytes(), &j); err != nil {
		t.Fatal(err)
	}
	if len(j.Rows) != 15 || len(j.Violations) != 2 || len(j.Gates) != 2 {
		t.Fatalf("json diff: %d rows, %d violations, %d gates", len(j.Rows), len(j.Violations), len(j.Gates))
	}
	if err := RenderDiff(&b, c, gs, vs, "html"); !errors.Is(err, ErrUnknownFormat) {
		t.Fatalf("html diff: %v", err)
	}
}

func ExampleParseGates() {
	gates, err := ParseGates("verdict,insns>+10%,overhead>+20%")
	if err != nil {
		panic(err)
	}
	base := &Results{Kernels: []KernelResult{{Ref: "6.1", Outcome: OutcomeOK, Variants: []VariantResult{{
		Program: "execsnoop", Variant: "modern", Verdict: VerdictLoaded,
		Programs: []ProgramResult{{Name: "handle_exec", Verdict: VerdictLoaded, Verifier: VerifierStats{InsnsProcessed: i64(1000)}}},
	}}}}}
	cur := clone(&testing.T{}, base)
	*cur.Kernels[0].Variants[0].Programs[0].Verifier.InsnsProcessed = 1150
	for _, v := range gates.Check(Compare(base, cur)) {
		fmt.Println(v)
	}
	// Output:
	// insns>+10%: 6.1 execsnoop/modern: insns 1000 → 1150 (+15.00%)
}
