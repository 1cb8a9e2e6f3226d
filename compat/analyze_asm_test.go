package compat

import (
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/retrobpf/retrobpf/internal/kversion"
)

// specOf wraps hand-built programs (and maps) into a CollectionSpec.
func specOf(maps []*ebpf.MapSpec, progs ...*ebpf.ProgramSpec) *ebpf.CollectionSpec {
	s := &ebpf.CollectionSpec{Maps: map[string]*ebpf.MapSpec{}, Programs: map[string]*ebpf.ProgramSpec{}}
	for _, m := range maps {
		s.Maps[m.Name] = m
	}
	for _, p := range progs {
		if p.License == "" {
			p.License = "GPL"
		}
		s.Programs[p.Name] = p
	}
	return s
}

func analyzeOne(t *testing.T, spec *ebpf.CollectionSpec, name string) ProgramReport {
	t.Helper()
	rep, err := AnalyzeSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	p := rep.Program(name)
	if p == nil {
		t.Fatalf("program %s missing from report", name)
	}
	return *p
}

func findReq(p ProgramReport, id FeatureID) (Requirement, bool) {
	for _, r := range p.Requirements {
		if r.Feature == id {
			return r, true
		}
	}
	return Requirement{}, false
}

func mustReq(t *testing.T, p ProgramReport, id FeatureID, sourceHas string) Requirement {
	t.Helper()
	r, ok := findReq(p, id)
	if !ok {
		t.Fatalf("%s: no requirement %s in %+v", p.Name, id, p.Requirements)
	}
	if !strings.Contains(r.Source, sourceHas) {
		t.Errorf("%s: source %q does not contain %q", id, r.Source, sourceHas)
	}
	return r
}

func noReq(t *testing.T, p ProgramReport, id FeatureID) {
	t.Helper()
	if r, ok := findReq(p, id); ok {
		t.Errorf("%s: unexpected requirement %+v", p.Name, r)
	}
}

func TestAnalyzeRingbufOutput(t *testing.T) {
	rb := &ebpf.MapSpec{Name: "events", Type: ebpf.RingBuf, MaxEntries: 4096}
	prog := &ebpf.ProgramSpec{
		Name: "rb", Type: ebpf.Kprobe, SectionName: "kprobe/do_sys_openat2", AttachTo: "do_sys_openat2",
		Instructions: asm.Instructions{
			asm.LoadMapPtr(asm.R1, 0).WithReference("events"),
			asm.Mov.Reg(asm.R2, asm.R10),
			asm.Add.Imm(asm.R2, -8),
			asm.Mov.Imm(asm.R3, 8),
			asm.Mov.Imm(asm.R4, 0),
			asm.FnRingbufOutput.Call(),
			asm.FnRingbufOutput.Call(), // a second call must not add a second requirement
			asm.Mov.Imm(asm.R0, 0),
			asm.Return(),
		},
	}
	p := analyzeOne(t, specOf([]*ebpf.MapSpec{rb}, prog), "rb")
	mustReq(t, p, "prog:kprobe", "section kprobe/do_sys_openat2")
	mustReq(t, p, "attach:kprobe", "kprobe/do_sys_openat2")
	mustReq(t, p, "ksym:do_sys_openat2", "kprobe/do_sys_openat2")
	mustReq(t, p, "map:ringbuf", "map events")
	r := mustReq(t, p, "helper:bpf_ringbuf_output", "insn 6")
	if !strings.Contains(r.Reason, "bpf_ringbuf_output") {
		t.Errorf("reason %q does not name the helper", r.Reason)
	}
	n := 0
	for _, r := range p.Requirements {
		if r.Feature == "helper:bpf_ringbuf_output" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("helper requirement listed %d times, want 1 (deduplicated)", n)
	}
	if want := kversion.MustParse("5.8"); p.MinKernel != want {
		t.Errorf("min kernel %v, want %v", p.MinKernel, want)
	}
	for _, by := range p.MinKernelBy {
		if by.Feature != "map:ringbuf" && by.Feature != "helper:bpf_ringbuf_output" {
			t.Errorf("min kernel set by unexpected %s", by.Feature)
		}
	}
	if len(p.MinKernelBy) == 0 {
		t.Error("min kernel has no reason")
	}
	if p.Attach != "kprobe" || p.Type != "kprobe" {
		t.Errorf("type/attach %q/%q", p.Type, p.Attach)
	}
}

func TestAnalyzeBackEdge(t *testing.T) {
	loop := asm.Instructions{
		asm.Mov.Imm(asm.R0, 0),
		asm.Add.Imm(asm.R0, 1).WithSymbol("loop"),
		asm.JLT.Imm(asm.R0, 10, "loop"), // back-edge, and a v2 jump
		asm.Return(),
	}
	p := analyzeOne(t, specOf(nil, &ebpf.ProgramSpec{Name: "l", Type: ebpf.SocketFilter, SectionName: "socket", Instructions: loop}), "l")
	r := mustReq(t, p, "insn:bounded-loops", "insn 2")
	if !strings.Contains(r.Reason, "insn 1") {
		t.Errorf("reason %q should name the jump target", r.Reason)
	}
	mustReq(t, p, "insn:v2", "insn 2")

	// The same loop by raw offset (as in ELF objects), with a ldimm64 in
	// between so raw offsets and indices differ.
	raw := asm.Instructions{
		asm.Mov.Imm(asm.R0, 0),
		asm.LoadImm(asm.R1, 1<<40, asm.DWord),
		asm.Add.Imm(asm.R0, 1),
		asm.JNE.Imm(asm.R0, 10, "").WithReference(""),
		asm.Return(),
	}
	raw[3].Offset = -2 // to the Add at raw offset 3
	p = analyzeOne(t, specOf(nil, &ebpf.ProgramSpec{Name: "r", Type: ebpf.SocketFilter, Instructions: raw}), "r")
	r = mustReq(t, p, "insn:bounded-loops", "insn 4")
	if !strings.Contains(r.Reason, "insn 3") {
		t.Errorf("reason %q, want target insn 3", r.Reason)
	}
	noReq(t, p, "insn:v2")

	// Forward jumps only: no loop.
	fwd := asm.Instructions{
		asm.Mov.Imm(asm.R0, 0),
		asm.JEq.Imm(asm.R0, 0, "out"),
		asm.Mov.Imm(asm.R0, 1),
		asm.Return().WithSymbol("out"),
	}
	p = analyzeOne(t, specOf(nil, &ebpf.ProgramSpec{Name: "f", Type: ebpf.SocketFilter, Instructions: fwd}), "f")
	noReq(t, p, "insn:bounded-loops")
	if p.MinKernel != kversion.MustParse("3.19") {
		t.Errorf("socket filter min kernel %v, want 3.19", p.MinKernel)
	}
}

func TestAnalyzeBPF2BPFCall(t *testing.T) {
	insns := asm.Instructions{
		asm.Call.Label("helper_fn"),
		asm.Return(),
		asm.Mov.Imm(asm.R0, 1).WithSymbol("helper_fn"),
		asm.Return(),
	}
	p := analyzeOne(t, specOf(nil, &ebpf.ProgramSpec{Name: "c", Type: ebpf.XDP, SectionName: "xdp", Instructions: insns}), "c")
	r := mustReq(t, p, "bpf2bpf-calls", "insn 0")
	if !strings.Contains(r.Reason, "helper_fn") {
		t.Errorf("reason %q does not name the callee", r.Reason)
	}
	noReq(t, p, "insn:bounded-loops") // a call is not a back-edge
	if p.MinKernel != kversion.MustParse("4.16") {
		t.Errorf("min kernel %v, want 4.16 (bpf2bpf)", p.MinKernel)
	}
}

func TestAnalyzeBPF2BPFWithTailCall(t *testing.T) {
	pa := &ebpf.MapSpec{Name: "jmp", Type: ebpf.ProgramArray, KeySize: 4, ValueSize: 4, MaxEntries: 1}
	insns := asm.Instructions{
		asm.Call.Label("sub"),
		asm.Return(),
		asm.LoadMapPtr(asm.R2, 0).WithReference("jmp").WithSymbol("sub"),
		asm.Mov.Imm(asm.R3, 0),
		asm.FnTailCall.Call(),
		asm.Return(),
	}
	p := analyzeOne(t, specOf([]*ebpf.MapSpec{pa}, &ebpf.ProgramSpec{Name: "tc", Type: ebpf.SchedCLS, SectionName: "tc", Instructions: insns}), "tc")
	mustReq(t, p, "bpf2bpf-tail-calls", "func sub, insn 5")
	mustReq(t, p, "map:prog_array", "map jmp")
	if p.MinKernel != kversion.MustParse("5.10") {
		t.Errorf("min kernel %v, want 5.10", p.MinKernel)
	}
	// A tail call alone does not need it.
	p = analyzeOne(t, specOf([]*ebpf.MapSpec{pa}, &ebpf.ProgramSpec{Name: "t2", Type: ebpf.SchedCLS, Instructions: insns[2:]}), "t2")
	noReq(t, p, "bpf2bpf-tail-calls")
}

func TestAnalyzeAtomics(t *testing.T) {
	cases := []struct {
		name string
		ins  asm.Instruction
		want FeatureID
	}{
		{"fetch_add", asm.FetchAdd.Mem(asm.R1, asm.R2, asm.DWord, 0), "insn:atomics"},
		{"cmpxchg", asm.CmpXchg.Mem(asm.R1, asm.R2, asm.Word, 0), "insn:atomics"},
		{"xchg", asm.Xchg.Mem(asm.R1, asm.R2, asm.DWord, 0), "insn:atomics"},
		{"xadd", asm.AddAtomic.Mem(asm.R1, asm.R2, asm.DWord, 0), ""}, // plain XADD is old
		{"jmp32", asm.JGT.Imm32(asm.R0, 1, "end"), "insn:jmp32"},
		{"sdiv", asm.SDiv.Imm(asm.R0, 3), "insn:v4"},
		{"movsx", asm.MovSX16.Reg(asm.R0, asm.R1), "insn:v4"},
		{"bswap", asm.BSwap(asm.R0, asm.DWord), "insn:v4"},
		{"ldsx", asm.LoadMemSX(asm.R0, asm.R1, 0, asm.Word), "insn:v4"},
		{"gotol", asm.LongJump("end"), "insn:v4"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			insns := asm.Instructions{
				asm.Mov.Reg(asm.R1, asm.R10),
				asm.Add.Imm(asm.R1, -8),
				asm.Mov.Imm(asm.R2, 1),
				c.ins,
				asm.Mov.Imm(asm.R0, 0).WithSymbol("end"),
				asm.Return(),
			}
			p := analyzeOne(t, specOf(nil, &ebpf.ProgramSpec{Name: "a", Type: ebpf.SocketFilter, Instructions: insns}), "a")
			if c.want == "" {
				for _, id := range []FeatureID{"insn:atomics", "insn:v4", "insn:jmp32"} {
					noReq(t, p, id)
				}
				return
			}
			mustReq(t, p, c.want, "insn 3")
			if since := featureSince(c.want); p.MinKernel != since {
				t.Errorf("min kernel %v, want %v from %s", p.MinKernel, since, c.want)
			}
		})
	}
}

func TestAnalyzeLargeProgram(t *testing.T) {
	var insns asm.Instructions
	for i := 0; i < 5000; i++ {
		insns = append(insns, asm.Mov.Imm(asm.R0, int32(i)))
	}
	insns = append(insns, asm.Return())
	p := analyzeOne(t, specOf(nil, &ebpf.ProgramSpec{Name: "big", Type: ebpf.SocketFilter, SectionName: "socket", Instructions: insns}), "big")
	r := mustReq(t, p, "limit:1m-insns", "section socket")
	if !strings.Contains(r.Reason, "5001") {
		t.Errorf("reason %q should give the count", r.Reason)
	}
	if p.Instructions != 5001 {
		t.Errorf("instructions %d", p.Instructions)
	}

	// Exactly 4096 raw instructions is still fine.
	insns = insns[len(insns)-4096:]
	p = analyzeOne(t, specOf(nil, &ebpf.ProgramSpec{Name: "edge", Type: ebpf.SocketFilter, Instructions: insns}), "edge")
	noReq(t, p, "limit:1m-insns")
}

func TestAnalyzeLicense(t *testing.T) {
	insns := asm.Instructions{
		asm.Mov.Reg(asm.R1, asm.R10),
		asm.Add.Imm(asm.R1, -8),
		asm.Mov.Imm(asm.R2, 8),
		asm.Mov.Imm(asm.R3, 0),
		asm.FnProbeRead.Call(),
		asm.FnKtimeGetNs.Call(),
		asm.Return(),
	}
	for _, c := range []struct {
		license string
		err     bool
	}{{"GPL", false}, {"Dual BSD/GPL", false}, {"MIT", true}, {"", true}} {
		spec := specOf(nil, &ebpf.ProgramSpec{Name: "p", Type: ebpf.Kprobe, SectionName: "kprobe/x", AttachTo: "x", License: c.license, Instructions: insns})
		if c.license == "" {
			spec.Programs["p"].License = ""
		}
		rep, err := AnalyzeSpec(spec)
		if err != nil {
			t.Fatal(err)
		}
		p := rep.Programs[0]
		if p.HasErrors() != c.err {
			t.Errorf("license %q: HasErrors=%v, findings %+v", c.license, p.HasErrors(), p.Findings)
		}
		if c.err {
			if !strings.Contains(p.Findings[0].Message, "bpf_probe_read") || !strings.Contains(p.Findings[0].Source, "insn 4") {
				t.Errorf("finding %+v should name the GPL-only helper and its insn", p.Findings[0])
			}
			if len(rep.Findings) == 0 {
				t.Error("object report lacks the program's finding")
			}
		}
	}
}

func TestAnalyzeBTFAttachAndSleepable(t *testing.T) {
	prog := &ebpf.ProgramSpec{
		Name: "fe", Type: ebpf.Tracing, AttachType: ebpf.AttachTraceFEntry, AttachTo: "security_file_open",
		SectionName: "fentry.s/security_file_open", Flags: bpfFSleepable,
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()},
	}
	p := analyzeOne(t, specOf(nil, prog), "fe")
	mustReq(t, p, "prog:tracing", "fentry.s/")
	mustReq(t, p, "attach:fentry", "fentry.s/")
	mustReq(t, p, "btf:vmlinux", "fentry.s/")
	mustReq(t, p, "btf-func:security_file_open", "fentry.s/")
	mustReq(t, p, "sleepable", "fentry.s/")
	if !p.Sleepable || p.Attach != "fentry" {
		t.Errorf("report %+v", p)
	}
	if p.MinKernel != kversion.MustParse("5.10") {
		t.Errorf("min kernel %v, want 5.10 (sleepable)", p.MinKernel)
	}
}

func TestAnalyzeLSMHookSymbol(t *testing.T) {
	prog := &ebpf.ProgramSpec{
		Name: "deny", Type: ebpf.LSM, AttachType: ebpf.AttachLSMMac, AttachTo: "file_mprotect",
		SectionName: "lsm/file_mprotect", Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()},
	}
	p := analyzeOne(t, specOf(nil, prog), "deny")
	mustReq(t, p, "attach:lsm", "lsm/file_mprotect")
	mustReq(t, p, "btf-func:bpf_lsm_file_mprotect", "lsm/file_mprotect")
	mustReq(t, p, "btf:vmlinux", "lsm/file_mprotect")
	if p.MinKernel != kversion.MustParse("5.7") {
		t.Errorf("min kernel %v, want 5.7", p.MinKernel)
	}
}

func TestAnalyzeGlobalDataAndUnusedMaps(t *testing.T) {
	maps := []*ebpf.MapSpec{
		{Name: ".rodata", Type: ebpf.Array, KeySize: 4, ValueSize: 4, MaxEntries: 1, Flags: 1 << 7},
		{Name: "unused", Type: ebpf.TaskStorage, Flags: 1},
	}
	prog := &ebpf.ProgramSpec{Name: "g", Type: ebpf.SocketFilter, Instructions: asm.Instructions{
		asm.LoadMapValue(asm.R1, 0, 0).WithReference(".rodata"),
		asm.LoadMem(asm.R0, asm.R1, 0, asm.Word),
		asm.Return(),
	}}
	rep, err := AnalyzeSpec(specOf(maps, prog))
	if err != nil {
		t.Fatal(err)
	}
	p := rep.Programs[0]
	mustReq(t, p, "global-data", "insn 0")
	noReq(t, p, "map-flag:rdonly_prog") // implied by global data, managed by the loader
	noReq(t, p, "map:task_storage")
	found := false
	for _, r := range rep.Requirements {
		if r.Feature == "map:task_storage" && strings.Contains(r.Source, "map unused") {
			found = true
		}
	}
	if !found {
		t.Errorf("object requirements lack the unreferenced map: %+v", rep.Requirements)
	}
	if rep.MinKernel != kversion.MustParse("5.11") {
		t.Errorf("object min kernel %v, want 5.11 (task storage)", rep.MinKernel)
	}
	if p.MinKernel != kversion.MustParse("5.2") {
		t.Errorf("program min kernel %v, want 5.2 (global data)", p.MinKernel)
	}
}

// Every static feature Analyze can derive must be in the catalog, or
// targets could never answer it.
func TestAnalyzeIDsAreCatalogued(t *testing.T) {
	for _, id := range []FeatureID{
		"insn:v2", "insn:v3", "insn:v4", "insn:jmp32", "insn:atomics", "insn:bounded-loops",
		"limit:1m-insns", "global-data", "bpf2bpf-calls", "btf:core", "btf:vmlinux", "sleepable", "kfunc-calls",
		"helper:bpf_probe_read", "helper:bpf_probe_read_str",
	} {
		if _, err := Lookup(id); err != nil {
			t.Errorf("%s: %v", id, err)
		}
	}
	for _, a := range []string{"kprobe", "kretprobe", "kprobe_multi", "kprobe_session", "uprobe", "uprobe_multi",
		"fentry", "fexit", "fmod_ret", "tp_btf", "raw_tp", "tracepoint", "perf_event", "lsm", "xdp", "tc", "tcx", "cgroup"} {
		if _, err := Lookup(FeatureID("attach:" + a)); err != nil {
			t.Errorf("attach:%s: %v", a, err)
		}
	}
}

func TestAnalyzeSpecNil(t *testing.T) {
	if _, err := AnalyzeSpec(nil); err == nil {
		t.Fatal("nil spec accepted")
	}
}

// TestUnsizedMap: a map with max_entries 0 (sized by its tool at run time)
// makes every program of the object fail to load as it is; a perf event
// array with 0 is sized to the CPU count by every loader.
func TestUnsizedMap(t *testing.T) {
	prog := &ebpf.ProgramSpec{Name: "p", Type: ebpf.SocketFilter, License: "GPL", Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()}}
	for _, tc := range []struct {
		m       *ebpf.MapSpec
		invalid bool
	}{
		{&ebpf.MapSpec{Name: "stackmap", Type: ebpf.StackTrace, KeySize: 4, ValueSize: 8}, true},
		{&ebpf.MapSpec{Name: "events", Type: ebpf.PerfEventArray}, false},
		{&ebpf.MapSpec{Name: "sized", Type: ebpf.Hash, KeySize: 4, ValueSize: 4, MaxEntries: 1}, false},
	} {
		rep, err := AnalyzeSpec(&ebpf.CollectionSpec{Maps: map[string]*ebpf.MapSpec{tc.m.Name: tc.m}, Programs: map[string]*ebpf.ProgramSpec{"p": prog}})
		if err != nil {
			t.Fatal(err)
		}
		if got := rep.Programs[0].HasErrors(); got != tc.invalid {
			t.Errorf("%s: program has errors %v, want %v (%+v)", tc.m.Name, got, tc.invalid, rep.Programs[0].Findings)
		}
	}
}
