package compat

import (
	"github.com/cilium/ebpf"

	"github.com/retrobpf/retrobpf/compat/internal/kenum"
)

func progFeatures() []Feature {
	return enumFeatures(kenum.ProgTypes, "prog", KindProg,
		"load a minimal program of this type (cilium/ebpf features.HaveProgramType)",
		func(p kenum.ProgType) string {
			return "program type " + p.Name + " needs Linux " + p.Since + "; ship a variant of another program type or skip this program on older kernels"
		})
}

// programTypeFeature returns the catalog ID of a program type
// ("prog:sched_cls"), or "" if the catalog does not know pt.
func programTypeFeature(pt ebpf.ProgramType) FeatureID {
	return enumFeature(kenum.ProgTypes, "prog", pt)
}
