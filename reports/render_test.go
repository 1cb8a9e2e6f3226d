package reports

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func render(t *testing.T, r *Results, format string) string {
	t.Helper()
	var b bytes.Buffer
	if err := Render(&b, r, format); err != nil {
		t.Fatalf("render %s: %v", format, err)
	}
	return b.String()
}

// TestRenderNoFormattingErrors catches fmt/template verbs applied to the
// wrong type (pointers printed as %!f(*float64=0x…)) in every format.
func TestRenderNoFormattingErrors(t *testing.T) {
	for _, f := range Formats {
		if out := render(t, fixture(), f); strings.Contains(out, "%!") || strings.Contains(out, "0xc0") {
			i := strings.Index(out, "%!")
			t.Errorf("%s output has a formatting error near %q", f, out[max(0, i-40):min(len(out), i+60)])
		}
	}
}

func TestOverheadText(t *testing.T) {
	for _, tc := range []struct {
		v    *VariantResult
		want string
	}{
		{nil, "–"},
		{&VariantResult{}, "–"},
		{&VariantResult{Attached: true}, "not measured"},
		{&VariantResult{Attached: true, Overhead: &Overhead{NotMeasurable: map[string]string{MetricPerEvent: "x"}}}, NotMeasurable},
		{&VariantResult{Attached: true, Overhead: &Overhead{TestRunNsPerOp: f64(42)}}, "test_run 42 ns/op"},
		{&VariantResult{Attached: true, Overhead: &Overhead{RunTimeNsPerRun: f64(1500), NotMeasurable: map[string]string{MetricPerEvent: WithinNoise + ": added cost 3 ns/event"}}}, WithinNoise},
		{&VariantResult{Attached: true, Overhead: &Overhead{RunTimeNsPerRun: f64(1500)}}, "run_time 1.50 µs/run"},
		{&VariantResult{Attached: true, Overhead: &Overhead{PerEventNs: &Estimate{-20, -50, 10}}}, "-20 ns [-50 ns, 10 ns]"},
		{&VariantResult{Attached: true, Overhead: &Overhead{PerEventNs: &Estimate{900, 800, 1000}, BaselineNs: &Estimate{Median: 3000}}}, "+900 ns [800 ns, 1.00 µs] (+30.0%)"},
	} {
		if got := overheadText(tc.v); got != tc.want {
			t.Errorf("overheadText(%+v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

func TestRenderUnknownFormat(t *testing.T) {
	if err := Render(new(bytes.Buffer), fixture(), "pdf"); !errors.Is(err, ErrUnknownFormat) {
		t.Fatalf("err = %v", err)
	}
}

func TestRenderJSONIsSchemaValid(t *testing.T) {
	out := render(t, fixture(), "json")
	got, err := Decode([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, fixture()) {
		t.Fatal("json render does not round-trip")
	}
	if strings.Contains(out, `"per_event_ns": {`+"\n"+`          "median": 0`) {
		t.Fatal("a missing figure was written as 0")
	}
}

func TestRenderTableGrid(t *testing.T) {
	out := render(t, fixture(), "table")
	for _, re := range []string{
		`(?m)^execsnoop ⇒ selected +legacy +modern +modern$`,
		`(?m)^  modern +✗ missing-map-type +✔ 1200 ★ +✔ 1200 ★$`,
		`(?m)^  only +✗ loop ★ +✗ too-complex ★ +✗ too-complex ★$`,
		`(?m)^opensnoop/fentry .*not measurable`,
		`note: absolute times are emulated \(TCG\)`,
		`(?m)^  5\.10 loopy/only loop_forever: loop: back-edge .*\(bpf/testdata/loopy\.c:17\)$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("table lacks %s:\n%s", re, out)
		}
	}
}

func TestRenderMarkdown(t *testing.T) {
	out := render(t, fixture(), "markdown")
	for _, want := range []string{
		"| execsnoop/modern | ✗ missing-map-type | ✔ 1200 ★ | ✔ 1200 ★ |",
		"| **execsnoop** ⇒ selected | legacy | modern | modern |",
		"| opensnoop/fentry | +700 ns [560 ns, 910 ns] (+0.8%) | +700 ns [560 ns, 910 ns] (+0.8%) | not measurable |",
		"> **Note:** absolute times are emulated (TCG)",
		"back-edge from insn 12 to 4",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	if n := strings.Count(out, "<details>"); n != 3 {
		t.Errorf("%d <details>, want one per kernel (3)", n)
	}
	if strings.Count(out, "<details>") != strings.Count(out, "</details>") {
		t.Error("unbalanced <details>")
	}
}

// TestMarkdownBudget: huge logs are cut so the summary fits GitHub's 1 MiB
// step summary limit, and the grid survives.
func TestMarkdownBudget(t *testing.T) {
	r := fixture()
	huge := strings.Repeat("R1 invalid mem access 'scalar' at some very long verifier state line\n", 8000) // ~560 KB
	for ki := range r.Kernels {
		for vi := range r.Kernels[ki].Variants {
			for pi := range r.Kernels[ki].Variants[vi].Programs {
				r.Kernels[ki].Variants[vi].Programs[pi].Verifier.LogExcerpt = huge
			}
		}
	}
	var b bytes.Buffer
	if err := Render(&b, r, "markdown"); err != nil {
		t.Fatal(err)
	}
	if b.Len() >= MarkdownLimit {
		t.Fatalf("markdown is %d bytes, limit %d", b.Len(), MarkdownLimit)
	}
	out := b.String()
	if !strings.Contains(out, "| execsnoop/modern | ✗ missing-map-type |") || !strings.Contains(out, "lines cut)") {
		t.Fatalf("budgeted markdown lost the grid or did not cut logs (%d bytes)", b.Len())
	}

	// A tiny budget drops the details, then cuts, but stays within it.
	for _, budget := range []int{6000, 1500} {
		b.Reset()
		if err := (RenderOptions{MarkdownBudget: budget}).Render(&b, r, "markdown"); err != nil {
			t.Fatal(err)
		}
		if b.Len() > budget {
			t.Fatalf("budget %d: wrote %d bytes", budget, b.Len())
		}
		if strings.Contains(b.String(), "<details>") {
			t.Fatalf("budget %d: details kept", budget)
		}
	}
}

func TestRenderJUnit(t *testing.T) {
	r := fixture()
	// A fourth kernel that panicked before running anything.
	r.Kernels = append(r.Kernels, KernelResult{Ref: "4.19", Version: *ver("4.19"), Accel: AccelTCG, Emulated: true,
		Outcome: OutcomeKernelPanic, Error: "Kernel panic - not syncing: VFS", ConsoleTail: "Kernel panic - not syncing: VFS: Unable to mount root fs"})
	out := render(t, r, "junit")
	var got JUnitTestSuites
	if err := xml.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("junit is not XML: %v\n%s", err, out)
	}
	if len(got.Suites) != 4 {
		t.Fatalf("%d suites, want 4", len(got.Suites))
	}
	type tally struct{ tests, failures, errors, skipped int }
	want := map[string]tally{
		// 5 variants + selection; failures: loopy + selection; modern skipped (predicted by selection)
		"kernel 5.10": {6, 2, 0, 1},
		"kernel 6.1":  {6, 2, 0, 0},
		"kernel 6.12": {6, 2, 0, 0},
		"kernel 4.19": {1, 0, 1, 0},
	}
	var total tally
	for _, s := range got.Suites {
		var c tally
		for _, tc := range s.Cases {
			c.tests++
			switch {
			case tc.Failure != nil:
				c.failures++
			case tc.Error != nil:
				c.errors++
			case tc.Skipped != nil:
				c.skipped++
			}
		}
		if c != want[s.Name] {
			t.Errorf("%s: counted %+v, want %+v", s.Name, c, want[s.Name])
		}
		if (tally{s.Tests, s.Failures, s.Errors, s.Skipped}) != c {
			t.Errorf("%s: attributes %d/%d/%d/%d disagree with its cases %+v", s.Name, s.Tests, s.Failures, s.Errors, s.Skipped, c)
		}
		total.tests += c.tests
		total.failures += c.failures
		total.errors += c.errors
		total.skipped += c.skipped
	}
	if (tally{got.Tests, got.Failures, got.Errors, got.Skipped}) != total {
		t.Errorf("root attributes %d/%d/%d/%d, want %+v", got.Tests, got.Failures, got.Errors, got.Skipped, total)
	}
	var loopy *JUnitTestCase
	for i, tc := range got.Suites[0].Cases {
		if tc.Name == "loopy[only]" {
			loopy = &got.Suites[0].Cases[i]
		}
	}
	if loopy == nil || loopy.Failure == nil || loopy.Failure.Type != "loop" ||
		!strings.Contains(loopy.Failure.Message, "hint: bound the loop") ||
		!strings.Contains(loopy.Failure.Text, "bpf/testdata/loopy.c:17") {
		t.Fatalf("loopy on 5.10: %+v", loopy)
	}
	if !strings.Contains(got.Suites[3].Cases[0].Error.Text, "Unable to mount root fs") {
		t.Fatalf("panic case lacks the console: %+v", got.Suites[3].Cases[0])
	}
}

func TestRenderSARIF(t *testing.T) {
	r := fixture()
	// One rejection with an absolute source path under the source root.
	r.Kernels[0].Variants[0].Programs[0].Triage.Source = &SourceLocation{File: "/src/repo/bpf/execsnoop.c", Line: 42, Text: "bpf_ringbuf_reserve(&events, sizeof(*e), 0);"}
	var b bytes.Buffer
	if err := (RenderOptions{SourceRoot: "/src/repo"}).Render(&b, r, "sarif"); err != nil {
		t.Fatal(err)
	}
	var log struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Rules []struct {
						ID string `json:"id"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				RuleIndex int    `json:"ruleIndex"`
				Level     string `json:"level"`
				Message   struct {
					Text string `json:"text"`
				} `json:"message"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI       string `json:"uri"`
							URIBaseID string `json:"uriBaseId"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine   int `json:"startLine"`
							StartColumn int `json:"startColumn"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
				Fingerprints map[string]string `json:"partialFingerprints"`
				Properties   struct {
					Kernels []string `json:"kernels"`
				} `json:"properties"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(b.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || len(log.Runs) != 1 {
		t.Fatalf("version %q, %d runs", log.Version, len(log.Runs))
	}
	run := log.Runs[0]
	type loc struct {
		rule, uri, level string
		line             int
		kernels          string
	}
	var got []loc
	fps := map[string]bool{}
	for _, res := range run.Results {
		if run.Tool.Driver.Rules[res.RuleIndex].ID != res.RuleID {
			t.Errorf("ruleIndex %d is %s, result says %s", res.RuleIndex, run.Tool.Driver.Rules[res.RuleIndex].ID, res.RuleID)
		}
		if len(res.Locations) != 1 {
			t.Fatalf("%d locations", len(res.Locations))
		}
		pl := res.Locations[0].PhysicalLocation
		if pl.ArtifactLocation.URIBaseID != "%SRCROOT%" {
			t.Errorf("%s: uriBaseId %q", pl.ArtifactLocation.URI, pl.ArtifactLocation.URIBaseID)
		}
		fp := res.Fingerprints["retrobpfRejection/v1"]
		if fp == "" || fps[fp] {
			t.Errorf("fingerprint %q missing or duplicate", fp)
		}
		fps[fp] = true
		got = append(got, loc{res.RuleID, pl.ArtifactLocation.URI, res.Level, pl.Region.StartLine, strings.Join(res.Properties.Kernels, ",")})
	}
	want := []loc{
		{"retrobpf/loop", "bpf/testdata/loopy.c", "error", 17, "5.10"},
		{"retrobpf/too-complex", "bpf/testdata/loopy.c", "error", 17, "6.1,6.12"},
		{"retrobpf/missing-map-type", "bpf/execsnoop.c", "note", 42, "5.10"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("sarif results\n got %+v\nwant %+v", got, want)
	}

	// Without line info (none, or only the log's source text) the object
	// file is the location.
	for _, src := range []*SourceLocation{nil, {Text: "e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);"}} {
		r.Kernels[0].Variants[0].Programs[0].Triage.Source = src
		if err := r.Validate(); err != nil {
			t.Fatal(err)
		}
		out := render(t, r, "sarif")
		if !strings.Contains(out, `"uri": "bpf/execsnoop_modern.o"`) {
			t.Fatalf("no object fallback location:\n%s", out)
		}
	}
	if out := render(t, r, "table"); !strings.Contains(out, `map type 27 not supported ("e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);")`) {
		t.Fatalf("table lacks the source text:\n%s", out)
	}
}

func TestRenderCSV(t *testing.T) {
	parse := func(r *Results) [][]string {
		rows, err := csv.NewReader(strings.NewReader(render(t, r, "csv"))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(rows[0], CSVColumns) {
			t.Fatalf("header %v", rows[0])
		}
		return rows[1:]
	}
	rows := parse(fixture())
	if len(rows) != 15 {
		t.Fatalf("%d rows, want 15 (3 kernels × 5 programs)", len(rows))
	}
	col := map[string]int{}
	for i, c := range CSVColumns {
		col[c] = i
	}
	verdicts := map[string]int{}
	keys := map[string]bool{}
	for _, row := range rows {
		verdicts[row[col["verdict"]]]++
		key := row[col["file_name"]] + "|" + row[col["prog_name"]]
		if keys[key] {
			t.Errorf("duplicate veristat join key %s", key)
		}
		keys[key] = true
		for _, c := range []string{"duration", "total_insns", "total_states", "peak_states", "max_states_per_insn", "mark_read", "prog_size", "prog_size_jited", "stack_depth", "mem_peak"} {
			if _, err := strconv.ParseInt(row[col[c]], 10, 64); err != nil {
				t.Errorf("%s %s = %q: veristat cannot parse it", key, c, row[col[c]])
			}
		}
	}
	if verdicts["success"] != 11 || verdicts["failure"] != 4 {
		t.Errorf("verdicts %v, want 11 success, 4 failure", verdicts)
	}
	if !keys["6.1/execsnoop_modern.o|handle_exec"] {
		t.Errorf("keys %v", keys)
	}
	one, err := fixture().Only("6.12")
	if err != nil {
		t.Fatal(err)
	}
	rows = parse(one)
	if len(rows) != 5 || rows[0][col["file_name"]] != "execsnoop_modern.o" || rows[0][col["total_insns"]] != "1200" {
		t.Fatalf("single kernel rows: %v", rows)
	}
}

func TestRenderHTMLSelfContained(t *testing.T) {
	out := render(t, fixture(), "html")
	for _, bad := range []*regexp.Regexp{
		regexp.MustCompile(`(?i)<script`),
		regexp.MustCompile(`(?i)\b(src|href)\s*=`),
		regexp.MustCompile(`(?i)url\(`),
		regexp.MustCompile(`(?i)@import`),
		regexp.MustCompile(`(?i)<link`),
	} {
		if loc := bad.FindStringIndex(out); loc != nil {
			t.Errorf("html is not self-contained: %q", out[loc[0]:min(len(out), loc[1]+40)])
		}
	}
	if n := strings.Count(out, `<figure class="chart insns"`); n != 3 {
		t.Errorf("%d instruction charts, want one per kernel", n)
	}
	if !strings.Contains(out, `<figure class="chart overhead">`) || !strings.Contains(out, TCGNote) {
		t.Error("no overhead chart or no TCG note")
	}
}

func TestOnlyUnknownKernel(t *testing.T) {
	_, err := fixture().Only("4.19")
	if err == nil || !strings.Contains(err.Error(), `"4.19"`) || !strings.Contains(err.Error(), "6.12") {
		t.Fatalf("err = %v", err)
	}
}

func ExampleRender() {
	r := &Results{
		SchemaVersion: SchemaVersion,
		Tool:          Tool{Name: "retrobpf"},
		Manifest:      Manifest{Path: "suite.yaml"},
		Kernels: []KernelResult{{
			Ref: "6.1", Accel: AccelKVM, Outcome: OutcomeOK,
			Variants: []VariantResult{{
				Program: "execsnoop", Variant: "modern", Object: "execsnoop_modern.o", Verdict: VerdictLoaded,
				Programs: []ProgramResult{{Name: "handle_exec", Type: "tracing", Verdict: VerdictLoaded,
					Verifier: VerifierStats{InsnsProcessed: i64(1234), InsnsSource: InsnsFromVerifiedInsns}}},
			}},
		}},
	}
	var b bytes.Buffer
	Render(&b, r, "csv")
	fmt.Print(b.String())
	// Output:
	// file_name,prog_name,verdict,duration,total_insns,total_states,peak_states,max_states_per_insn,mark_read,prog_size,prog_size_jited,prog_type,attach_type,stack_depth,mem_peak
	// execsnoop_modern.o,handle_exec,success,0,1234,0,0,0,0,0,0,tracing,,0,0
}
