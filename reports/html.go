package reports

import (
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
)

// The HTML report is one self-contained file: inline CSS and inline SVG,
// no script, no external fetch, so it opens from a CI artifact offline.

type htmlCell struct {
	Kernel, Class, Text, Title string
}

type htmlRow struct {
	Program, Variant string // Variant == "" for the "selected" row
	Cells            []htmlCell
}

type htmlKernel struct {
	K       *KernelResult
	Counts  string
	Boot    string
	Chart   template.HTML
	Details template.HTML
}

type htmlData struct {
	R        *Results
	Created  string
	Note     string
	Kernels  []htmlKernel
	Grid     []htmlRow
	Overhead template.HTML
}

var htmlTmpl = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>retrobpf: {{.R.Manifest.Path}}</title>
<style>
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em;color:#1b1f24;background:#fff}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0}
th,td{border:1px solid #d0d7de;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f6f8fa}
td.loaded{background:#dafbe1}td.rejected{background:#ffebe9}td.expected{background:#fff8c5}
td.skipped,td.absent{background:#f6f8fa;color:#57606a}td.error{background:#ffd8b5}
td.sel{font-weight:600}
tr.selrow td,tr.selrow th{background:#ddf4ff}
.note{background:#fff8c5;border:1px solid #d4a72c;padding:.5em 1em;display:inline-block}
pre{background:#f6f8fa;padding:.5em;overflow:auto;max-height:30em}
figure{margin:1em 0}figcaption{font-weight:600}
svg text{font:12px system-ui,sans-serif}
details{margin:.5em 0}summary{cursor:pointer}
</style>
</head>
<body>
<h1>retrobpf results: {{.R.Manifest.Path}}</h1>
<p>{{len .R.Kernels}} kernel(s), run {{.Created}}{{with .R.Tool.Version}}, retrobpf {{.}}{{end}}.</p>
{{with .Note}}<p class="note" id="tcg-note">Note: {{.}}.</p>{{end}}

<h2>Kernels</h2>
<table id="kernels">
<tr><th>Kernel</th><th>Release</th><th>Accel</th><th>Outcome</th><th>Boot</th><th>BTF</th><th>Variants</th></tr>
{{range .Kernels}}<tr data-kernel="{{.K.Ref}}"><td>{{.K.Ref}}</td><td>{{.K.Release}}</td><td>{{.K.Accel}}</td><td>{{.K.Outcome}}{{with .K.Error}}: {{.}}{{end}}</td><td>{{.Boot}}</td><td>{{.K.BTFSource}}</td><td>{{.Counts}}</td></tr>
{{end}}</table>

<h2>Verifier grid</h2>
<p>✔ instructions processed · ✗ rejection class (yellow: expected, selection picks another variant) · ★ variant selected for that kernel</p>
<table id="grid" class="grid">
<thead><tr><th>Program / variant</th>{{range .Kernels}}<th data-kernel="{{.K.Ref}}">{{.K.Ref}}</th>{{end}}</tr></thead>
<tbody>
{{range .Grid}}{{if .Variant}}<tr data-program="{{.Program}}" data-variant="{{.Variant}}"><th>{{.Program}}/{{.Variant}}</th>{{else}}<tr class="selrow" data-program="{{.Program}}"><th>{{.Program}} ⇒ selected</th>{{end}}{{range .Cells}}<td class="{{.Class}}" data-kernel="{{.Kernel}}" title="{{.Title}}">{{.Text}}</td>{{end}}</tr>
{{end}}</tbody>
</table>

<h2>Verifier instructions per kernel</h2>
{{range .Kernels}}{{.Chart}}{{end}}

<h2>Overhead</h2>
<p>Added cost per trigger event (median, whiskers: 95 % confidence interval).{{with .Note}} {{.}}.{{end}}</p>
{{.Overhead}}

<h2>Details</h2>
{{range .Kernels}}{{.Details}}{{end}}
</body>
</html>
`))

func renderHTML(w io.Writer, r *Results) error {
	g := newGrid(r)
	d := htmlData{R: r, Created: r.CreatedAt.UTC().Format("2006-01-02 15:04 UTC")}
	if r.emulated() {
		d.Note = TCGNote
	}
	for _, k := range g.kernels {
		d.Kernels = append(d.Kernels, htmlKernel{K: k, Counts: k.counts().String(), Boot: optSeconds(k.BootSeconds),
			Chart: insnsChart(g, k), Details: htmlDetails(k)})
	}
	for _, p := range g.programs {
		row := htmlRow{Program: p.name}
		for _, k := range g.kernels {
			row.Cells = append(row.Cells, htmlCell{Kernel: k.Ref, Class: "selected-variant", Text: selectedText(k, p.name)})
		}
		d.Grid = append(d.Grid, row)
		for _, vn := range p.variants {
			row := htmlRow{Program: p.name, Variant: vn}
			for _, k := range g.kernels {
				v := k.variant(p.name, vn)
				c := htmlCell{Kernel: k.Ref, Text: cellText(k, v)}
				switch {
				case v == nil:
					c.Class = "absent"
				case v.Verdict == VerdictRejected && k.predictedRejection(v) != "":
					c.Class = "rejected expected"
					c.Title = "expected: " + k.predictedRejection(v)
				default:
					c.Class = string(v.Verdict)
				}
				if v != nil {
					if _, t := v.triage(); t != nil {
						c.Title = strings.TrimPrefix(c.Title+"; ", "; ") + t.Message
						if t.Hint != "" {
							c.Title += " — hint: " + t.Hint
						}
					}
					if k.isSelected(v) {
						c.Class += " sel"
					}
				}
				row.Cells = append(row.Cells, c)
			}
			d.Grid = append(d.Grid, row)
		}
	}
	d.Overhead = overheadChart(g)
	return htmlTmpl.Execute(w, d)
}

var palette = []string{"#0969da", "#1a7f37", "#bf3989", "#9a6700", "#8250df", "#cf222e", "#1b7c83", "#6e7781"}

// insnsChart is a horizontal bar chart of processed instructions per
// variant on kernel k; rejected or unknown variants are labelled, not drawn.
func insnsChart(g *grid, k *KernelResult) template.HTML {
	type bar struct {
		label string
		val   *int64
		note  string
	}
	var bars []bar
	var maxV int64 = 1
	for _, p := range g.programs {
		for _, vn := range p.variants {
			v := k.variant(p.name, vn)
			b := bar{label: p.name + "/" + vn}
			switch {
			case v == nil:
				b.note = "not run"
			case v.Verdict != VerdictLoaded:
				b.note = strings.TrimSpace(cellText(k, v))
			default:
				b.val = v.insns()
				if b.val == nil {
					b.note = "✔ (insns unknown)"
				} else if *b.val > maxV {
					maxV = *b.val
				}
			}
			bars = append(bars, b)
		}
	}
	const labelW, barW, rowH = 220, 420, 22
	h := rowH*len(bars) + 10
	var s strings.Builder
	fmt.Fprintf(&s, `<figure class="chart insns" data-kernel="%s"><figcaption>Kernel %s: instructions processed</figcaption>`+"\n", htmlEscape(k.Ref), htmlEscape(k.Ref))
	fmt.Fprintf(&s, `<svg role="img" width="%d" height="%d" viewBox="0 0 %d %d">`+"\n", labelW+barW+120, h, labelW+barW+120, h)
	for i, b := range bars {
		y := 5 + i*rowH
		fmt.Fprintf(&s, `<text x="%d" y="%d" text-anchor="end">%s</text>`, labelW-6, y+15, htmlEscape(b.label))
		if b.val != nil {
			wd := max(1, int(float64(barW)*float64(*b.val)/float64(maxV)))
			fmt.Fprintf(&s, `<rect class="bar" x="%d" y="%d" width="%d" height="%d" fill="%s" data-value="%d"></rect>`, labelW, y+3, wd, rowH-6, palette[0], *b.val)
			fmt.Fprintf(&s, `<text x="%d" y="%d">%d</text>`, labelW+wd+4, y+15, *b.val)
		} else {
			fmt.Fprintf(&s, `<text x="%d" y="%d" fill="#57606a">%s</text>`, labelW+4, y+15, htmlEscape(b.note))
		}
		s.WriteString("\n")
	}
	s.WriteString("</svg></figure>\n")
	return template.HTML(s.String())
}

// overheadChart groups, per variant, one bar per kernel: the median added
// ns per event with its confidence interval as a whisker.
func overheadChart(g *grid) template.HTML {
	const labelW, barW, barH, gap = 220, 420, 14, 8
	type row struct {
		prog, variant string
		est           []*Estimate
	}
	var rows []row
	maxV := 1.0
	for _, p := range g.programs {
		for _, vn := range p.variants {
			rw := row{prog: p.name, variant: vn}
			relevant := false // a variant never attached anywhere has no row
			for _, k := range g.kernels {
				if v := k.variant(p.name, vn); v != nil && (v.Attached || v.Overhead != nil) {
					relevant = true
				}
			}
			if !relevant {
				continue
			}
			for _, k := range g.kernels {
				var e *Estimate
				if v := k.variant(p.name, vn); v != nil && v.Overhead != nil {
					e = v.Overhead.PerEventNs
				}
				rw.est = append(rw.est, e)
				if e != nil {
					maxV = max(maxV, e.CIHigh, e.Median)
				}
			}
			rows = append(rows, rw)
		}
	}
	nk := max(1, len(g.kernels))
	groupH := nk*barH + gap
	h := len(rows)*groupH + 40
	var s strings.Builder
	s.WriteString(`<figure class="chart overhead"><figcaption>Overhead per event</figcaption>` + "\n")
	fmt.Fprintf(&s, `<svg role="img" width="%d" height="%d" viewBox="0 0 %d %d">`+"\n", labelW+barW+160, h, labelW+barW+160, h)
	for i, k := range g.kernels {
		x := labelW + i*90
		fmt.Fprintf(&s, `<rect x="%d" y="4" width="12" height="12" fill="%s"></rect><text x="%d" y="14">%s</text>`+"\n", x, palette[i%len(palette)], x+16, htmlEscape(k.Ref))
	}
	scale := func(v float64) int { return int(float64(barW) * max(0, v) / maxV) }
	for ri, rw := range rows {
		y0 := 28 + ri*groupH
		fmt.Fprintf(&s, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", labelW-6, y0+nk*barH/2+4, htmlEscape(rw.prog+"/"+rw.variant))
		for ki, e := range rw.est {
			y := y0 + ki*barH
			if e == nil {
				fmt.Fprintf(&s, `<text x="%d" y="%d" fill="#57606a" font-size="10">%s: %s</text>`+"\n", labelW+4, y+barH-3, htmlEscape(g.kernels[ki].Ref), htmlEscape(overheadText(g.kernels[ki].variant(rw.prog, rw.variant))))
				continue
			}
			wd := max(1, scale(e.Median))
			fmt.Fprintf(&s, `<rect class="bar" x="%d" y="%d" width="%d" height="%d" fill="%s" data-kernel="%s" data-median="%s"></rect>`,
				labelW, y+1, wd, barH-2, palette[ki%len(palette)], htmlEscape(g.kernels[ki].Ref), strconv.FormatFloat(e.Median, 'f', 1, 64))
			fmt.Fprintf(&s, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#1b1f24"></line>`, labelW+scale(e.CILow), labelW+scale(e.CIHigh), y+barH/2, y+barH/2)
			fmt.Fprintf(&s, `<text x="%d" y="%d" font-size="10">%s</text>`+"\n", labelW+max(wd, scale(e.CIHigh))+4, y+barH-3, htmlEscape(fmtSigned(e.Median)))
		}
	}
	s.WriteString("</svg></figure>\n")
	return template.HTML(s.String())
}

// htmlDetails is one kernel's <details>: per-program figures and the
// rejections with their log excerpts.
func htmlDetails(k *KernelResult) template.HTML {
	var s strings.Builder
	e := htmlEscape
	fmt.Fprintf(&s, `<details class="kernel" data-kernel="%s"><summary><b>%s</b> (%s, %s): %s, %s</summary>`+"\n",
		e(k.Ref), e(k.Ref), e(dash(k.Release)), k.Accel, k.Outcome, k.counts())
	s.WriteString("<table><tr><th>Program/variant</th><th>BPF program</th><th>Type</th><th>Verdict</th><th>Insns</th><th>States (peak)</th><th>Stack</th><th>Verification</th><th>Xlated / JITed</th><th>Overhead/event</th><th>run_time/run</th><th>test_run/op</th></tr>\n")
	for i := range k.Variants {
		v := &k.Variants[i]
		for _, p := range v.Programs {
			vs := p.Verifier
			insns := optInt(vs.InsnsProcessed)
			if vs.InsnsSource != "" {
				insns += " (" + vs.InsnsSource + ")"
			}
			fmt.Fprintf(&s, "<tr><td>%s/%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s (%s)</td><td>%s</td><td>%s</td><td>%s / %s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
				e(v.Program), e(v.Variant), e(p.Name), e(p.Type), p.Verdict, insns, optInt(vs.TotalStates), optInt(vs.PeakStates),
				optInt(vs.StackDepth), optMicros(vs.VerificationTimeUs), optInt(vs.XlatedBytes), optInt(vs.JitedBytes),
				e(overheadText(v)), e(runTimeText(v.Overhead)), e(testRunText(v.Overhead)))
		}
	}
	s.WriteString("</table>\n")
	for i := range k.Variants {
		v := &k.Variants[i]
		for _, p := range v.Programs {
			if p.Verdict != VerdictRejected && p.Verdict != VerdictError {
				continue
			}
			fmt.Fprintf(&s, "<p><b>%s/%s %s</b> %s", e(v.Program), e(v.Variant), e(p.Name), p.Verdict)
			if t := p.Triage; t != nil {
				fmt.Fprintf(&s, ": <code>%s</code> %s", t.Class, e(t.Message))
				if t.Source != nil {
					fmt.Fprintf(&s, " at <code>%s</code>", e(t.Source.String()))
				}
				if t.Hint != "" {
					fmt.Fprintf(&s, "<br>hint: %s", e(t.Hint))
				}
			} else if p.Error != "" {
				fmt.Fprintf(&s, ": %s", e(p.Error))
			}
			if why := k.predictedRejection(v); why != "" {
				fmt.Fprintf(&s, "<br>expected (selection ruled it out): %s", e(why))
			}
			if p.Verifier.LogArtifact != "" {
				fmt.Fprintf(&s, "<br>full log: <code>%s</code>", e(p.Verifier.LogArtifact))
			}
			s.WriteString("</p>\n")
			if p.Verifier.LogExcerpt != "" {
				fmt.Fprintf(&s, "<pre>%s</pre>\n", e(p.Verifier.LogExcerpt))
			}
		}
	}
	for _, se := range k.SelectionErrors {
		fmt.Fprintf(&s, "<p class=\"selection-error\">selection error: %s</p>\n", e(se))
	}
	if k.ConsoleTail != "" && k.Outcome != OutcomeOK {
		fmt.Fprintf(&s, "<p>Console tail:</p><pre>%s</pre>\n", e(k.ConsoleTail))
	}
	s.WriteString("</details>\n")
	return template.HTML(s.String())
}
