package bpf_test

import (
	"fmt"
	"slices"

	"github.com/retrobpf/retrobpf/bpf"
)

// The objects are embedded: load one by the name the manifest uses and
// inspect it before loading it into the kernel.
func ExampleLoadObjectSpec() {
	spec, err := bpf.LoadObjectSpec("tcpconnect_legacy_bpfel.o")
	if err != nil {
		panic(err)
	}
	var names []string
	for name := range spec.Programs {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		fmt.Println(name, spec.Programs[name].SectionName)
	}
	// Output:
	// handle_connect_entry kprobe/tcp_v4_connect
	// handle_connect_return kretprobe/tcp_v4_connect
}
