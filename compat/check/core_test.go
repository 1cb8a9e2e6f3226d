package check

import (
	"bytes"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"github.com/retrobpf/retrobpf/compat"
	"github.com/retrobpf/retrobpf/internal/kversion"
)

// kernelSpec builds kernel BTF with a task_struct of the given int fields,
// plus schedule() so it reads as a whole kernel's.
func kernelSpec(t *testing.T, fields ...string) *btf.Spec {
	t.Helper()
	i32 := &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed}
	var members []btf.Member
	for i, f := range fields {
		members = append(members, btf.Member{Name: f, Type: i32, Offset: btf.Bits(32 * i)})
	}
	task := &btf.Struct{Name: "task_struct", Size: uint32(4 * len(fields)), Members: members}
	fn := func(name string) *btf.Func {
		return &btf.Func{Name: name, Type: &btf.FuncProto{Return: i32}, Linkage: btf.GlobalFunc}
	}
	b, err := btf.NewBuilder([]btf.Type{task, fn("schedule"), fn("do_unlinkat")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := b.Marshal(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := btf.LoadSpecFromReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// coreTarget is a 6.1 kernel built with its own BTF (as its config says),
// whose types are spec.
func coreTarget(spec *btf.Spec) *Target {
	v := kversion.MustParse("6.1")
	t := compat.WithKernelConfig(compat.WithKernelBTF(compat.VersionTarget(v), spec), []byte("CONFIG_DEBUG_INFO_BTF=y\n"))
	return &Target{Target: t, Version: v, KernelBTF: spec}
}

// fentry_core.o reads task_struct->tgid with CO-RE.
func TestCORERelocationsAgainstTargetBTF(t *testing.T) {
	r := Analyze([]string{"../testdata/fentry_core.o"}, compat.AnalyzeOptions{})
	r.Evaluate(coreTarget(kernelSpec(t, "pid", "tgid")))
	if v := r.Objects[0].Verdicts[0]; v.Verdict != compat.Compatible {
		t.Fatalf("with tgid: %+v", v)
	}

	r.Evaluate(coreTarget(kernelSpec(t, "pid")))
	v := r.Objects[0].Verdicts[0]
	var core *compat.Unmet
	for i, u := range v.Unmet {
		if u.Feature == "btf:core" {
			core = &v.Unmet[i]
		}
	}
	if core == nil || !strings.Contains(core.Reason, "task_struct.tgid") || !strings.Contains(core.Source, "on_unlink") {
		t.Fatalf("without tgid: %+v", v)
	}
	// The program branches on a .rodata constant, which could skip the
	// access: undecided, so unconfirmed — not compatible, not refuted.
	if core.State != compat.Unknown || v.Verdict != compat.Unconfirmed {
		t.Errorf("guarded access: %s, verdict %s", core.State, v.Verdict)
	}
}

func TestGuarded(t *testing.T) {
	plain := &ebpf.ProgramSpec{Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()}}
	if guarded(plain, nil) {
		t.Error("a program without relocations or constant loads is guarded")
	}
	ro := &ebpf.ProgramSpec{Instructions: asm.Instructions{
		asm.LoadMapValue(asm.R1, 0, 0).WithReference(".rodata"),
		asm.Mov.Imm(asm.R0, 0), asm.Return(),
	}}
	if !guarded(ro, nil) {
		t.Error("a .rodata load is not a guard")
	}
}

// A relocation the kernel cannot satisfy is no requirement where the
// verifier never gets to it: versioned.o reads task_struct's __state or
// state, whichever bpf_core_field_exists() finds. Analysed for the target's
// BTF, the poisoned access is dead; analysed without it, undecided.
func TestCOREPoisonedButUnreachable(t *testing.T) {
	kernel := kernelSpec(t, "__state")
	obj := []string{"../testdata/versioned.o"}
	coreUnmets := func(r *Result) []compat.Unmet {
		var out []compat.Unmet
		for _, v := range r.Objects[0].Verdicts {
			if v.Program != "wakeup_state_by_core" {
				continue
			}
			for _, u := range v.Unmet {
				if u.Feature == "btf:core" {
					out = append(out, u)
				}
			}
		}
		return out
	}
	blind := Analyze(obj, compat.AnalyzeOptions{})
	blind.Evaluate(coreTarget(kernel))
	if u := coreUnmets(blind); len(u) != 1 || u[0].State != compat.Unknown || !strings.Contains(u[0].Reason, "task_struct___old.state") {
		t.Errorf("analysed without the kernel's BTF: %+v", u)
	}
	aware := Analyze(obj, compat.AnalyzeOptions{Kernel: &compat.Kernel{Version: kversion.MustParse("6.1.0"), Exact: true, BTF: kernel}})
	aware.Evaluate(coreTarget(kernel))
	if u := coreUnmets(aware); len(u) != 0 {
		t.Errorf("analysed with the kernel's BTF: %+v", u)
	}
}

// fentry_core.o reads tgid before its .rodata guard: analysed for a
// kernel without tgid the poisoned access is reached, so the program is
// refused, not merely unconfirmed.
func TestCOREPoisonedAndReachable(t *testing.T) {
	kernel := kernelSpec(t, "pid")
	r := Analyze([]string{"../testdata/fentry_core.o"}, compat.AnalyzeOptions{Kernel: &compat.Kernel{Version: kversion.MustParse("6.1.0"), Exact: true, BTF: kernel}})
	r.Evaluate(coreTarget(kernel))
	v := r.Objects[0].Verdicts[0]
	if v.Verdict != compat.Incompatible {
		t.Fatalf("verdict %s, unmet %+v", v.Verdict, v.Unmet)
	}
	for _, u := range v.Unmet {
		if u.Feature == "btf:core" && (u.State != compat.Unsupported || !strings.Contains(u.Detail, "reaches it")) {
			t.Errorf("%+v", u)
		}
	}
}
