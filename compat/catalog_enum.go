package compat

import (
	"github.com/cilium/ebpf"
	"github.com/retrobpf/retrobpf/compat/internal/kenum"
)

// enumFeatures turns an enum table into catalog entries "prefix:name".
// defaultHint, if set, fills in entries without a hint of their own.
func enumFeatures[T comparable](table []kenum.Enum[T], prefix string, kind Kind, probe string, defaultHint func(kenum.Enum[T]) string) []Feature {
	out := make([]Feature, 0, len(table))
	for _, e := range table {
		hint := e.Hint
		if hint == "" && defaultHint != nil {
			hint = defaultHint(e)
		}
		out = append(out, Feature{
			ID:          FeatureID(prefix + ":" + e.Name),
			Kind:        kind,
			Description: e.Desc,
			Since:       v(e.Since),
			Probe:       probe,
			Hint:        hint,
		})
	}
	return out
}

// enumFeature returns the catalog ID of typ, or "" if the table lacks it.
func enumFeature[T comparable](table []kenum.Enum[T], prefix string, typ T) FeatureID {
	for _, e := range table {
		if e.Type == typ {
			return FeatureID(prefix + ":" + e.Name)
		}
	}
	return ""
}

// FeatureOf returns the catalog ID of a program type ("prog:xdp") or map
// type ("map:ringbuf"), or "" if the catalog does not know it.
func FeatureOf[T ebpf.ProgramType | ebpf.MapType](t T) FeatureID {
	switch v := any(t).(type) {
	case ebpf.ProgramType:
		return programTypeFeature(v)
	case ebpf.MapType:
		return mapTypeFeature(v)
	}
	return ""
}
