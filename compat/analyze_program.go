package compat

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"

	"github.com/retrobpf/retrobpf/btfhub/corerelo"
)

// bpfFSleepable is BPF_F_SLEEPABLE from uapi/linux/bpf.h (prog_flags).
const bpfFSleepable = 1 << 4

// maxClassicInsns is BPF_MAXINSNS: the limit before 5.2's 1M-insn limit.
const maxClassicInsns = 4096

// analyzeProgram derives everything one program needs.
func analyzeProgram(spec *ebpf.CollectionSpec, env objectEnv, name string, p *ebpf.ProgramSpec) ProgramReport {
	pr := ProgramReport{
		Name:     name,
		Section:  p.SectionName,
		Type:     progTypeLabel(p.Type),
		AttachTo: p.AttachTo,
		License:  p.License,
	}
	if p.AttachType != ebpf.AttachNone {
		pr.AttachType = p.AttachType.String()
	}
	pr.Sleepable = p.Flags&bpfFSleepable != 0
	pr.Instructions = int(p.Instructions.Size() / asm.InstructionSize)

	a := &progAnalysis{spec: spec, weak: env.weak, kernels: env.kernels, kernelTypes: env.kernelTypes, ksym: env.ksym, coreGuardsOnly: env.coreGuardsOnly, prog: p, report: &pr}
	a.section = "section " + p.SectionName
	if p.SectionName == "" {
		a.section = "program " + name
	}
	a.typeAndAttach()
	a.instructions()
	if a.reqs.seen["bpf2bpf-calls"] && a.reqs.seen["helper:bpf_tail_call"] {
		for _, r := range a.reqs.list {
			if r.Feature == "helper:bpf_tail_call" {
				a.add("bpf2bpf-tail-calls", "mixes BPF-to-BPF calls with tail calls (x86-64: 5.10)", r.Source)
			}
		}
	}
	if pr.Instructions > maxClassicInsns {
		a.add("limit:1m-insns", fmt.Sprintf("%d instructions, more than the %d allowed before 5.2", pr.Instructions, maxClassicInsns), a.section)
	}

	var fs []Finding
	pr.Requirements, fs = catalogued(a.reqs.list)
	pr.Findings = append(pr.Findings, fs...)
	pr.MinKernel, pr.MinKernelBy = minKernel(pr.Requirements)
	sort.Strings(pr.Maps)
	return pr
}

type progAnalysis struct {
	spec    *ebpf.CollectionSpec
	weak    func(string) bool // declared __weak in the object
	kernels []reachEnv        // the target's .kconfig values (objectEnv)
	// kernelTypes returns the target's BTF (objectEnv).
	kernelTypes func() *btf.Spec
	ksym        func(string) (bool, bool) // objectEnv.ksym
	// coreGuardsOnly is Kernel.COREGuardsOnly.
	coreGuardsOnly bool
	prog           *ebpf.ProgramSpec
	report         *ProgramReport
	section        string
	reqs           reqSet
	maps           map[string]bool
}

func (a *progAnalysis) add(id FeatureID, reason, source string) {
	a.reqs.add(Requirement{Feature: id, Reason: reason, Source: source})
}

func (a *progAnalysis) finding(sev Severity, source, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	for _, f := range a.report.Findings {
		if f.Message == msg {
			return
		}
	}
	a.report.Findings = append(a.report.Findings, Finding{Severity: sev, Message: msg, Source: source})
}

// typeAndAttach adds the program type, attach point, BTF and sleepable
// requirements.
func (a *progAnalysis) typeAndAttach() {
	p, pr := a.prog, a.report
	if id := programTypeFeature(p.Type); id != "" {
		a.add(id, "program type "+pr.Type, a.section)
	} else {
		a.finding(SeverityWarning, a.section, "program type %s is unknown to retrobpf; not checked", p.Type)
	}
	attach, target := attachPoint(p)
	pr.Attach = attach
	if attach != "" {
		a.add(FeatureID("attach:"+attach), "attaches as "+attach, a.section)
	}
	if btfTypedAttach(p) {
		what := attach
		if what == "" {
			what = pr.Type
		}
		a.add("btf:vmlinux", fmt.Sprintf("%s attach point %q is resolved against the kernel's own BTF", what, p.AttachTo), a.section)
	}
	if target != "" {
		a.add(target, "attach target "+strings.SplitN(string(target), ":", 2)[1], a.section)
	}
	if pr.Sleepable {
		a.add("sleepable", "program is sleepable (BPF_F_SLEEPABLE)", a.section)
	}
}

// attachPoint returns the attach feature suffix and, for programs that
// attach to something named in the kernel, the requirement that it exists
// there: ksym:FN for kprobes (kallsyms), btf-func:FN for BTF-attached
// programs (the kernel's BTF), tracepoint:GROUP/EVENT and raw-tp:NAME.
func attachPoint(p *ebpf.ProgramSpec) (attach string, target FeatureID) {
	attach, ksym := attachKind(p)
	switch {
	case ksym == "":
		return attach, rawTracepointTarget(attach, p.AttachTo)
	case attach == "kprobe" || attach == "kretprobe":
		return attach, FeatureID("ksym:" + ksym)
	}
	return attach, FeatureID("btf-func:" + ksym)
}

// rawTracepointTarget names the tracepoint a tracepoint, raw_tp or tp_btf
// program attaches to, "" when the section does not say.
func rawTracepointTarget(attach, attachTo string) FeatureID {
	switch attach {
	case "tracepoint":
		group, event, ok := strings.Cut(attachTo, "/")
		if ok && symbolName.MatchString(group) && symbolName.MatchString(event) {
			return FeatureID("tracepoint:" + attachTo)
		}
	case "raw_tp", "tp_btf":
		if symbolName.MatchString(attachTo) {
			return FeatureID("raw-tp:" + attachTo)
		}
	}
	return ""
}

// attachKind returns the attach feature suffix and, for programs that
// attach to a named kernel function, that function.
func attachKind(p *ebpf.ProgramSpec) (attach, ksym string) {
	sec := p.SectionName
	fn := kernelFunc(p.AttachTo)
	switch p.Type {
	case ebpf.Kprobe:
		switch {
		case p.AttachType == ebpf.AttachTraceKprobeMulti:
			return "kprobe_multi", ""
		case p.AttachType == ebpf.AttachTraceKprobeSession:
			return "kprobe_session", ""
		case p.AttachType == ebpf.AttachTraceUprobeMulti:
			return "uprobe_multi", ""
		case strings.HasPrefix(sec, "kretprobe/"):
			return "kretprobe", fn
		case strings.HasPrefix(sec, "kprobe/"):
			return "kprobe", fn
		case strings.HasPrefix(sec, "ksyscall/"), strings.HasPrefix(sec, "kretsyscall/"):
			// The kernel symbol is arch-specific (__x64_sys_…): not checked.
			return "kprobe", ""
		case strings.HasPrefix(sec, "uprobe"), strings.HasPrefix(sec, "uretprobe"), strings.HasPrefix(sec, "usdt"):
			return "uprobe", ""
		}
		return "kprobe", ""
	case ebpf.Tracing:
		switch p.AttachType {
		case ebpf.AttachTraceFEntry:
			return "fentry", fn
		case ebpf.AttachTraceFExit:
			return "fexit", fn
		case ebpf.AttachModifyReturn:
			return "fmod_ret", fn
		case ebpf.AttachTraceRawTp:
			return "tp_btf", ""
		case ebpf.AttachTraceIter:
			return "iter", ""
		}
		return "", ""
	case ebpf.RawTracepoint, ebpf.RawTracepointWritable:
		return "raw_tp", ""
	case ebpf.TracePoint:
		return "tracepoint", ""
	case ebpf.PerfEvent:
		return "perf_event", ""
	case ebpf.LSM:
		// The kernel resolves lsm/HOOK to the BTF function bpf_lsm_HOOK;
		// hooks come and go between releases.
		if fn != "" && p.AttachType == ebpf.AttachLSMMac {
			return "lsm", "bpf_lsm_" + fn
		}
		return "lsm", ""
	case ebpf.XDP:
		return "xdp", ""
	case ebpf.SchedCLS, ebpf.SchedACT:
		switch p.AttachType {
		case ebpf.AttachTCXIngress, ebpf.AttachTCXEgress:
			return "tcx", ""
		case ebpf.AttachNetkitPrimary, ebpf.AttachNetkitPeer:
			return "netkit", ""
		}
		return "tc", ""
	case ebpf.CGroupSKB, ebpf.CGroupSock, ebpf.CGroupSockAddr, ebpf.CGroupDevice, ebpf.CGroupSysctl, ebpf.CGroupSockopt, ebpf.SockOps:
		return "cgroup", ""
	}
	return "", ""
}

// kernelFunc strips an offset ("do_sys_open+0x10") and a module prefix
// and refuses patterns: only a plain symbol can be looked up in kallsyms.
func kernelFunc(attachTo string) string {
	s := attachTo
	if i := strings.IndexByte(s, '+'); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		s = s[i+1:]
	}
	if s == "" || strings.ContainsAny(s, "*?/ ") {
		return ""
	}
	return s
}

// btfTypedAttach reports whether the kernel resolves the attach point
// through vmlinux BTF (attach_btf_id): fentry/fexit/fmod_ret, tp_btf,
// iterators and LSM.
func btfTypedAttach(p *ebpf.ProgramSpec) bool {
	switch p.Type {
	case ebpf.Tracing, ebpf.LSM:
		return true
	}
	return false
}

// instructions walks the program (its own body and the subprograms
// cilium/ebpf appended to it) for helpers, kfuncs, calls, maps, loops, ISA
// level and CO-RE relocations.
func (a *progAnalysis) instructions() {
	insns := a.prog.Instructions
	// Raw offsets of symbols, to resolve jumps by label (hand-built asm)
	// and to name the function an instruction belongs to.
	symbols := map[string]int64{}
	for it := insns.Iterate(); it.Next(); {
		if s := it.Ins.Symbol(); s != "" {
			symbols[s] = int64(it.Offset)
		}
	}
	gpl := isGPLCompatible(a.prog.License)
	r := a.reach()
	live := r.live // nil: all of it
	fn := ""
	for it := insns.Iterate(); it.Next(); {
		ins := it.Ins
		off := int64(it.Offset)
		if s := ins.Symbol(); s != "" {
			fn = s
		}
		src := fmt.Sprintf("%s, insn %d", a.section, off)
		if fn != "" && fn != a.report.Name && it.Index > 0 {
			src = fmt.Sprintf("%s, func %s, insn %d", a.section, fn, off)
		}

		switch {
		case ins.IsBuiltinCall() && live != nil && !live[off]:
			// The verifier never walks here with .rodata as it is: the
			// helper is not needed, unless the loader sets the guard.
			a.finding(SeverityWarning, src, "calls %s only on a path the known constants rule out (.rodata, and the target's .kconfig and CO-RE values; not a requirement with these values)", helperName(ins))
		case ins.IsBuiltinCall():
			a.helperCall(ins, src, gpl)
		case ins.IsKfuncCall():
			name := ins.Reference()
			if name == "" {
				name = fmt.Sprintf("btf_id_%d", ins.Constant)
			}
			a.add(FeatureID("kfunc:"+name), "calls kfunc "+name, src)
			a.add("kfunc-calls", "calls kernel functions (kfunc "+name+")", src)
			a.add("btf:vmlinux", "kfunc "+name+" is resolved against the kernel's BTF", src)
			if !gpl {
				a.finding(SeverityError, src, "calls kfunc %s, but license %q is not GPL compatible", name, a.prog.License)
			}
		case ins.IsFunctionCall():
			a.add("bpf2bpf-calls", "calls BPF function "+ins.Reference(), src)
		case ins.IsLoadOfFunctionPointer():
			a.add("callbacks", "passes BPF function "+ins.Reference()+" as a callback (BPF_PSEUDO_FUNC)", src)
		case ins.OpCode.IsDWordLoad() && ins.Reference() != "":
			a.reference(ins, src)
		}

		if m := btf.CORERelocationMetadata(ins); m != nil {
			a.add("btf:core", "CO-RE relocation "+m.String(), src)
		}
		a.isa(ins, off, src, symbols)
	}
	a.contextReads(r)
	a.report.live, a.report.coreResolved = r.live, r.coreResolved
}

// hasCORE reports whether prog has CO-RE relocations.
// hasCORE reports whether prog has CO-RE relocations or, with
// guardsOnly, existence checks (bpf_core_*_exists, type matches): the
// relocations whose values steer branches.
func hasCORE(prog *ebpf.ProgramSpec, guardsOnly bool, local *btf.Spec) bool {
	for i := range prog.Instructions {
		m := btf.CORERelocationMetadata(&prog.Instructions[i])
		if m == nil {
			continue
		}
		if !guardsOnly {
			return true
		}
		r, err := corerelo.Decode(m, local)
		if err != nil {
			return true
		}
		switch r.Kind {
		case corerelo.FieldExists, corerelo.TypeExists, corerelo.EnumvalExists, corerelo.TypeMatches:
			return true
		}
	}
	return false
}

// relocated returns a copy of prog's instructions with its CO-RE
// relocations applied against kernel as cilium/ebpf applies them at load
// (a relocation without a match poisons its instruction), and whether
// that worked; if not, the instructions as they are.
func relocated(prog *ebpf.ProgramSpec, local, kernel *btf.Spec) (asm.Instructions, bool) {
	if local == nil {
		return prog.Instructions, false
	}
	insns := slices.Clone(prog.Instructions)
	var relos []*btf.CORERelocation
	var at []int
	for i := range insns {
		if r := btf.CORERelocationMetadata(&insns[i]); r != nil {
			relos, at = append(relos, r), append(at, i)
		}
	}
	if len(relos) == 0 {
		return prog.Instructions, true
	}
	fixups, err := btf.CORERelocate(relos, []*btf.Spec{kernel}, prog.ByteOrder, local.TypeID)
	if err != nil || len(fixups) != len(relos) {
		return prog.Instructions, false
	}
	for i, f := range fixups {
		if err := f.Apply(&insns[at[i]]); err != nil {
			return prog.Instructions, false
		}
	}
	return insns, true
}

// reach walks the program for every .kconfig value the target may give
// it and keeps what any of them reaches: a path one patch level takes is
// a path the verifier may walk.
func (a *progAnalysis) reach() reach {
	insns, resolved := a.prog.Instructions, false
	if a.kernelTypes != nil && hasCORE(a.prog, a.coreGuardsOnly, a.spec.Types) {
		if types := a.kernelTypes(); types != nil {
			insns, resolved = relocated(a.prog, a.spec.Types, types)
		}
	}
	kernels := a.kernels
	if len(kernels) == 0 {
		kernels = []reachEnv{{}}
	}
	var all reach
	for i, env := range kernels {
		env.coreResolved = resolved
		env.tracingCtx = a.prog.Type == ebpf.Tracing
		env.ksym = a.ksym
		r := reachable(a.spec, insns, env)
		r.coreResolved = resolved
		if r.live == nil {
			return r
		}
		if i == 0 {
			all = r
			continue
		}
		for off := range r.live {
			all.live[off] = true
		}
		if r.ctxEnd > all.ctxEnd {
			all.ctxEnd, all.ctxAt = r.ctxEnd, r.ctxAt
		}
		if r.modifiedCtx < 0 {
			all.modifiedCtx = -1 // refused only if every patch level reads it
		}
		if all.lostPtr < 0 {
			all.lostPtr = r.lostPtr
		}
	}
	return all
}

// contextReads turns the context reads of a BTF-typed tracing program
// into what its target must offer: a tp_btf or raw_tp program reading
// ctx[i] needs a tracepoint with more than i arguments (the argument list
// of a tracepoint changes between kernels: block_rq_issue lost its
// request_queue in 5.11), an fentry program a function with more than i,
// an fexit program more than i-1 (ctx[n] is the return value).
func (a *progAnalysis) contextReads(r reach) {
	if r.live == nil {
		return
	}
	src := fmt.Sprintf("%s, insn %d", a.section, r.modifiedCtx)
	if r.modifiedCtx >= 0 {
		a.finding(SeverityError, src, "reads the context through its pointer plus %d: the verifier refuses a modified context pointer (dereference of modified ctx ptr); read ctx[i] at a constant offset", r.modifiedCtxOff)
	}
	if r.lostPtr >= 0 {
		a.add("stack-ptr-through-helper", "dereferences a kernel pointer reloaded from a stack slot whose address a helper was given", fmt.Sprintf("%s, insn %d", a.section, r.lostPtr))
	}
	if r.ctxEnd <= 0 {
		return
	}
	args := (r.ctxEnd + 7) / 8
	var id FeatureID
	switch attach, fn := attachKind(a.prog); attach {
	case "tp_btf", "raw_tp":
		if !symbolName.MatchString(a.prog.AttachTo) {
			return
		}
		id = FeatureID(fmt.Sprintf("raw-tp-args:%s/%d", a.prog.AttachTo, args))
	case "fentry", "fmod_ret":
		if fn == "" {
			return
		}
		id = FeatureID(fmt.Sprintf("btf-func-args:%s/%d", fn, args))
	case "fexit":
		if fn == "" || args < 2 {
			return // ctx[0] alone is an argument or the return value of a 0-argument function
		}
		id = FeatureID(fmt.Sprintf("btf-func-args:%s/%d", fn, args-1))
	default:
		return
	}
	a.add(id, fmt.Sprintf("reads ctx[%d], the %s's argument %d", args-1, map[bool]string{true: "tracepoint", false: "function"}[strings.HasPrefix(string(id), "raw-tp")], args), fmt.Sprintf("%s, insn %d", a.section, r.ctxAt))
}

func (a *progAnalysis) helperCall(ins *asm.Instruction, src string, gpl bool) {
	fn := asm.BuiltinFunc(ins.Constant)
	id := helperFeature(fn)
	name := strings.TrimPrefix(string(id), "helper:")
	if id == "" {
		a.finding(SeverityWarning, src, "calls unknown helper #%d; not checked", ins.Constant)
		return
	}
	reason := "calls " + name
	// Loaders (cilium/ebpf, libbpf) rewrite these to the old helpers on
	// kernels before 5.5, so the old helper is what the program needs.
	switch fn {
	case asm.FnProbeReadKernel, asm.FnProbeReadUser:
		id, reason = "helper:bpf_probe_read", "calls "+name+" (loaders fall back to bpf_probe_read before 5.5)"
	case asm.FnProbeReadKernelStr, asm.FnProbeReadUserStr:
		id, reason = "helper:bpf_probe_read_str", "calls "+name+" (loaders fall back to bpf_probe_read_str before 5.5)"
	}
	a.add(id, reason, src)
	if gplOnlyHelpers[name] && !gpl {
		a.finding(SeverityError, src, "calls GPL-only helper %s, but license %q is not GPL compatible", name, a.prog.License)
	}
}

// reference handles a 64-bit load that names a symbol: a map, a global
// variable section or a kernel symbol (__ksym).
func (a *progAnalysis) reference(ins *asm.Instruction, src string) {
	ref := ins.Reference()
	m, isMap := a.spec.Maps[ref]
	switch {
	case isMap && isDataMap(ref):
		a.useMap(ref)
		a.add("global-data", "uses global variables ("+ref+")", src)
	case isMap:
		a.useMap(ref)
		var rs reqSet
		addMapReqs(&rs, m, fmt.Sprintf("map %s, %s", ref, src), "uses map "+ref)
		for _, r := range rs.list {
			a.reqs.add(r)
		}
	case ins.IsLoadFromMap():
		// A .kconfig variable: cilium/ebpf references the variable, not
		// the .kconfig map, but it is global data all the same.
		if _, ok := a.spec.Maps[".kconfig"]; ok {
			a.useMap(".kconfig")
		}
		a.add("global-data", "reads kconfig variable "+ref, src)
	case ins.Src == asm.R0:
		if _, isVar := a.spec.Variables[ref]; isVar {
			return
		}
		// A __weak ksym that the kernel lacks loads as NULL (libbpf,
		// objload): the program must cope, the kernel need not have it.
		if name := kernelFunc(ref); name != "" && !a.weak(ref) {
			a.add(FeatureID("ksym:"+name), "references kernel symbol "+name+" (__ksym)", src)
		}
	}
}

func (a *progAnalysis) useMap(name string) {
	if a.maps == nil {
		a.maps = map[string]bool{}
	}
	if !a.maps[name] {
		a.maps[name] = true
		a.report.Maps = append(a.report.Maps, name)
	}
}

// isa adds instruction-set requirements and detects back-edges.
func (a *progAnalysis) isa(ins *asm.Instruction, off int64, src string, symbols map[string]int64) {
	op := ins.OpCode
	switch cls := op.Class(); {
	case cls.IsJump():
		jop := op.JumpOp()
		if jop == asm.Call || jop == asm.Exit {
			return
		}
		gotol := cls == asm.Jump32Class && jop == asm.Ja
		switch {
		case gotol:
			a.add("insn:v4", "32-bit-offset jump (gotol, ISA v4)", src)
		case cls == asm.Jump32Class:
			a.add("insn:jmp32", "32-bit conditional jump "+jop.String()+" (JMP32)", src)
			a.add("insn:v3", "JMP32 instructions are ISA v3", src)
		case jop == asm.JLT || jop == asm.JLE || jop == asm.JSLT || jop == asm.JSLE:
			a.add("insn:v2", "jump "+jop.String()+" is ISA v2", src)
		}
		if jop == asm.JCOND {
			return // may_goto: the kernel bounds it itself
		}
		var target int64
		switch {
		case ins.Reference() != "":
			t, ok := symbols[ins.Reference()]
			if !ok {
				return
			}
			target = t
		case gotol:
			target = off + 1 + ins.Constant
		default:
			target = off + 1 + int64(ins.Offset)
		}
		if target <= off {
			a.add("insn:bounded-loops", fmt.Sprintf("backward jump to insn %d (a loop)", target), src)
		}
	case cls.IsALU():
		switch aop := op.ALUOp(); {
		case aop == asm.SDiv || aop == asm.SMod || aop == asm.MovSX8 || aop == asm.MovSX16 || aop == asm.MovSX32:
			a.add("insn:v4", aop.String()+" is ISA v4", src)
		case aop == asm.Swap && cls == asm.ALU64Class:
			a.add("insn:v4", "unconditional byte swap (bswap) is ISA v4", src)
		}
	case cls == asm.LdXClass:
		if op.Mode() == asm.MemSXMode {
			a.add("insn:v4", "sign-extending load is ISA v4", src)
		}
	case cls == asm.StXClass:
		if op.Mode() == asm.AtomicMode && op.AtomicOp() != asm.AddAtomic {
			a.add("insn:atomics", "atomic "+op.AtomicOp().String(), src)
		}
	}
}

// helperName names the helper a call instruction calls.
func helperName(ins *asm.Instruction) string {
	if id := helperFeature(asm.BuiltinFunc(ins.Constant)); id != "" {
		return strings.TrimPrefix(string(id), "helper:")
	}
	return fmt.Sprintf("helper #%d", ins.Constant)
}
