package reports

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/retrobpf/retrobpf/internal/mdtable"
)

// DiffFormats lists the formats RenderDiff accepts.
var DiffFormats = []string{"table", "markdown", "json"}

// RenderDiff writes the comparison and the gate verdict in format (one of
// DiffFormats), veristat -C style: per row A, B and DIFF (absolute and %),
// verdict MATCH/MISMATCH.
func RenderDiff(w io.Writer, c *Comparison, gates Gates, violations []Violation, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if gates == nil {
			gates = Gates{}
		}
		if violations == nil {
			violations = []Violation{}
		}
		return enc.Encode(struct {
			*Comparison
			Gates      Gates       `json:"gates"`
			Violations []Violation `json:"violations"`
		}{c, gates, violations})
	case "table":
		return diffTable(w, c, gates, violations)
	case "markdown":
		return diffMarkdown(w, c, gates, violations)
	}
	return fmt.Errorf("%w %q for diff (want one of %s)", ErrUnknownFormat, format, strings.Join(DiffFormats, ", "))
}

func verdictDiff(r DiffRow) string {
	a, b := string(r.A.Verdict), string(r.B.Verdict)
	switch {
	case a == "":
		return "new: " + b
	case b == "":
		return "gone: " + a
	case a == b:
		return "MATCH " + b
	}
	return "MISMATCH " + a + " → " + b
}

// abd formats A, B and DIFF of one metric.
func abd(r DiffRow, m Metric) (string, string, string) {
	val := func(s Side) string {
		v, ok := s.Value(m)
		if !ok {
			return "–"
		}
		return fmtMetric(m, v)
	}
	d := "–"
	if abs, pct, ok := r.Delta(m); ok {
		sign := ""
		if abs > 0 {
			sign = "+"
		}
		switch m {
		case MetricOverhead, MetricRunTime:
			d = sign + fmtNs(abs)
		default:
			d = sign + strconv.FormatFloat(abs, 'f', -1, 64)
		}
		d += " (" + fmtPct(pct) + ")"
	}
	return val(r.A), val(r.B), d
}

var diffMetrics = []Metric{MetricInsns, MetricStates, MetricOverhead}

func diffTable(w io.Writer, c *Comparison, gates Gates, vs []Violation) error {
	ew := &errWriter{w: w}
	if c.Emulated {
		ew.printf("note: %s\n\n", TCGNote)
	}
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "KERNEL\tPROGRAM/VARIANT\tVERDICT (A → B)")
	for _, m := range diffMetrics {
		u := strings.ToUpper(string(m))
		fmt.Fprintf(tw, "\t%s (A)\t%s (B)\t%s (DIFF)", u, u, u)
	}
	fmt.Fprintln(tw)
	for _, r := range c.Rows {
		fmt.Fprintf(tw, "%s\t%s/%s\t%s", r.Kernel, r.Program, r.Variant, verdictDiff(r))
		for _, m := range diffMetrics {
			a, b, d := abd(r, m)
			fmt.Fprintf(tw, "\t%s\t%s\t%s", a, b, d)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	writeGateSummary(ew, gates, vs, "")
	return ew.err
}

func diffMarkdown(w io.Writer, c *Comparison, gates Gates, vs []Violation) error {
	ew := &errWriter{w: w}
	ew.printf("## retrobpf diff: %d kernel(s), %d program variant(s)\n\n", len(c.Kernels), len(c.Rows))
	if c.Emulated {
		ew.printf("> **Note:** %s.\n\n", TCGNote)
	}
	ew.printf("| Kernel | Program / variant | Verdict (A → B) |")
	for _, m := range diffMetrics {
		ew.printf(" %s (A) | %s (B) | %s (DIFF) |", m, m, m)
	}
	ew.printf("\n|---|---|---|%s\n", strings.Repeat("---|", 3*len(diffMetrics)))
	for _, r := range c.Rows {
		ew.printf("| %s | %s/%s | %s |", mdtable.Cell(r.Kernel), mdtable.Cell(r.Program), mdtable.Cell(r.Variant), verdictDiff(r))
		for _, m := range diffMetrics {
			a, b, d := abd(r, m)
			ew.printf(" %s | %s | %s |", a, b, d)
		}
		ew.printf("\n")
	}
	writeGateSummary(ew, gates, vs, "- ")
	return ew.err
}

func writeGateSummary(ew *errWriter, gates Gates, vs []Violation, bullet string) {
	if len(gates) == 0 {
		return
	}
	exprs := make([]string, len(gates))
	for i, g := range gates {
		exprs[i] = g.Expr
	}
	if len(vs) == 0 {
		ew.printf("\ngates %s: pass\n", strings.Join(exprs, ","))
		return
	}
	ew.printf("\ngates %s: %d violation(s)\n", strings.Join(exprs, ","), len(vs))
	if bullet != "" {
		ew.printf("\n")
	}
	for _, v := range vs {
		if bullet == "" {
			ew.printf("  %s\n", v)
		} else {
			ew.printf("%s%s\n", bullet, mdtable.Cell(v.String()))
		}
	}
}
