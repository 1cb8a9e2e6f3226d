package bpf

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// ErrNotAttachable is returned by Attach for programs that are not attached
// to a kernel hook but run with BPF_PROG_TEST_RUN (xdp, tc) or whose section
// it does not know.
var ErrNotAttachable = errors.New("program has no kernel hook to attach to")

// Attach attaches a loaded tracing program to the hook its ELF section
// names, the way the suite's programs declare them:
//
//	kprobe/SYM, kretprobe/SYM   kprobes (perf_event or tracefs)
//	tracepoint/GROUP/NAME      perf tracepoints
//	fentry/SYM, fexit/SYM      BPF trampolines
//	tp_btf/NAME                BTF-typed raw tracepoints
//	raw_tp/NAME                raw tracepoints (raw_tracepoint/NAME too)
//
// spec is the program's ProgramSpec (for its section name). Network programs
// (xdp, tc) return ErrNotAttachable: run them with Program.Run.
func Attach(spec *ebpf.ProgramSpec, prog *ebpf.Program) (link.Link, error) {
	kind, target, _ := strings.Cut(spec.SectionName, "/")
	var (
		l   link.Link
		err error
	)
	switch kind {
	case "kprobe":
		l, err = link.Kprobe(target, prog, nil)
	case "kretprobe":
		l, err = link.Kretprobe(target, prog, nil)
	case "tracepoint", "tp":
		group, name, ok := strings.Cut(target, "/")
		if !ok {
			return nil, fmt.Errorf("program %s: section %q: want tracepoint/GROUP/NAME", spec.Name, spec.SectionName)
		}
		l, err = link.Tracepoint(group, name, prog, nil)
	case "raw_tp", "raw_tracepoint":
		// The attach, not the verifier, checks that the program reads no
		// more arguments than the tracepoint passes (max_ctx_offset).
		l, err = link.AttachRawTracepoint(link.RawTracepointOptions{Name: target, Program: prog})
	case "fentry", "fexit", "tp_btf":
		l, err = link.AttachTracing(link.TracingOptions{Program: prog})
	default:
		return nil, fmt.Errorf("program %s (section %q): %w", spec.Name, spec.SectionName, ErrNotAttachable)
	}
	if err != nil {
		return nil, fmt.Errorf("attach %s to %s: %w", spec.Name, spec.SectionName, err)
	}
	return l, nil
}
