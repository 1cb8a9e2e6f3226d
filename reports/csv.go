package reports

import (
	"encoding/csv"
	"io"
	"path"
	"strconv"
)

// CSVColumns are veristat's CSV columns, in veristat's order, so
// `veristat -C old.csv new.csv` and `veristat -R` read our files.
var CSVColumns = []string{
	"file_name", "prog_name", "verdict", "duration", "total_insns", "total_states",
	"peak_states", "max_states_per_insn", "mark_read", "prog_size", "prog_size_jited",
	"prog_type", "attach_type", "stack_depth", "mem_peak",
}

// renderCSV writes one row per BPF program that was handed to the
// verifier (skipped programs are not verifier results). veristat cannot
// parse empty numbers, so a figure the kernel did not print is 0 here, as
// veristat itself writes it; the JSON keeps it absent. mem_peak is not
// measured and always 0. With several kernels in r, file_name is
// "<kernel>/<object>" so (file_name, prog_name) — veristat's join key —
// stays unique and compares the same kernel across two runs; render one
// kernel (Results.Only) for plain object names.
func renderCSV(w io.Writer, r *Results) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVColumns); err != nil {
		return err
	}
	for _, k := range r.Kernels {
		for _, v := range k.Variants {
			file := path.Base(v.Object)
			if len(r.Kernels) > 1 {
				file = k.Ref + "/" + file
			}
			for _, p := range v.Programs {
				if p.Verdict == VerdictSkipped {
					continue
				}
				verdict := "failure"
				if p.Verdict == VerdictLoaded {
					verdict = "success"
				}
				vs := p.Verifier
				row := []string{
					file, p.Name, verdict, num(vs.VerificationTimeUs), num(vs.InsnsProcessed), num(vs.TotalStates),
					num(vs.PeakStates), num(vs.MaxStatesPerInsn), num(vs.MarkRead), num(vs.ProgInsns),
					num(vs.JitedBytes), p.Type, p.AttachType, num(vs.StackDepth), "0",
				}
				if err := cw.Write(row); err != nil {
					return err
				}
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

func num(p *int64) string {
	if p == nil {
		return "0"
	}
	return strconv.FormatInt(*p, 10)
}
