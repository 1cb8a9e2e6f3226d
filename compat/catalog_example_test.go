package compat_test

import (
	"fmt"

	"github.com/retrobpf/retrobpf/compat"
	"github.com/retrobpf/retrobpf/internal/kversion"
)

func ExampleLookup() {
	f, err := compat.Lookup("map:ringbuf")
	if err != nil {
		panic(err)
	}
	fmt.Println(f.ID, f.Kind, f.Since)
	fmt.Println(f.Hint)
	// Output:
	// map:ringbuf map 5.8
	// use a perf event array (map:perf_event_array) fallback variant with bpf_perf_event_output
}

func ExampleVersionTarget() {
	k := compat.VersionTarget(kversion.MustParse("4.19"))
	for _, id := range []compat.FeatureID{"bpf2bpf-calls", "map:ringbuf", "btf:core", "ksym:vfs_read"} {
		fmt.Println(id, k.Has(id).State)
	}
	fmt.Println("btf:core", compat.WithExternalBTF(k).Has("btf:core").State)
	// Output:
	// bpf2bpf-calls supported
	// map:ringbuf unsupported
	// btf:core unsupported
	// ksym:vfs_read unknown
	// btf:core supported
}
