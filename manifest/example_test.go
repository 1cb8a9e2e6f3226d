package manifest_test

import (
	"fmt"

	"github.com/retrobpf/retrobpf/compat"
	"github.com/retrobpf/retrobpf/internal/kversion"
	"github.com/retrobpf/retrobpf/manifest"
)

// Select the first runnable variant of each program of a manifest.
func ExampleSelect() {
	m, err := manifest.Parse([]byte(`
apiVersion: retrobpf/v1
programs:
  - name: execsnoop
    trigger: {kind: exec, count: 10}
    variants:
      - name: ringbuf
        object: ringbuf_tp.o
      - name: perfbuf
        object: perf_kprobe.o
        programs: [trace_open]
`), "../compat/testdata/example.yaml")
	if err != nil {
		panic(err)
	}
	for _, k := range []string{"4.19", "5.10"} {
		v := kversion.MustParse(k)
		sel, err := manifest.Select(m, compat.VersionTarget(v), manifest.SelectOptions{Kernel: v})
		if err != nil {
			panic(err)
		}
		for _, p := range sel.Programs {
			fmt.Printf("%s on %s: %s", p.Program, k, p.Selected)
			for _, vr := range p.Variants {
				if !vr.Runnable {
					f := vr.Failures[0]
					fmt.Printf(" (%s rejected: %s %s)", vr.Name, f.State, f.Feature)
				}
			}
			fmt.Println()
		}
	}
	// Output:
	// execsnoop on 4.19: perfbuf (ringbuf rejected: unsupported map:ringbuf)
	// execsnoop on 5.10: ringbuf
}
