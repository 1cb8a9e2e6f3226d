package compat

// kernelEnum is one value of a kernel enum the catalog tracks one feature
// per value of (program types, map types, map flags): the cilium/ebpf
// constant, its bpftool/libbpf name, the first upstream kernel, a
// description and an optional hint.
type kernelEnum[T comparable] struct {
	typ   T
	name  string // bpftool/libbpf name: the part of the ID after the colon
	since string
	desc  string
	hint  string
}

// enumFeatures turns an enum table into catalog entries "prefix:name".
// defaultHint, if set, fills in entries without a hint of their own.
func enumFeatures[T comparable](table []kernelEnum[T], prefix string, kind Kind, probe string, defaultHint func(kernelEnum[T]) string) []Feature {
	out := make([]Feature, 0, len(table))
	for _, e := range table {
		hint := e.hint
		if hint == "" && defaultHint != nil {
			hint = defaultHint(e)
		}
		out = append(out, Feature{
			ID:          FeatureID(prefix + ":" + e.name),
			Kind:        kind,
			Description: e.desc,
			Since:       v(e.since),
			Probe:       probe,
			Hint:        hint,
		})
	}
	return out
}

// enumFeature returns the catalog ID of typ, or "" if the table lacks it.
func enumFeature[T comparable](table []kernelEnum[T], prefix string, typ T) FeatureID {
	for _, e := range table {
		if e.typ == typ {
			return FeatureID(prefix + ":" + e.name)
		}
	}
	return ""
}
