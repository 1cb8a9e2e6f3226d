// Package reportstest checks rendered reports the way their consumers read
// them: JSON against the schema, JUnit and SARIF parsed back, CSV read as
// veristat would, the markdown size bound, and the HTML grid as headless
// Chromium builds it. The reports package tests use it on fixtures; the
// end-to-end matrix tests use it on real results.
package reportstest

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/retrobpf/retrobpf/reports"
)

// CheckAll renders r in every format and checks each one; the HTML check
// runs only when Chromium is available (see Chromium).
func CheckAll(t testing.TB, r *reports.Results) {
	t.Helper()
	checks := map[string]func([]byte, *reports.Results) error{
		"json":     CheckJSON,
		"junit":    CheckJUnit,
		"sarif":    CheckSARIF,
		"csv":      CheckCSV,
		"markdown": CheckMarkdown,
		"table":    CheckTable,
	}
	for _, format := range reports.Formats {
		var b bytes.Buffer
		if err := reports.Render(&b, r, format); err != nil {
			t.Errorf("render %s: %v", format, err)
			continue
		}
		if format == "html" {
			if bin, reason := FindChromium(); bin == "" {
				t.Logf("html not opened: %s", reason)
			} else if err := CheckHTML(bin, t.TempDir(), b.Bytes(), r); err != nil {
				t.Errorf("html: %v", err)
			}
			continue
		}
		if err := checks[format](b.Bytes(), r); err != nil {
			t.Errorf("%s: %v", format, err)
		}
	}
}

// CheckJSON decodes data with the schema and compares it to r.
func CheckJSON(data []byte, r *reports.Results) error {
	got, err := reports.Decode(data)
	if err != nil {
		return err
	}
	want, _ := json.Marshal(r)
	have, _ := json.Marshal(got)
	if !bytes.Equal(want, have) {
		return fmt.Errorf("JSON does not round-trip")
	}
	return nil
}

// CheckJUnit parses data as JUnit XML: one suite per kernel, a test case
// per variant, and counters that agree with the cases.
func CheckJUnit(data []byte, r *reports.Results) error {
	var root reports.JUnitTestSuites
	if err := xml.Unmarshal(data, &root); err != nil {
		return fmt.Errorf("not XML: %w", err)
	}
	if len(root.Suites) != len(r.Kernels) {
		return fmt.Errorf("%d suites for %d kernels", len(root.Suites), len(r.Kernels))
	}
	var tot [4]int
	for i, s := range root.Suites {
		k := r.Kernels[i]
		if s.Name != "kernel "+k.Ref {
			return fmt.Errorf("suite %d is %q, want kernel %s", i, s.Name, k.Ref)
		}
		var c [4]int
		names := map[string]bool{}
		for _, tc := range s.Cases {
			names[tc.Name] = true
			c[0]++
			switch {
			case tc.Failure != nil:
				c[1]++
			case tc.Error != nil:
				c[2]++
			case tc.Skipped != nil:
				c[3]++
			}
		}
		if c != [4]int{s.Tests, s.Failures, s.Errors, s.Skipped} {
			return fmt.Errorf("%s: attributes tests/failures/errors/skipped %d/%d/%d/%d, cases say %v", s.Name, s.Tests, s.Failures, s.Errors, s.Skipped, c)
		}
		for _, v := range k.Variants {
			if !names[v.Program+"["+v.Variant+"]"] {
				return fmt.Errorf("%s: no test case for %s[%s]", s.Name, v.Program, v.Variant)
			}
		}
		for j := range tot {
			tot[j] += c[j]
		}
	}
	if tot != [4]int{root.Tests, root.Failures, root.Errors, root.Skipped} {
		return fmt.Errorf("root counters %d/%d/%d/%d, suites say %v", root.Tests, root.Failures, root.Errors, root.Skipped, tot)
	}
	return nil
}

// CheckSARIF parses data as SARIF 2.1.0: every result's rule exists, has
// a location with a line, and the results cover every rejected program.
func CheckSARIF(data []byte, r *reports.Results) error {
	var log struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name  string `json:"name"`
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
							URI string `json:"uri"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine int `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
				Properties struct {
					Kernels []string `json:"kernels"`
				} `json:"properties"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(data, &log); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	if log.Version != "2.1.0" || len(log.Runs) != 1 || log.Runs[0].Tool.Driver.Name != "retrobpf" {
		return fmt.Errorf("version %q, %d runs", log.Version, len(log.Runs))
	}
	run := log.Runs[0]
	covered := 0
	for i, res := range run.Results {
		if res.RuleIndex < 0 || res.RuleIndex >= len(run.Tool.Driver.Rules) || run.Tool.Driver.Rules[res.RuleIndex].ID != res.RuleID {
			return fmt.Errorf("result %d: rule %s/%d not in the rules", i, res.RuleID, res.RuleIndex)
		}
		if res.Level != "error" && res.Level != "note" {
			return fmt.Errorf("result %d: level %q", i, res.Level)
		}
		if len(res.Locations) == 0 || res.Locations[0].PhysicalLocation.ArtifactLocation.URI == "" || res.Locations[0].PhysicalLocation.Region.StartLine < 1 {
			return fmt.Errorf("result %d has no file and line", i)
		}
		if res.Message.Text == "" {
			return fmt.Errorf("result %d has no message", i)
		}
		covered += len(res.Properties.Kernels)
	}
	rejected := 0
	for _, k := range r.Kernels {
		for _, v := range k.Variants {
			for _, p := range v.Programs {
				if p.Verdict == reports.VerdictRejected {
					rejected++
				}
			}
		}
	}
	if covered != rejected {
		return fmt.Errorf("results cover %d rejections, the results have %d", covered, rejected)
	}
	return nil
}

// CheckCSV reads data as veristat would: its header, integer figures,
// success/failure verdicts, unique (file_name, prog_name), one row per
// program the verifier saw.
func CheckCSV(data []byte, r *reports.Results) error {
	rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		return err
	}
	if len(rows) == 0 || !reflect.DeepEqual(rows[0], reports.CSVColumns) {
		return fmt.Errorf("header is not veristat's")
	}
	want := 0
	for _, k := range r.Kernels {
		for _, v := range k.Variants {
			for _, p := range v.Programs {
				if p.Verdict != reports.VerdictSkipped {
					want++
				}
			}
		}
	}
	if len(rows)-1 != want {
		return fmt.Errorf("%d rows, want %d", len(rows)-1, want)
	}
	keys := map[string]bool{}
	for _, row := range rows[1:] {
		if row[2] != "success" && row[2] != "failure" {
			return fmt.Errorf("verdict %q", row[2])
		}
		key := row[0] + "|" + row[1]
		if keys[key] {
			return fmt.Errorf("duplicate veristat key %s", key)
		}
		keys[key] = true
		for i, c := range reports.CSVColumns {
			if c == "file_name" || c == "prog_name" || c == "verdict" || c == "prog_type" || c == "attach_type" {
				continue
			}
			if _, err := strconv.ParseInt(row[i], 10, 64); err != nil {
				return fmt.Errorf("%s %s = %q is not an integer", key, c, row[i])
			}
		}
	}
	return nil
}

// CheckMarkdown checks the GitHub step summary bound and the grid rows.
func CheckMarkdown(data []byte, r *reports.Results) error {
	if len(data) >= reports.MarkdownLimit {
		return fmt.Errorf("%d bytes, GitHub takes < %d", len(data), reports.MarkdownLimit)
	}
	s := string(data)
	for _, k := range r.Kernels {
		for _, v := range k.Variants {
			if !strings.Contains(s, "| "+v.Program+"/"+v.Variant+" |") {
				return fmt.Errorf("no grid row for %s/%s", v.Program, v.Variant)
			}
		}
	}
	if strings.Count(s, "<details>") != strings.Count(s, "</details>") {
		return fmt.Errorf("unbalanced <details>")
	}
	return nil
}

// CheckTable checks the terminal grid has a row per variant.
func CheckTable(data []byte, r *reports.Results) error {
	for _, k := range r.Kernels {
		for _, v := range k.Variants {
			if !regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(v.Variant) + ` `).Match(data) {
				return fmt.Errorf("no grid row for %s/%s", v.Program, v.Variant)
			}
		}
	}
	return nil
}

// FindChromium returns a Chromium binary, installing the Debian package
// when running as root with CI=true; otherwise "" and why.
func FindChromium() (string, string) {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, ""
		}
	}
	if os.Getenv("CI") != "true" || os.Geteuid() != 0 {
		return "", "chromium not installed (installed automatically only as root with CI=true; or: apt-get install -y chromium)"
	}
	for _, args := range [][]string{{"update", "-q"}, {"install", "-y", "-q", "chromium"}} {
		cmd := exec.Command("apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Sprintf("apt-get %v: %v: %s", args, err, lastLine(out))
		}
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		return "", err.Error()
	}
	return p, ""
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// ChromiumFlags keep a headless Chromium offline and stateless.
var ChromiumFlags = []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
	"--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
	"--host-resolver-rules=MAP * ~NOTFOUND"}

// DumpDOM opens page in headless Chromium with a fresh profile under dir
// and returns the DOM it built.
func DumpDOM(bin, dir, page string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append(append([]string{}, ChromiumFlags...), "--user-data-dir="+filepath.Join(dir, "profile"), "--dump-dom", "file://"+page)
	cmd := exec.CommandContext(ctx, bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("chromium --dump-dom: %v: %s", err, lastLine(stderr.Bytes()))
	}
	return string(out), nil
}

var (
	gridRE     = regexp.MustCompile(`(?s)<table id="grid"[^>]*>(.*?)</table>`)
	gridHeadRE = regexp.MustCompile(`<th data-kernel="([^"]+)">`)
	gridRowRE  = regexp.MustCompile(`(?s)<tr[^>]*data-program="([^"]+)"(?: data-variant="([^"]+)")?[^>]*>(.*?)</tr>`)
	gridCellRE = regexp.MustCompile(`<td class="([^"]*)" data-kernel="([^"]+)"[^>]*>([^<]*)</td>`)
)

// GridCell is one cell of the HTML grid as the browser built it.
type GridCell struct {
	Program, Variant, Kernel, Class, Text string
}

// ParseGrid extracts the kernel columns and cells of the grid from a DOM.
func ParseGrid(dom string) (kernels []string, cells []GridCell, err error) {
	m := gridRE.FindStringSubmatch(dom)
	if m == nil {
		return nil, nil, fmt.Errorf("no grid table in the DOM")
	}
	for _, h := range gridHeadRE.FindAllStringSubmatch(m[1], -1) {
		kernels = append(kernels, h[1])
	}
	for _, row := range gridRowRE.FindAllStringSubmatch(m[1], -1) {
		for _, c := range gridCellRE.FindAllStringSubmatch(row[3], -1) {
			cells = append(cells, GridCell{Program: row[1], Variant: row[2], Kernel: c[2], Class: c[1], Text: c[3]})
		}
	}
	return kernels, cells, nil
}

// CheckHTML writes data to dir, opens it in Chromium and checks the grid:
// a column per kernel, a cell per kernel × variant whose mark matches the
// verdict (✔ loaded, ✗ rejected).
func CheckHTML(bin, dir string, data []byte, r *reports.Results) error {
	for _, bad := range []string{"<script", "<link", "url(", "@import"} {
		if bytes.Contains(bytes.ToLower(data), []byte(bad)) {
			return fmt.Errorf("not self-contained: has %s", bad)
		}
	}
	page := filepath.Join(dir, "report.html")
	if err := os.WriteFile(page, data, 0o644); err != nil {
		return err
	}
	dom, err := DumpDOM(bin, dir, page)
	if err != nil {
		return err
	}
	kernels, cells, err := ParseGrid(dom)
	if err != nil {
		return err
	}
	var refs []string
	for _, k := range r.Kernels {
		refs = append(refs, k.Ref)
	}
	if !reflect.DeepEqual(kernels, refs) {
		return fmt.Errorf("grid columns %v, want %v", kernels, refs)
	}
	byKey := map[string]GridCell{}
	for _, c := range cells {
		byKey[c.Kernel+" "+c.Program+"/"+c.Variant] = c
	}
	for _, k := range r.Kernels {
		for _, v := range k.Variants {
			c, ok := byKey[k.Ref+" "+v.Program+"/"+v.Variant]
			if !ok {
				return fmt.Errorf("no grid cell for %s %s/%s", k.Ref, v.Program, v.Variant)
			}
			mark := map[reports.Verdict]string{reports.VerdictLoaded: "✔", reports.VerdictRejected: "✗"}[v.Verdict]
			if mark != "" && !strings.HasPrefix(c.Text, mark) {
				return fmt.Errorf("%s %s/%s is %s but its cell says %q", k.Ref, v.Program, v.Variant, v.Verdict, c.Text)
			}
		}
	}
	return nil
}
