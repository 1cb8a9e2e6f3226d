package compat

import (
	"bytes"
	"os"
	"testing"

	"github.com/cilium/ebpf/btf"
	"github.com/retrobpf/retrobpf/internal/kversion"
)

// hostBTF is the running kernel's own BTF: real kernel types nobody here
// wrote, whose tracepoints and functions the assertions name.
func hostBTF(t *testing.T) *btf.Spec {
	t.Helper()
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		t.Skip("the host kernel has no vmlinux BTF")
	}
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

func TestKernelBTFAttachTargets(t *testing.T) {
	spec := hostBTF(t)
	// The bare version knows none of these; the kernel's BTF decides.
	tg := WithKernelBTF(VersionTarget(kversion.MustParse("6.1")), spec)
	for id, want := range map[FeatureID]State{
		"btf-func:do_unlinkat":                          Supported,
		"btf-func:no_such_function_in_any_kernel":       Unsupported,
		"raw-tp:sched_switch":                           Supported,
		"raw-tp:no_such_tracepoint":                     Unsupported,
		"tracepoint:sched/sched_switch":                 Supported,
		"tracepoint:syscalls/sys_enter_execve":          Supported,
		"tracepoint:syscalls/sys_exit_openat":           Supported,
		"tracepoint:syscalls/sys_enter_no_such_syscall": Unsupported,
		// kallsyms decides kprobe targets, not BTF: a FUNC may be
		// inlined into every caller.
		"ksym:do_unlinkat": Unknown,
		// Not a BTF function: kallsyms might still have it.
		"ksym:no_such_function_in_any_kernel": Unknown,
		// Answered by the wrapped target.
		"map:ringbuf": Supported,
	} {
		if got := tg.Has(id); got.State != want || got.Detail == "" {
			t.Errorf("%s: %+v, want %s", id, got, want)
		}
	}
}

// TestKernelBTFWithoutTraceTypes: BTF without btf_trace_ types (older than
// 5.5, or made without them) cannot refute a tracepoint.
func TestKernelBTFWithoutTraceTypes(t *testing.T) {
	b, err := btf.NewBuilder([]btf.Type{&btf.Func{Name: "do_unlinkat", Type: &btf.FuncProto{Return: &btf.Int{Name: "int", Size: 4}}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := b.Marshal(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := loadRawSpec(raw)
	if err != nil {
		t.Fatal(err)
	}
	tg := WithKernelBTF(VersionTarget(kversion.MustParse("4.19")), spec)
	if a := tg.Has("raw-tp:sched_switch"); a.State != Unknown {
		t.Errorf("raw-tp without btf_trace_ types: %+v", a)
	}
	if a := tg.Has("btf-func:do_unlinkat"); a.State != Supported {
		t.Errorf("btf-func: %+v", a)
	}
	// Nor can BTF that is not a whole kernel's refute a function or a
	// syscall: it has no schedule() and no read syscall.
	for _, id := range []FeatureID{"btf-func:security_file_open", "tracepoint:syscalls/sys_enter_execve", "tracepoint:sched/sched_switch"} {
		if a := tg.Has(id); a.State != Unknown {
			t.Errorf("%s in a partial BTF: %+v", id, a)
		}
	}
	// The version target's own answer wins: 4.19 has no ring buffer.
	if a := tg.Has("map:ringbuf"); a.State != Unsupported {
		t.Errorf("map:ringbuf on 4.19: %+v", a)
	}
}

func loadRawSpec(raw []byte) (*btf.Spec, error) {
	return btf.LoadSpecFromReader(bytes.NewReader(raw))
}
