package compat

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"

	"github.com/retrobpf/retrobpf/internal/kversion"
	"github.com/retrobpf/retrobpf/internal/objload"
)

// versioned.o adapts to the kernel as libbpf-tools do: which helpers and
// which tracepoint arguments it needs follows LINUX_KERNEL_VERSION, which
// the loader sets for the target.
func analyzeVersioned(t *testing.T, k *Kernel) *ObjectReport {
	t.Helper()
	rep, err := AnalyzeFor(filepath.Join("testdata", "versioned.o"), AnalyzeOptions{Kernel: k})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func program(t *testing.T, rep *ObjectReport, name string) ProgramReport {
	t.Helper()
	p := rep.Program(name)
	if p == nil {
		t.Fatalf("no program %s in %+v", name, rep.Programs)
	}
	return *p
}

func hasFinding(p ProgramReport, sev Severity, has string) bool {
	for _, f := range p.Findings {
		if f.Severity == sev && strings.Contains(f.Message, has) {
			return true
		}
	}
	return false
}

func TestAnalyzeHelperBehindKernelVersion(t *testing.T) {
	for _, tc := range []struct {
		name      string
		kernel    *Kernel
		need, not []FeatureID
	}{
		{"no target", nil, []FeatureID{"helper:bpf_get_current_task_btf", "helper:bpf_get_current_task"}, nil},
		{"5.10.200", &Kernel{Version: kversion.MustParse("5.10.200"), Exact: true},
			[]FeatureID{"helper:bpf_get_current_task"}, []FeatureID{"helper:bpf_get_current_task_btf"}},
		// Every 5.10 patch level is below 5.11: decided without one.
		{"5.10 any patch", &Kernel{Version: kversion.MustParse("5.10")},
			[]FeatureID{"helper:bpf_get_current_task"}, []FeatureID{"helper:bpf_get_current_task_btf"}},
		{"6.1.0", &Kernel{Version: kversion.MustParse("6.1.0"), Exact: true},
			[]FeatureID{"helper:bpf_get_current_task_btf"}, []FeatureID{"helper:bpf_get_current_task"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := program(t, analyzeVersioned(t, tc.kernel), "switch_helper_by_version")
			for _, id := range tc.need {
				mustReq(t, p, id, "insn ")
			}
			for _, id := range tc.not {
				noReq(t, p, id)
				if !hasFinding(p, SeverityWarning, strings.TrimPrefix(string(id), "helper:")) {
					t.Errorf("no warning names the unreached %s: %+v", id, p.Findings)
				}
			}
		})
	}
}

// With the patch level unknown the walk takes every branch some patch level
// takes (0 and 255 are tried): 5.11.x is >= 5.11.0 at every one.
func TestAnalyzeKernelVersionPatchUnknown(t *testing.T) {
	k := &Kernel{Version: kversion.MustParse("5.11")}
	p := program(t, analyzeVersioned(t, k), "switch_helper_by_version")
	mustReq(t, p, "helper:bpf_get_current_task_btf", "insn ")
	noReq(t, p, "helper:bpf_get_current_task")
}

// issue_by_version reads ctx[(version < 5.11) ? 1 : 0] by adding the index
// to the context pointer: on 5.10 that is a modified context pointer, which
// the verifier refuses; from 5.11 the offset is 0 and ctx[0] is read.
func TestAnalyzeContextReadsByVersion(t *testing.T) {
	old := program(t, analyzeVersioned(t, &Kernel{Version: kversion.MustParse("5.10.200"), Exact: true}), "issue_by_version")
	if !old.HasErrors() || !hasFinding(old, SeverityError, "modified context pointer") {
		t.Errorf("5.10: want the modified context pointer refused, findings %+v", old.Findings)
	}
	cur := program(t, analyzeVersioned(t, &Kernel{Version: kversion.MustParse("6.1.0"), Exact: true}), "issue_by_version")
	if cur.HasErrors() {
		t.Errorf("6.1: %+v", cur.Findings)
	}
	mustReq(t, cur, "raw-tp-args:block_rq_issue/1", "insn 11")
	// Without a target the index is unknown: no read is claimed.
	any := program(t, analyzeVersioned(t, nil), "issue_by_version")
	if any.HasErrors() {
		t.Errorf("no target: %+v", any.Findings)
	}

	two := program(t, analyzeVersioned(t, nil), "insert_two_args")
	mustReq(t, two, "raw-tp-args:block_rq_insert/2", "insn 0")
}

// kernelTypes builds a kernel BTF: btf_trace_ typedefs with the given
// argument counts, task_struct with the given fields, and schedule() and
// btf_trace_sched_switch so it reads as a whole kernel's.
func kernelTypes(t *testing.T, traceArgs map[string]int, taskFields ...string) *btf.Spec {
	t.Helper()
	u32 := &btf.Int{Name: "unsigned int", Size: 4}
	void := &btf.Pointer{Target: &btf.Void{}}
	types := []btf.Type{
		&btf.Func{Name: "schedule", Type: &btf.FuncProto{Return: u32}, Linkage: btf.GlobalFunc},
	}
	if _, ok := traceArgs["sched_switch"]; !ok {
		traceArgs["sched_switch"] = 3
	}
	for name, n := range traceArgs {
		params := []btf.FuncParam{{Name: "__data", Type: void}}
		for i := 0; i < n; i++ {
			params = append(params, btf.FuncParam{Type: void})
		}
		types = append(types, &btf.Typedef{Name: "btf_trace_" + name, Type: &btf.Pointer{Target: &btf.FuncProto{Return: &btf.Void{}, Params: params}}})
	}
	var members []btf.Member
	for i, f := range taskFields {
		members = append(members, btf.Member{Name: f, Type: u32, Offset: btf.Bits(32 * i)})
	}
	types = append(types, &btf.Struct{Name: "task_struct", Size: uint32(4 * len(taskFields)), Members: members})
	b, err := btf.NewBuilder(types, nil)
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

// A tp_btf program reading ctx[1] needs a tracepoint of two arguments:
// block_rq_insert had two before 5.11 (request_queue, request) and one
// after; the kernel's btf_trace_ prototype says which.
func TestCheckTracepointArgumentCount(t *testing.T) {
	p := program(t, analyzeVersioned(t, nil), "insert_two_args")
	v61 := WithKernelConfig(VersionTarget(kversion.MustParse("6.1")), []byte("CONFIG_DEBUG_INFO_BTF=y\n"))
	for _, tc := range []struct {
		args int
		want Verdict
	}{{1, Incompatible}, {2, Compatible}} {
		target := WithKernelBTF(v61, kernelTypes(t, map[string]int{"block_rq_insert": tc.args}))
		v := CheckProgram(&p, target)
		if v.Verdict != tc.want {
			t.Errorf("%d argument(s): %s, unmet %+v", tc.args, v.Verdict, v.Unmet)
		}
		if tc.want == Incompatible && (len(v.Unmet) != 1 || v.Unmet[0].Feature != "raw-tp-args:block_rq_insert/2" || !strings.Contains(v.Unmet[0].Detail, "1 argument")) {
			t.Errorf("unmet %+v", v.Unmet)
		}
	}
	// A bare version cannot count arguments: unconfirmed, never compatible.
	if v := CheckProgram(&p, v61); v.Verdict != Unconfirmed {
		t.Errorf("bare version: %s", v.Verdict)
	}
}

// wakeup_state_by_core reads __state when bpf_core_field_exists finds it,
// state otherwise: with the target's BTF the existence check is a constant,
// and the access the kernel lacks is poisoned where the verifier never goes.
func TestAnalyzeCOREExistenceGuard(t *testing.T) {
	for _, tc := range []struct {
		fields []string
		dead   string // the field whose access is unreachable
	}{{[]string{"__state"}, "state"}, {[]string{"state"}, "__state"}} {
		kernel := kernelTypes(t, map[string]int{}, tc.fields...)
		rep := analyzeVersioned(t, &Kernel{Version: kversion.MustParse("6.1.0"), Exact: true, BTF: kernel})
		p := program(t, rep, "wakeup_state_by_core")
		obj, err := objload.ReadFile(filepath.Join("testdata", "versioned.o"))
		if err != nil {
			t.Fatal(err)
		}
		live := 0
		for it := obj.AnalysisSpec().Programs["wakeup_state_by_core"].Instructions.Iterate(); it.Next(); {
			m := btf.CORERelocationMetadata(it.Ins)
			if m == nil || !strings.Contains(m.String(), "byte_off") {
				continue
			}
			reach, decided := p.Reachable(int64(it.Offset))
			if !decided {
				t.Fatalf("%v: insn %d undecided", tc.fields, it.Offset)
			}
			t.Logf("%v: insn %d %s reachable=%v", tc.fields, it.Offset, m, reach)
			if reach {
				live++
			}
			if old := !strings.Contains(m.String(), "___new"); reach && old == (tc.dead == "state") {
				t.Errorf("%v: the access to the missing field is reachable: %s", tc.fields, m)
			}
		}
		if live != 1 {
			t.Errorf("%v: %d field reads reachable, want the one the kernel has", tc.fields, live)
		}
	}
}

// A kernel's symbol table decides kprobe targets; its ftrace list decides
// whether a BTF function can take a trampoline.
func TestKernelSymbolsAndTraceable(t *testing.T) {
	kernel := kernelTypes(t, map[string]int{})
	base := WithKernelBTF(VersionTarget(kversion.MustParse("6.1")), kernel)
	syms := WithKernelSymbols(base, map[string]bool{"do_sys_openat2": true}, "System.map")
	if a := syms.Has("ksym:do_sys_openat2"); a.State != Supported {
		t.Errorf("listed symbol: %+v", a)
	}
	if a := syms.Has("ksym:dummy_file_open"); a.State != Unsupported || !strings.Contains(a.Detail, "System.map") {
		t.Errorf("unlisted symbol: %+v", a)
	}
	if a := base.Has("ksym:dummy_file_open"); a.State != Unknown {
		t.Errorf("BTF alone refutes a kprobe target: %+v", a)
	}
	tr := WithTraceable(base, map[string]bool{}, "available_filter_functions")
	if a := tr.Has("btf-func:schedule"); a.State != Unsupported || !strings.Contains(a.Detail, "ftrace cannot patch") {
		t.Errorf("untraceable function: %+v", a)
	}
	if a := WithTraceable(base, map[string]bool{"schedule": true}, "x").Has("btf-func:schedule"); a.State != Supported {
		t.Errorf("traceable function: %+v", a)
	}
}

// tcp_v4_syn_recv_sock takes seven arguments on 6.1: the x86-64
// trampoline saved at most six before 6.6, so fentry on it loads and then
// fails to attach (ENOTSUPP).
func TestFentryOnManyArguments(t *testing.T) {
	void := &btf.Pointer{Target: &btf.Void{}}
	params := make([]btf.FuncParam, 7)
	for i := range params {
		params[i].Type = void
	}
	fn := &btf.Func{Name: "tcp_v4_syn_recv_sock", Type: &btf.FuncProto{Return: void, Params: params}, Linkage: btf.StaticFunc}
	sched := &btf.Func{Name: "schedule", Type: &btf.FuncProto{Return: &btf.Void{}}, Linkage: btf.GlobalFunc}
	b, err := btf.NewBuilder([]btf.Type{fn, sched}, nil)
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
	for version, want := range map[string]State{"6.1": Unsupported, "6.6": Supported} {
		a := WithKernelBTF(VersionTarget(kversion.MustParse(version)), spec).Has("btf-func:tcp_v4_syn_recv_sock")
		if a.State != want || !strings.Contains(a.Detail, "7 argument slots") {
			t.Errorf("%s: %+v, want %s", version, a, want)
		}
	}
}

// Without the ftrace list a BTF FUNC is not proof that fentry attaches.
func TestTraceableUnknownWithoutList(t *testing.T) {
	base := WithKernelBTF(VersionTarget(kversion.MustParse("6.1")), kernelTypes(t, map[string]int{}))
	if a := WithTraceable(base, nil, "").Has("btf-func:schedule"); a.State != Unknown || !strings.Contains(a.Detail, "available_filter_functions") {
		t.Errorf("%+v", a)
	}
	if a := WithTraceable(base, nil, "").Has("btf-func:no_such_function"); a.State != Unsupported {
		t.Errorf("a FUNC missing from BTF: %+v", a)
	}
}

// A verifier behaviour that went away and came back: the version answers
// where it was measured, and stays Unknown in between.
func TestLostAndBackFeature(t *testing.T) {
	for version, want := range map[string]State{"5.4": Unsupported, "5.10.262": Supported, "5.15": Unknown, "6.1": Unsupported, "6.12.118": Unsupported, "6.15": Unknown, "6.18": Supported} {
		if a := VersionTarget(kversion.MustParse(version)).Has("stack-ptr-through-helper"); a.State != want {
			t.Errorf("%s: %+v, want %s", version, a, want)
		}
	}
}

// biosnoop's block_rq_complete: the request pointer is spilled, its slot
// is the key of a map lookup, and it is reloaded and dereferenced after.
func TestAnalyzeStackPointerThroughHelper(t *testing.T) {
	build := func(reloadFromStack bool) ProgramReport {
		m := &ebpf.MapSpec{Name: "start", Type: ebpf.Hash, KeySize: 8, ValueSize: 8, MaxEntries: 1}
		insns := asm.Instructions{
			asm.LoadMem(asm.R6, asm.R1, 0, asm.DWord), // rq = ctx[0]
			asm.StoreMem(asm.RFP, -8, asm.R6, asm.DWord),
			asm.LoadMapPtr(asm.R1, 0).WithReference("start"),
			asm.Mov.Reg(asm.R2, asm.RFP),
			asm.Add.Imm(asm.R2, -8),
			asm.FnMapLookupElem.Call(),
			asm.LoadMem(asm.R1, asm.RFP, -8, asm.DWord),
		}
		if !reloadFromStack {
			insns[len(insns)-1] = asm.Mov.Reg(asm.R1, asm.R6)
		}
		insns = append(insns, asm.LoadMem(asm.R0, asm.R1, 48, asm.DWord), asm.Mov.Imm(asm.R0, 0), asm.Return())
		spec := &ebpf.CollectionSpec{
			Maps: map[string]*ebpf.MapSpec{"start": m},
			Programs: map[string]*ebpf.ProgramSpec{"complete": {Name: "complete", Type: ebpf.Tracing, AttachType: ebpf.AttachTraceRawTp,
				AttachTo: "block_rq_complete", SectionName: "tp_btf/block_rq_complete", License: "GPL", Instructions: insns}},
		}
		rep, err := AnalyzeSpec(spec)
		if err != nil {
			t.Fatal(err)
		}
		return rep.Programs[0]
	}
	mustReq(t, build(true), "stack-ptr-through-helper", "insn 8")
	noReq(t, build(false), "stack-ptr-through-helper")
}

// exec_helper_by_core calls bpf_get_current_task_btf only when
// bpf_core_type_exists(struct bpf_iter_num) holds on the target: with the
// target's BTF the guard is a constant and only one helper is required.
func TestAnalyzeHelperBehindCORETypeExists(t *testing.T) {
	u32 := &btf.Int{Name: "unsigned int", Size: 4}
	build := func(withType bool) *btf.Spec {
		types := []btf.Type{&btf.Func{Name: "schedule", Type: &btf.FuncProto{Return: u32}, Linkage: btf.GlobalFunc}}
		if withType {
			types = append(types, &btf.Struct{Name: "bpf_iter_num", Size: 8, Members: []btf.Member{{Name: "__opaque", Type: u32}}})
		}
		b, err := btf.NewBuilder(types, nil)
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
	for _, tc := range []struct {
		has       bool
		need, not FeatureID
	}{{true, "helper:bpf_get_current_task_btf", "helper:bpf_get_current_task"}, {false, "helper:bpf_get_current_task", "helper:bpf_get_current_task_btf"}} {
		rep := analyzeVersioned(t, &Kernel{Version: kversion.MustParse("6.1.0"), Exact: true, BTF: build(tc.has)})
		p := program(t, rep, "exec_helper_by_core")
		mustReq(t, p, tc.need, "insn ")
		noReq(t, p, tc.not)
	}
	// Without the target's BTF the guard is undecided: both are required.
	p := program(t, analyzeVersioned(t, nil), "exec_helper_by_core")
	mustReq(t, p, "helper:bpf_get_current_task_btf", "insn ")
	mustReq(t, p, "helper:bpf_get_current_task", "insn ")
}

// fork_helper_by_ksym calls bpf_get_current_task_btf only when the weak
// __ksym sysctl_sched_features resolves (bpf_ksym_exists): the target's
// symbol table decides which helper is required.
func TestAnalyzeHelperBehindKsymExists(t *testing.T) {
	for _, tc := range []struct {
		exists, known bool
		need          []FeatureID
		not           FeatureID
	}{
		{true, true, []FeatureID{"helper:bpf_get_current_task_btf"}, "helper:bpf_get_current_task"},
		{false, true, []FeatureID{"helper:bpf_get_current_task"}, "helper:bpf_get_current_task_btf"},
		{false, false, []FeatureID{"helper:bpf_get_current_task", "helper:bpf_get_current_task_btf"}, ""},
	} {
		k := &Kernel{Version: kversion.MustParse("6.1.0"), Exact: true, Symbol: func(name string) (bool, bool) {
			if name != "sysctl_sched_features" {
				return false, false
			}
			return tc.exists, tc.known
		}}
		p := program(t, analyzeVersioned(t, k), "fork_helper_by_ksym")
		for _, id := range tc.need {
			mustReq(t, p, id, "insn ")
		}
		if tc.not != "" {
			noReq(t, p, tc.not)
		}
	}
}
