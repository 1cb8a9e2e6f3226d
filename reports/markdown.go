package reports

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/retrobpf/retrobpf/internal/mdtable"
)

// MarkdownLimit is GitHub's cap for one step summary ($GITHUB_STEP_SUMMARY,
// 1 MiB); the markdown renderer stays below it by default.
const MarkdownLimit = 1 << 20

// markdownLevels are the log excerpt sizes tried, largest first, until the
// output fits the budget: all lines, 20, 5, none; then without the
// per-kernel details.
var markdownLevels = []int{-1, 20, 5, 0}

func renderMarkdown(w io.Writer, r *Results, budget int) error {
	if budget <= 0 {
		budget = MarkdownLimit - 4096
	}
	var buf bytes.Buffer
	for _, lines := range markdownLevels {
		buf.Reset()
		writeMarkdown(&buf, r, lines, true)
		if buf.Len() <= budget {
			_, err := w.Write(buf.Bytes())
			return err
		}
	}
	buf.Reset()
	writeMarkdown(&buf, r, 0, false)
	if buf.Len() > budget {
		// Last resort: cut at a line boundary and say so.
		const note = "\n\n_…truncated to fit the step summary limit; see the JSON or HTML report._\n"
		cut := bytes.LastIndexByte(buf.Bytes()[:max(0, budget-len(note))], '\n')
		buf.Truncate(max(0, cut))
		buf.WriteString(note)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func writeMarkdown(b *bytes.Buffer, r *Results, logLines int, details bool) {
	g := newGrid(r)
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("## retrobpf: `%s` on %d kernel(s)\n\n", r.Manifest.Path, len(r.Kernels))
	if r.emulated() {
		p("> **Note:** %s.\n\n", TCGNote)
	}
	if r.icount() {
		p("> **Note:** %s.\n\n", IcountNote)
	}
	p("| Kernel | Release | Accel | Outcome | Boot | BTF | Variants |\n|---|---|---|---|---|---|---|\n")
	for _, k := range g.kernels {
		p("| %s | %s | %s | %s | %s | %s | %s |\n", mdtable.Cell(k.Ref), mdtable.Cell(dash(k.Release)), k.Accel,
			outcomeMark(k.Outcome), optSeconds(k.BootSeconds), mdtable.Cell(dash(k.BTFSource)), k.counts())
	}

	p("\n### Verifier\n\n✔ instructions processed · ✗ rejection class · ★ variant selected for that kernel\n\n")
	mdGridHeader(b, g)
	for _, pr := range g.programs {
		p("| **%s** ⇒ selected |", mdtable.Cell(pr.name))
		for _, k := range g.kernels {
			p(" %s |", mdtable.Cell(selectedText(k, pr.name)))
		}
		p("\n")
		for _, v := range pr.variants {
			p("| %s/%s |", mdtable.Cell(pr.name), mdtable.Cell(v))
			for _, k := range g.kernels {
				p(" %s |", mdtable.Cell(cellText(k, k.variant(pr.name, v))))
			}
			p("\n")
		}
	}

	p("\n### Overhead\n\nAdded cost per trigger event, median [95 %% CI] (in parentheses: relative to the trigger's own cost, measured in the same VM); “not measurable” where the kernel cannot tell.\n\n")
	mdGridHeader(b, g)
	for _, pr := range g.programs {
		for _, v := range pr.variants {
			p("| %s/%s |", mdtable.Cell(pr.name), mdtable.Cell(v))
			for _, k := range g.kernels {
				p(" %s |", mdtable.Cell(overheadText(k.variant(pr.name, v))))
			}
			p("\n")
		}
	}

	var problems []string
	for _, k := range g.kernels {
		if k.Error != "" {
			problems = append(problems, fmt.Sprintf("- **%s** %s: %s", mdtable.Cell(k.Ref), k.Outcome, mdtable.Cell(k.Error)))
		}
		for _, e := range k.SelectionErrors {
			problems = append(problems, fmt.Sprintf("- **%s** selection error: %s", mdtable.Cell(k.Ref), mdtable.Cell(e)))
		}
	}
	if len(problems) > 0 {
		p("\n### Problems\n\n%s\n", strings.Join(problems, "\n"))
	}
	if !details {
		p("\n_Per-kernel details omitted to fit the step summary limit._\n")
		return
	}
	p("\n")
	for _, k := range g.kernels {
		mdKernelDetails(b, k, logLines)
	}
}

func mdGridHeader(b *bytes.Buffer, g *grid) {
	b.WriteString("| Program / variant |")
	for _, k := range g.kernels {
		fmt.Fprintf(b, " %s |", mdtable.Cell(g.label(k)))
	}
	b.WriteString("\n|---|")
	for range g.kernels {
		b.WriteString("---|")
	}
	b.WriteString("\n")
}

func mdKernelDetails(b *bytes.Buffer, k *KernelResult, logLines int) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("<details><summary><b>%s</b> (%s, %s): %s, %s</summary>\n\n", htmlEscape(k.Ref), htmlEscape(dash(k.Release)),
		k.Accel, k.Outcome, k.counts())
	if pr := k.Profile; pr != nil {
		p("Profile of %s:%s%s%s%s\n\n", htmlEscape(pr.Kernel), mdList(" boot `%s`", pr.Cmdline), mdMap(" sysctl `%s`", pr.Sysctls),
			mdList(" module `%s`", pr.Modules), mdList(" module file `%s`", pr.ModuleFiles))
	}
	if why := k.noRunTime(); why != "" {
		// Said once for the kernel, not in every row.
		p("run_time/run: %s; the per-event costs come from the trigger's timing alone, with their 95 %% intervals.\n\n", why)
	}
	if k.Lockdown != "" {
		p("Lockdown: **%s** (kernel reads and kprobes are denied to programs).\n\n", k.Lockdown)
	}
	if len(k.Variants) > 0 {
		p("| Program/variant | BPF program | Type | Verdict | Insns | States (peak) | Stack | Verif. time | Xlated/JITed | Attached | Overhead/event | run_time/run | test_run/op |\n")
		p("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
		for i := range k.Variants {
			v := &k.Variants[i]
			sel := ""
			if k.isSelected(v) {
				sel = " ★"
			}
			att := "no"
			if v.Attached {
				att = "yes"
			} else if v.AttachError != "" {
				att = "no: " + v.AttachError
			}
			progs := v.Programs
			if len(progs) == 0 {
				progs = []ProgramResult{{Name: "–", Verdict: v.Verdict, Error: v.Reason}}
			}
			for _, pr := range progs {
				vs := pr.Verifier
				insns := optInt(vs.InsnsProcessed)
				if vs.InsnsSource != "" {
					insns += " (" + vs.InsnsSource + ")"
				}
				p("| %s/%s%s | `%s` | %s | %s | %s | %s (%s) | %s | %s | %s / %s | %s | %s | %s | %s |\n",
					mdtable.Cell(v.Program), mdtable.Cell(v.Variant), sel, mdtable.Cell(pr.Name), mdtable.Cell(dash(pr.Type)), pr.Verdict, insns,
					optInt(vs.TotalStates), optInt(vs.PeakStates), optInt(vs.StackDepth), optMicros(vs.VerificationTimeUs),
					optInt(vs.XlatedBytes), optInt(vs.JitedBytes), mdtable.Cell(att), mdtable.Cell(overheadText(v)),
					runTimeText(v.Overhead), testRunText(v.Overhead))
			}
		}
		p("\n")
	}
	for i := range k.Variants {
		v := &k.Variants[i]
		for _, pr := range v.Programs {
			if pr.Verdict != VerdictRejected && pr.Verdict != VerdictError {
				continue
			}
			p("**%s/%s `%s`** %s", mdtable.Cell(v.Program), mdtable.Cell(v.Variant), mdtable.Cell(pr.Name), pr.Verdict)
			if t := pr.Triage; t != nil {
				p(": `%s` %s", t.Class, mdtable.Cell(t.Message))
				if t.Source != nil {
					p(" at `%s`", mdtable.Cell(t.Source.String()))
				}
				if t.Hint != "" {
					p("  \nhint: %s", mdtable.Cell(t.Hint))
				}
			} else if pr.Error != "" {
				p(": %s", mdtable.Cell(pr.Error))
			}
			if why := k.predictedRejection(v); why != "" {
				p("  \nexpected (selection ruled it out): %s", mdtable.Cell(why))
			}
			if pr.Verifier.LogArtifact != "" {
				p("  \nfull log: `%s`", mdtable.Cell(pr.Verifier.LogArtifact))
			}
			p("\n\n")
			if ex := excerpt(pr.Verifier.LogExcerpt, logLines); ex != "" {
				p("```text\n%s\n```\n\n", ex)
			}
		}
	}
	if k.ConsoleTail != "" && k.Outcome != OutcomeOK {
		if ex := excerpt(k.ConsoleTail, logLines); ex != "" {
			p("Console tail:\n\n```text\n%s\n```\n\n", ex)
		}
	}
	p("</details>\n\n")
}

// excerpt keeps the last n lines of s (all for n < 0) and makes it safe
// inside a fenced code block.
func excerpt(s string, n int) string {
	s = strings.TrimRight(s, "\n")
	if n == 0 || s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	if n > 0 && len(lines) > n {
		lines = append([]string{fmt.Sprintf("… (%d lines cut)", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.ReplaceAll(strings.Join(lines, "\n"), "```", "ˋˋˋ")
}

func outcomeMark(o Outcome) string {
	if o == OutcomeOK {
		return "✔ ok"
	}
	return "✗ " + string(o)
}

func optMicros(p *int64) string {
	if p == nil {
		return "–"
	}
	return fmt.Sprintf("%d µs", *p)
}

var htmlReplacer = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")

func htmlEscape(s string) string { return htmlReplacer.Replace(s) }

func mdList(format string, items []string) string {
	var b strings.Builder
	for _, it := range items {
		fmt.Fprintf(&b, format, strings.ReplaceAll(it, "`", "'"))
	}
	return b.String()
}

func mdMap(format string, m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k+"="+m[k])
	}
	sort.Strings(keys)
	return mdList(format, keys)
}
