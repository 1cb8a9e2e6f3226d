package guest

import (
	"fmt"
	"strings"

	"github.com/retrobpf/retrobpf/compat"
	"github.com/retrobpf/retrobpf/internal/kversion"
	"github.com/retrobpf/retrobpf/manifest"
	"github.com/retrobpf/retrobpf/reports"
)

// selectAll is static selection exactly as `retrobpf select` does it
// (manifest.Select: explicit requires, everything Analyze derives from the
// objects, kernel constraints; Unknown answers rule a variant out), for
// the programs of m. It returns one reports.Selection per program in
// manifest order. facts is what the analysis may assume of the kernel
// (compat.Kernel), nil for nothing.
func selectAll(m *manifest.Manifest, t compat.Target, kv kversion.Version, facts *compat.Kernel) ([]reports.Selection, error) {
	sel, err := manifest.Select(m, t, manifest.SelectOptions{Kernel: kv, Facts: facts})
	if err != nil {
		return nil, err
	}
	out := make([]reports.Selection, 0, len(sel.Programs))
	for _, ps := range sel.Programs {
		out = append(out, toReport(ps, t))
	}
	return out, nil
}

// toReport keeps the choice and why each preferred variant was ruled out.
func toReport(ps manifest.ProgramSelection, t compat.Target) reports.Selection {
	rs := reports.Selection{Program: ps.Program, Variant: ps.Selected}
	for _, v := range ps.Variants {
		if v.Selected {
			break
		}
		if v.Runnable || len(v.Failures) == 0 {
			continue
		}
		f := v.Failures[0]
		reason := fmt.Sprintf("%s is %s", f.Feature, f.State)
		if f.Detail != "" {
			reason += " (" + f.Detail + ")"
		}
		if f.Reason != "" {
			reason += ": " + f.Reason
		}
		if n := v.FailureCount - 1; n > 0 {
			reason += fmt.Sprintf(" (+%d more)", n)
		}
		rs.Rejected = append(rs.Rejected, reports.Rejection{Variant: v.Name, Feature: string(f.Feature), Reason: reason})
	}
	if ps.Selected == "" {
		var names []string
		for _, v := range ps.Variants {
			names = append(names, v.Name)
		}
		rs.Error = fmt.Sprintf("none of %s fits %s", strings.Join(names, ", "), t.Name())
	}
	return rs
}
