package reportstest

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/retrobpf/retrobpf/reports"
)

func load(t *testing.T, name string) *reports.Results {
	t.Helper()
	r, err := reports.Load("../testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestCheckAllOnRealisticResults(t *testing.T) {
	for _, f := range []string{"results-old.json", "results-new.json"} {
		t.Run(f, func(t *testing.T) { CheckAll(t, load(t, f)) })
	}
}

func rendered(t *testing.T, r *reports.Results, format string) string {
	var b bytes.Buffer
	if err := reports.Render(&b, r, format); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestChecksFail: each check rejects a broken rendering, so CheckAll
// passing means something.
func TestChecksFail(t *testing.T) {
	r := load(t, "results-old.json")
	for _, tc := range []struct {
		name  string
		check func([]byte, *reports.Results) error
		bad   func() string
		msg   string
	}{
		{"json changed", CheckJSON, func() string {
			return strings.Replace(rendered(t, r, "json"), `"insns_processed": 1500`, `"insns_processed": 1501`, 1)
		}, "round-trip"},
		{"junit counter", CheckJUnit, func() string {
			return strings.Replace(rendered(t, r, "junit"), `failures="2"`, `failures="1"`, 1)
		}, "attributes"},
		{"junit missing case", CheckJUnit, func() string {
			return strings.Replace(rendered(t, r, "junit"), `name="loopy[only]"`, `name="other"`, 1)
		}, "no test case for loopy[only]"},
		{"sarif rule", CheckSARIF, func() string {
			// Point the first result at the next rule, whatever its index.
			out := rendered(t, r, "sarif")
			m := regexp.MustCompile(`"ruleIndex": (\d+)`).FindStringSubmatchIndex(out)
			if m == nil {
				t.Fatal("no ruleIndex in the SARIF")
			}
			n, _ := strconv.Atoi(out[m[2]:m[3]])
			return out[:m[2]] + strconv.Itoa(n+1) + out[m[3]:]
		}, "not in the rules"},
		{"sarif lost a result", CheckSARIF, func() string {
			return strings.Replace(rendered(t, r, "sarif"), `"6.1"`, ``, 1)
		}, "results cover 2 rejections, the results have 3"},
		{"csv text figure", CheckCSV, func() string {
			return strings.Replace(rendered(t, r, "csv"), ",1500,", ",n/a,", 1)
		}, "not an integer"},
		{"csv lost a row", CheckCSV, func() string {
			out := rendered(t, r, "csv")
			return out[:strings.LastIndex(strings.TrimRight(out, "\n"), "\n")+1]
		}, "rows, want"},
		{"markdown too big", CheckMarkdown, func() string {
			return rendered(t, r, "markdown") + strings.Repeat("x", reports.MarkdownLimit)
		}, "bytes"},
		{"table lost a row", CheckTable, func() string {
			return strings.Replace(rendered(t, r, "table"), "  legacy ", "  legazy ", -1)
		}, "legacy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.check([]byte(tc.bad()), r)
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.msg)
			}
		})
	}
}

func TestCheckHTMLFails(t *testing.T) {
	r := load(t, "results-old.json")
	if err := CheckHTML("/nonexistent", t.TempDir(), []byte(`<html><script src="x.js"></script>`), r); err == nil || !strings.Contains(err.Error(), "self-contained") {
		t.Fatalf("script accepted: %v", err)
	}
	bin, reason := FindChromium()
	if bin == "" {
		t.Skip(reason)
	}
	good := rendered(t, r, "html")
	if err := CheckHTML(bin, t.TempDir(), []byte(good), r); err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(good, "✔ 1500 ★", "✗ 1500 ★", 1)
	if err := CheckHTML(bin, t.TempDir(), []byte(bad), r); err == nil || !strings.Contains(err.Error(), "is loaded but its cell says") {
		t.Fatalf("wrong mark accepted: %v", err)
	}
	if err := CheckHTML(bin, t.TempDir(), []byte(strings.Replace(good, `id="grid"`, `id="grit"`, 1)), r); err == nil || !strings.Contains(err.Error(), "no grid") {
		t.Fatalf("missing grid accepted: %v", err)
	}
}
