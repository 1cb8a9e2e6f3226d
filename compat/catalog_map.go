package compat

import (
	"github.com/cilium/ebpf"

	"github.com/retrobpf/retrobpf/compat/internal/kenum"
)

func mapFeatures() []Feature {
	return enumFeatures(kenum.MapTypes, "map", KindMap,
		"create a small map of this type (cilium/ebpf features.HaveMapType)",
		func(m kenum.MapType) string {
			return "map type " + m.Name + " needs Linux " + m.Since + "; ship a variant without it"
		})
}

// mapTypeFeature returns the catalog ID of a map type ("map:ringbuf"), or ""
// if the catalog does not know mt.
func mapTypeFeature(mt ebpf.MapType) FeatureID { return enumFeature(kenum.MapTypes, "map", mt) }

func mapFlagFeatures() []Feature {
	return enumFeatures(kenum.MapFlags, "map-flag", KindMapFlag,
		"create an array/hash map with the flag (cilium/ebpf features.HaveMapFlag)", nil)
}
