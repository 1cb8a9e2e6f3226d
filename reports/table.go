package reports

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// renderTable is the terminal view: kernels, the grid, overhead, then
// every rejection with its triage.
func renderTable(w io.Writer, r *Results, color bool) error {
	g := newGrid(r)
	bw := &errWriter{w: w}
	bw.printf("retrobpf results: %s, %d kernel(s), %s\n", r.Manifest.Path, len(r.Kernels), r.CreatedAt.UTC().Format("2006-01-02 15:04 UTC"))
	if r.emulated() {
		bw.printf("note: %s\n", TCGNote)
	}
	if r.icount() {
		bw.printf("note: %s\n", IcountNote)
	}
	bw.printf("\n")

	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KERNEL\tRELEASE\tACCEL\tOUTCOME\tBOOT\tBTF\tVARIANTS")
	for _, k := range g.kernels {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.Ref, dash(k.Release), k.Accel, k.Outcome,
			optSeconds(k.BootSeconds), dash(k.BTFSource), k.counts())
	}
	tw.Flush()

	bw.printf("\nVERIFIER (✔ insns processed, ✗ rejection class, ★ selected variant)\n")
	tw = tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "PROGRAM/VARIANT")
	for _, k := range g.kernels {
		fmt.Fprintf(tw, "\t%s", paint(color, colorNeutral, g.label(k)))
	}
	fmt.Fprintln(tw)
	for _, p := range g.programs {
		fmt.Fprintf(tw, "%s ⇒ selected", p.name)
		for _, k := range g.kernels {
			cell := selectedText(k, p.name)
			fmt.Fprintf(tw, "\t%s", paint(color, verdictColor(cell), cell))
		}
		fmt.Fprintln(tw)
		for _, v := range p.variants {
			fmt.Fprintf(tw, "  %s", v)
			for _, k := range g.kernels {
				cell := cellText(k, k.variant(p.name, v))
				fmt.Fprintf(tw, "\t%s", paint(color, verdictColor(cell), cell))
			}
			fmt.Fprintln(tw)
		}
	}
	tw.Flush()

	bw.printf("\nOVERHEAD (added per event: median [95%% CI]; bpf stats run_time/run)\n")
	tw = tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "PROGRAM/VARIANT")
	for _, k := range g.kernels {
		fmt.Fprintf(tw, "\t%s", g.label(k))
	}
	fmt.Fprintln(tw)
	for _, p := range g.programs {
		for _, v := range p.variants {
			fmt.Fprintf(tw, "%s/%s", p.name, v)
			for _, k := range g.kernels {
				vr := k.variant(p.name, v)
				cell := overheadText(vr)
				if vr != nil && vr.Overhead != nil && !strings.HasPrefix(cell, "run_time ") {
					cell += "; run_time " + runTimeText(vr.Overhead)
				}
				fmt.Fprintf(tw, "\t%s", cell)
			}
			fmt.Fprintln(tw)
		}
	}
	tw.Flush()

	var rej []string
	for _, k := range g.kernels {
		for i := range k.Variants {
			v := &k.Variants[i]
			for _, p := range v.Programs {
				if p.Verdict != VerdictRejected && p.Verdict != VerdictError {
					continue
				}
				line := fmt.Sprintf("  %s %s/%s %s: ", k.Ref, v.Program, v.Variant, p.Name)
				if t := p.Triage; t != nil {
					line += fmt.Sprintf("%s: %s", t.Class, t.Message)
					if t.Source != nil {
						line += " (" + t.Source.String() + ")"
					}
					if t.Hint != "" {
						line += "\n      hint: " + t.Hint
					}
				} else {
					line += p.Error
				}
				if why := k.predictedRejection(v); why != "" {
					line += "\n      expected: " + why
				}
				rej = append(rej, line)
			}
		}
	}
	if len(rej) > 0 {
		bw.printf("\nREJECTIONS\n%s\n", strings.Join(rej, "\n"))
	}
	var problems []string
	for _, k := range g.kernels {
		if k.Error != "" {
			problems = append(problems, fmt.Sprintf("  %s %s: %s", k.Ref, k.Outcome, k.Error))
		}
		for _, e := range k.SelectionErrors {
			problems = append(problems, fmt.Sprintf("  %s selection: %s", k.Ref, e))
		}
	}
	if len(problems) > 0 {
		bw.printf("\nPROBLEMS\n%s\n", strings.Join(problems, "\n"))
	}
	return bw.err
}

func dash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// errWriter remembers the first write error so renderers can write freely
// and check once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }
