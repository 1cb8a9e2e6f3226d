package compat

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/cilium/ebpf/btf"
)

// WithKernelBTF wraps t with a kernel's BTF — its own vmlinux BTF, or one
// made from its DWARF the way BTFHub does — to decide the attach targets t
// cannot: btf-func:NAME (fentry/fexit/fmod_ret/lsm), raw-tp:NAME (raw_tp,
// tp_btf: the kernel's btf_trace_NAME type), tracepoint:GROUP/EVENT and
// ksym:NAME. What t decides (Supported or Unsupported) wins; everything
// else is answered by t.
//
// The BTF answers from what the kernel itself would look up: a fentry
// target that is not a FUNC in it, or a tp_btf target without its
// btf_trace_ type, cannot attach. A kprobe target stays Unknown either
// way: kallsyms, not BTF, decides it (a FUNC may be inlined everywhere, a
// symbol may lack BTF).
//
// types is the kernel's BTF (*btf.Spec), or anything that looks type names
// up the same way (a probe report's recorded attach surface).
func WithKernelBTF(t Target, types interface {
	AnyTypesByName(name string) ([]btf.Type, error)
}) Target {
	return kernelBTF{Target: t, spec: types}
}

type kernelBTF struct {
	Target
	spec interface {
		AnyTypesByName(name string) ([]btf.Type, error)
	}
}

func (t kernelBTF) Has(id FeatureID) Availability {
	a := t.Target.Has(id)
	if a.State == Supported || a.State == Unsupported {
		return a
	}
	if id == "btf:core" {
		// The relocations are resolved against these types (check does).
		return Availability{State: Supported, Detail: "CO-RE against the given kernel BTF"}
	}
	kind, name, _ := strings.Cut(string(id), ":")
	switch kind {
	case "btf-func":
		if t.hasFunc(name) {
			return t.manyArgs(name, Availability{State: Supported, Detail: "FUNC " + name + " in the kernel's BTF"})
		}
		if !t.hasFunc(funcSentinel) {
			return Availability{State: Unknown, Detail: "the BTF has no FUNC " + funcSentinel + ": not a whole kernel's BTF (minimized?), so it cannot refute " + name}
		}
		return Availability{State: Unsupported, Detail: "no FUNC " + name + " in the kernel's BTF"}
	case "ksym":
		// BTF is not the symbol table: a FUNC can be inlined into every
		// caller (6.12's blk_account_io_merge_bio: in BTF, no kprobe), and
		// a symbol can be missing from BTF. Only kallsyms decides.
		if t.hasFunc(name) {
			return Availability{State: Unknown, Detail: "FUNC " + name + " is in the kernel's BTF, but a kprobe needs it in kallsyms (give --kallsyms or probe the kernel)"}
		}
		return Availability{State: Unknown, Detail: "no FUNC " + name + " in the kernel's BTF; it may still be in kallsyms (give --kallsyms or probe the kernel)"}
	case "raw-tp":
		return t.tracepoint(name)
	case "raw-tp-args", "btf-func-args":
		return t.argCount(kind, name)
	case "tracepoint":
		group, event, _ := strings.Cut(name, "/")
		if group == "syscalls" {
			return t.syscallEvent(event)
		}
		return t.tracepoint(event)
	}
	return a
}

// hasFunc reports whether the BTF has a FUNC called name. Several FUNCs of
// one name (static functions in two files) count: TypeByName would refuse
// them as ambiguous.
func (t kernelBTF) hasFunc(name string) bool {
	types, err := t.spec.AnyTypesByName(name)
	if err != nil {
		return false
	}
	for _, typ := range types {
		if _, ok := typ.(*btf.Func); ok {
			return true
		}
	}
	return false
}

// funcSentinel is a function every kernel has and pahole always encodes:
// BTF without it is not a whole kernel's (a minimized BTF, an object's own)
// and cannot prove a function absent.
const funcSentinel = "schedule"

// btfTraceSentinel is a tracepoint every kernel with btf_trace_ types has
// (sched_switch): without it the BTF predates them (before 5.5) or was
// made without them, and a missing btf_trace_ type proves nothing.
const btfTraceSentinel = "btf_trace_sched_switch"

func (t kernelBTF) hasType(name string) bool {
	_, err := t.spec.AnyTypesByName(name)
	return err == nil
}

// tracepoint answers for a raw tracepoint or a tracepoint event by its
// btf_trace_ type, the type libbpf and the kernel look tp_btf targets up by.
func (t kernelBTF) tracepoint(name string) Availability {
	if t.hasType("btf_trace_" + name) {
		return Availability{State: Supported, Detail: "btf_trace_" + name + " in the kernel's BTF"}
	}
	if !t.hasType(btfTraceSentinel) {
		return Availability{State: Unknown, Detail: "the kernel's BTF has no btf_trace_ types (before 5.5?): tracepoint " + name + " not decided"}
	}
	return Availability{State: Unsupported, Detail: "no btf_trace_" + name + " in the kernel's BTF: no such tracepoint"}
}

// syscallPrefixes are the names a syscall's entry point has in BTF, by
// architecture and era (sys_* before the 4.17 wrappers).
var syscallPrefixes = []string{"__x64_sys_", "__arm64_sys_", "__s390x_sys_", "__riscv_sys_", "__se_sys_", "__do_sys_", "sys_"}

// syscallEvent answers for syscalls/sys_enter_NAME and sys_exit_NAME,
// which ftrace synthesizes for every syscall the kernel defines.
func (t kernelBTF) syscallEvent(event string) Availability {
	call, ok := strings.CutPrefix(event, "sys_enter_")
	if !ok {
		call, ok = strings.CutPrefix(event, "sys_exit_")
	}
	if !ok {
		return Availability{State: Unsupported, Detail: "syscalls/" + event + " is not a sys_enter_/sys_exit_ event"}
	}
	if t.hasSyscall(call) {
		return Availability{State: Supported, Detail: "syscall " + call + " in the kernel's BTF"}
	}
	if !t.hasSyscall("read") {
		return Availability{State: Unknown, Detail: "the BTF has no syscall entry points (no read syscall): not a whole kernel's BTF, so it cannot refute " + event}
	}
	return Availability{State: Unsupported, Detail: "no syscall " + call + " in the kernel's BTF (no " + syscallPrefixes[0] + call + " or sys_" + call + ")"}
}

// hasSyscall reports whether the BTF has the entry point of syscall call.
func (t kernelBTF) hasSyscall(call string) bool {
	for _, p := range syscallPrefixes {
		if t.hasFunc(p + call) {
			return true
		}
	}
	return false
}

// argCount answers raw-tp-args:NAME/N and btf-func-args:NAME/N from the
// parameters of btf_trace_NAME (whose first, void *, is the tracepoint's
// private data, not an argument) or of the FUNC NAME, counted in the
// 8-byte context slots the verifier gives them (a struct passed by value
// of 9 to 16 bytes takes two).
func (t kernelBTF) argCount(kind, arg string) Availability {
	name, n, _ := strings.Cut(arg, "/")
	need, err := strconv.Atoi(n)
	if err != nil {
		return Availability{State: Unknown, Detail: "bad argument count " + n}
	}
	lookup, what := name, "FUNC "+name
	if kind == "raw-tp-args" {
		lookup, what = "btf_trace_"+name, "btf_trace_"+name
	}
	types, err := t.spec.AnyTypesByName(lookup)
	if err != nil {
		if kind == "raw-tp-args" {
			return t.tracepoint(name) // absent: the raw-tp: requirement says so
		}
		return Availability{State: Unknown, Detail: "no " + what + " in the kernel's BTF"}
	}
	for _, typ := range types {
		proto := funcProto(typ)
		if proto == nil {
			continue
		}
		slots := paramSlots(proto, kind == "raw-tp-args")
		detail := fmt.Sprintf("%s has %d argument(s) in the kernel's BTF", what, slots)
		if slots >= need {
			return Availability{State: Supported, Detail: detail}
		}
		return Availability{State: Unsupported, Detail: fmt.Sprintf("%s; the program reads ctx[%d]", detail, need-1)}
	}
	return Availability{State: Unknown, Detail: what + " has no argument list in this BTF (a recorded surface without argument counts?)"}
}

// maxTrampolineArgs is how many argument slots an x86-64 BPF trampoline
// saved before 6.6 (attach:fentry_many_args).
const maxTrampolineArgs = 6

// manyArgs qualifies a found fentry/fexit/fmod_ret/lsm target: one of
// more than six argument slots attaches only where the trampoline takes
// them (attach:fentry_many_args; ENOTSUPP at attach otherwise, after the
// verifier accepted the program).
func (t kernelBTF) manyArgs(name string, found Availability) Availability {
	slots := -1
	if types, err := t.spec.AnyTypesByName(name); err == nil {
		for _, typ := range types {
			if _, ok := typ.(*btf.Func); !ok {
				continue
			}
			if proto := funcProto(typ); proto != nil {
				slots = paramSlots(proto, false)
				break
			}
		}
	}
	if slots <= maxTrampolineArgs {
		return found
	}
	const id = "attach:fentry_many_args"
	a := t.Target.Has(id)
	what := fmt.Sprintf("FUNC %s takes %d argument slots (more than %d)", name, slots, maxTrampolineArgs)
	switch a.State {
	case Supported:
		return Availability{State: Supported, Detail: what + "; " + id + ": " + a.Detail}
	case Unsupported:
		return Availability{State: Unsupported, Detail: what + ": the trampoline cannot attach (" + id + ": " + a.Detail + ")"}
	}
	return Availability{State: Unknown, Detail: what + ": " + id + " not decided (" + a.Detail + ")"}
}

// paramSlots counts the 8-byte context slots of proto's parameters (a
// struct passed by value of 9 to 16 bytes takes two); skipFirst leaves out
// a btf_trace_ prototype's private data pointer.
func paramSlots(proto *btf.FuncProto, skipFirst bool) int {
	slots := 0
	for i, p := range proto.Params {
		if skipFirst && i == 0 {
			continue
		}
		if size, err := btf.Sizeof(p.Type); err == nil && size > 8 {
			slots += 2
		} else {
			slots++
		}
	}
	return slots
}

// funcProto is the prototype behind a FUNC or a btf_trace_ typedef (a
// pointer to a FUNC_PROTO).
func funcProto(typ btf.Type) *btf.FuncProto {
	switch typ := typ.(type) {
	case *btf.Func:
		p, _ := typ.Type.(*btf.FuncProto)
		return p
	case *btf.Typedef:
		if ptr, ok := btf.UnderlyingType(typ).(*btf.Pointer); ok {
			p, _ := ptr.Target.(*btf.FuncProto)
			return p
		}
	}
	return nil
}
