package guest

import (
	"fmt"
	"strings"

	"github.com/retrobpf/retrobpf/compat"
	"github.com/retrobpf/retrobpf/internal/kversion"
	"github.com/retrobpf/retrobpf/matrix/suite"
	"github.com/retrobpf/retrobpf/reports"
)

// selectVariant is static selection: the first variant (in preference
// order) whose requirements — the manifest's plus those derived from the
// object — the target supports and whose kernel constraint holds. A
// feature the probe could not decide (Unknown, e.g. no kernel config to
// read) is answered by the catalog for the kernel's version; if that
// cannot say Supported either, it rules the variant out.
func selectVariant(t compat.Target, kv kversion.Version, p suite.Program, derived map[string][]compat.Requirement) reports.Selection {
	sel := reports.Selection{Program: p.Name}
	for _, v := range p.Variants {
		if rej, ok := ruledOut(t, kv, v, derived[v.Name]); ok {
			sel.Rejected = append(sel.Rejected, rej)
			continue
		}
		sel.Variant = v.Name
		return sel
	}
	sel.Error = fmt.Sprintf("no variant of %s fits %s", p.Name, t.Name())
	return sel
}

func ruledOut(t compat.Target, kv kversion.Version, v suite.Variant, derived []compat.Requirement) (reports.Rejection, bool) {
	if v.Kernel != "" {
		ok, err := versionMatches(kv, v.Kernel)
		if err != nil {
			return reports.Rejection{Variant: v.Name, Reason: err.Error()}, true
		}
		if !ok {
			return reports.Rejection{Variant: v.Name, Reason: fmt.Sprintf("kernel %s does not satisfy %q", kv, v.Kernel)}, true
		}
	}
	reqs := make([]compat.Requirement, 0, len(v.Requires)+len(derived))
	for _, r := range v.Requires {
		reqs = append(reqs, compat.Requirement{Feature: compat.FeatureID(r), Reason: "required by the manifest"})
	}
	reqs = append(reqs, derived...)
	for _, r := range reqs {
		a := t.Has(r.Feature)
		if a.State == compat.Unknown && !kv.IsZero() {
			if c := compat.VersionTarget(kv).Has(r.Feature); c.State == compat.Supported {
				continue
			}
		}
		if a.State == compat.Supported {
			continue
		}
		reason := fmt.Sprintf("%s is %s", r.Feature, a.State)
		if a.Detail != "" {
			reason += " (" + a.Detail + ")"
		}
		if r.Reason != "" {
			reason += ": " + r.Reason
		}
		return reports.Rejection{Variant: v.Name, Feature: string(r.Feature), Reason: reason}, true
	}
	return reports.Rejection{}, false
}

// versionMatches evaluates a constraint like ">=5.8", "<6.0" or
// ">=5.4, <5.10" (comma = and).
func versionMatches(kv kversion.Version, constraint string) (bool, error) {
	for _, c := range strings.Split(constraint, ",") {
		c = strings.TrimSpace(c)
		op := strings.TrimRight(c[:min(2, len(c))], "0123456789.")
		want, err := kversion.Parse(strings.TrimSpace(c[len(op):]))
		if err != nil {
			return false, fmt.Errorf("kernel constraint %q: %w", constraint, err)
		}
		cmp := kv.Compare(want)
		var ok bool
		switch op {
		case ">=":
			ok = cmp >= 0
		case ">":
			ok = cmp > 0
		case "<=":
			ok = cmp <= 0
		case "<":
			ok = cmp < 0
		case "=", "==", "":
			ok = cmp == 0
		default:
			return false, fmt.Errorf("kernel constraint %q: unknown operator %q", constraint, op)
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}
