package compat_test

import (
	"fmt"

	"github.com/retrobpf/retrobpf/compat"
	"github.com/retrobpf/retrobpf/internal/kversion"
)

// Analyze a clang-built object and compare it with a 4.19 kernel.
func ExampleAnalyze() {
	rep, err := compat.Analyze("testdata/ringbuf_tp.o")
	if err != nil {
		panic(err)
	}
	for _, p := range rep.Programs {
		fmt.Printf("%s (%s): needs %s, set by", p.Name, p.Type, p.MinKernel)
		for _, r := range p.MinKernelBy {
			fmt.Printf(" %s", r.Feature)
		}
		fmt.Println()
		v := compat.CheckProgram(&p, compat.VersionTarget(kversion.MustParse("4.19")))
		fmt.Println("on 4.19:", v.Verdict)
		for _, u := range v.Unmet {
			fmt.Printf("  %s %s: %s\n", u.State, u.Feature, u.Source)
		}
	}
	// Output:
	// handle_exec (tracepoint): needs 5.8, set by map:ringbuf helper:bpf_ringbuf_output
	// on 4.19: incompatible
	//   unsupported map:ringbuf: map events, section tracepoint/syscalls/sys_enter_execve, insn 14
	//   unsupported helper:bpf_ringbuf_output: section tracepoint/syscalls/sys_enter_execve, insn 18
}
