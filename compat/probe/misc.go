package probe

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/retrobpf/retrobpf/compat"
	"github.com/retrobpf/retrobpf/compat/internal/kenum"
	"golang.org/x/sys/unix"
)

var nativeEndian = binary.NativeEndian

// otherTasks are the phase-2 probes besides BTF and helpers.
func (p *prober) otherTasks() []func() {
	tasks := []func(){p.probeKernelConfig, p.probeTracingAttach, p.probeSymbols, p.probeDistro, p.probeSysctls, p.probeSyscall}
	tasks = append(tasks, p.attachTasks()...)
	if p.opts.KernelBTF {
		tasks = append(tasks, func() {
			if e, err := embedKernelBTF(); err == nil {
				p.rep.KernelBTF = e
			} else {
				p.set(p.rep.BTF, "kernel_btf", Result{State: compat.Unknown, Detail: "not recorded: " + err.Error()})
			}
		})
	}
	if p.opts.AttachSurface {
		tasks = append(tasks, func() { p.rep.AttachSurface = collectAttachSurface() })
	} else if len(p.opts.Targets) > 0 {
		tasks = append(tasks, p.probeTargets)
	}
	for _, m := range kenum.MapTypes {
		tasks = append(tasks, func() { p.probeMapType(m) })
	}
	tasks = append(tasks, func() {
		for _, f := range kenum.MapFlags {
			p.set(p.rep.MapFlags, f.Name, resultOf(p.feat.MapFlag(f.Type)))
		}
	})
	tasks = append(tasks, p.probeInsn, p.probeProgFeatures, p.probeStats, p.probeTestRuns, p.probeRingbufReserve)
	return tasks
}

// probeInsn fills the insn section and limit:1m-insns.
func (p *prober) probeInsn() {
	v2, v3, v4 := resultOf(p.feat.V2ISA()), resultOf(p.feat.V3ISA()), resultOf(p.feat.V4ISA())
	p.set(p.rep.Insn, "v2", v2)
	p.set(p.rep.Insn, "v3", v3)
	p.set(p.rep.Insn, "jmp32", v3)
	p.set(p.rep.Insn, "v4", v4)
	p.set(p.rep.Insn, "bounded-loops", resultOf(p.feat.BoundedLoops()))
	p.set(p.rep.Misc, "limit:1m-insns", resultOf(p.feat.LargeInstructions()))

	// Atomics: r1 = 0; *(u64 *)(r10 - 8) = r1; r2 = 1;
	// r2 = atomic_fetch_add((u64 *)(r10 - 8), r2); r0 = 0; exit
	insns := asm.Instructions{
		asm.Mov.Imm(asm.R1, 0),
		asm.StoreMem(asm.RFP, -8, asm.R1, asm.DWord),
		asm.Mov.Imm(asm.R2, 1),
		asm.FetchAdd.Mem(asm.RFP, asm.R2, asm.DWord, -8),
		asm.Mov.Imm(asm.R0, 0),
		asm.Return(),
	}
	p.set(p.rep.Insn, "atomics", loadVerdict(ebpf.ProgramSpec{Type: ebpf.SocketFilter, Instructions: insns}, "invalid BPF_STX", "unknown opcode", "BPF_ATOMIC uses invalid atomic opcode"))
}

// loadVerdict loads spec: success is Supported; EINVAL whose verifier log
// contains one of rejects is Unsupported; anything else is Unknown.
func loadVerdict(spec ebpf.ProgramSpec, rejects ...string) Result {
	if spec.License == "" {
		spec.License = "GPL"
	}
	// No log level: cilium/ebpf loads without a verifier log and only
	// when the load fails loads again with LogLevelBranch for the log the
	// verdict reads, so a supported feature costs one bare load.
	prog, err := ebpf.NewProgramWithOptions(&spec, ebpf.ProgramOptions{})
	if err == nil {
		prog.Close()
		return supported("loaded")
	}
	r := resultOf(err)
	var verr *ebpf.VerifierError
	if errors.Is(err, unix.EINVAL) && errors.As(err, &verr) {
		log := strings.Join(verr.Log, "\n")
		for _, rej := range rejects {
			if strings.Contains(log, rej) {
				r.State = compat.Unsupported
				r.Detail = "verifier: " + lastLogLine(verr.Log)
				return r
			}
		}
		r.Detail = "verifier: " + lastLogLine(verr.Log)
	}
	return r
}

func lastLogLine(log []string) string {
	return verifierReason([]byte(strings.Join(log, "\n")))
}

// probeProgFeatures: global data, bpf2bpf calls, tail calls from
// sub-programs, map batch ops.
func (p *prober) probeProgFeatures() {
	// global-data: read an array value through BPF_PSEUDO_MAP_VALUE.
	arr, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	if err != nil {
		p.set(p.rep.Misc, "global-data", unknown(fmt.Errorf("create array map: %w", err)))
	} else {
		ld := asm.LoadMapValue(asm.R1, 0, 0)
		if err := ld.AssociateMap(arr); err != nil {
			p.set(p.rep.Misc, "global-data", unknown(err))
		} else {
			p.set(p.rep.Misc, "global-data", loadVerdict(ebpf.ProgramSpec{Type: ebpf.SocketFilter, Instructions: asm.Instructions{
				ld, asm.LoadMem(asm.R0, asm.R1, 0, asm.Word), asm.Mov.Imm(asm.R0, 0), asm.Return(),
			}}, "unrecognized bpf_ld_imm64", "invalid bpf_ld_imm64"))
		}
		// map-batch: BPF_MAP_LOOKUP_BATCH.
		keys, vals := make([]uint32, 1), make([]uint64, 1)
		var cursor ebpf.MapBatchCursor
		_, err := arr.BatchLookup(&cursor, keys, vals, nil)
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			err = nil // end of map: the command works
		}
		p.set(p.rep.Misc, "map-batch", resultOf(err))
		arr.Close()
	}

	p.set(p.rep.Misc, "stack-ptr-through-helper", stackPtrThroughHelper())

	// bpf2bpf-calls: call a sub-program. Both functions carry BTF func
	// info, which newer kernels require for sub-programs with tail calls.
	ctxProto := &btf.FuncProto{Return: &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed},
		Params: []btf.FuncParam{{Name: "ctx", Type: &btf.Pointer{Target: &btf.Void{}}}}}
	fn := func(name string, body ...asm.Instruction) asm.Instructions {
		body[0] = btf.WithFuncMetadata(body[0].WithSymbol(name), &btf.Func{Name: name, Type: ctxProto, Linkage: btf.StaticFunc})
		return body
	}
	calls := append(fn("main", asm.Call.Label("sub"), asm.Mov.Imm(asm.R0, 0), asm.Return()),
		fn("sub", asm.Mov.Imm(asm.R0, 0), asm.Return())...)
	bpf2bpf := loadVerdict(ebpf.ProgramSpec{Type: ebpf.SocketFilter, Instructions: calls}, "unknown opcode", "function calls are not supported")
	if bpf2bpf.State == compat.Unknown && strings.Contains(bpf2bpf.Detail, "not supported") {
		bpf2bpf.State = compat.Unsupported
	}
	p.set(p.rep.Misc, "bpf2bpf-calls", bpf2bpf)

	// callbacks: take a sub-program's address (ld_imm64 BPF_PSEUDO_FUNC),
	// which kernels before 5.13 refuse outright.
	ldFunc := asm.Instruction{OpCode: asm.LoadImmOp(asm.DWord), Dst: asm.R2, Src: asm.PseudoFunc, Constant: -1}.WithReference("cb") // -1: cilium/ebpf resolves the reference
	cbProg := append(fn("main", ldFunc, asm.Mov.Imm(asm.R0, 0), asm.Return()),
		fn("cb", asm.Mov.Imm(asm.R0, 0), asm.Return())...)
	p.set(p.rep.Misc, "callbacks", loadVerdict(ebpf.ProgramSpec{Type: ebpf.SocketFilter, Instructions: cbProg}, "unrecognized bpf_ld_imm64"))

	// tail-calls and bpf2bpf-tail-calls.
	pa, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.ProgramArray, KeySize: 4, ValueSize: 4, MaxEntries: 1})
	if err != nil {
		r := resultOf(err)
		p.set(p.rep.Misc, "tail-calls", r)
		p.set(p.rep.Misc, "bpf2bpf-tail-calls", r)
		return
	}
	defer pa.Close()
	tail := func() []asm.Instruction {
		ld := asm.LoadMapPtr(asm.R2, 0)
		_ = ld.AssociateMap(pa)
		return []asm.Instruction{ld, asm.Mov.Imm(asm.R3, 0), asm.FnTailCall.Call(), asm.Mov.Imm(asm.R0, 0), asm.Return()}
	}
	p.set(p.rep.Misc, "tail-calls", loadVerdict(ebpf.ProgramSpec{Type: ebpf.SocketFilter, Instructions: tail()}, "invalid func", "unknown func"))
	mixed := append(fn("main", asm.Call.Label("sub"), asm.Mov.Imm(asm.R0, 0), asm.Return()), fn("sub", tail()...)...)
	r := loadVerdict(ebpf.ProgramSpec{Type: ebpf.SocketFilter, Instructions: mixed},
		"tail_calls are not allowed in programs with bpf-to-bpf calls", "mixing of tail_calls and bpf-to-bpf calls is not supported")
	if bpf2bpf.State == compat.Unsupported {
		r = unsupported("bpf2bpf-calls unsupported")
	}
	p.set(p.rep.Misc, "bpf2bpf-tail-calls", r)
}

// probeStats fills the stats section (run-time comes from the sysctl).
func (p *prober) probeStats() {
	closer, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
	switch {
	case err == nil:
		closer.Close()
		p.set(p.rep.Stats, "enable-stats", supported("BPF_ENABLE_STATS(BPF_STATS_RUN_TIME)"))
	case errors.Is(err, unix.EINVAL):
		p.set(p.rep.Stats, "enable-stats", Result{State: compat.Unsupported, Errno: "EINVAL", Detail: "BPF_ENABLE_STATS unknown: " + err.Error()})
	default:
		p.set(p.rep.Stats, "enable-stats", resultOf(err))
	}

	prog, err := p.loadProbeProg(ebpf.ProgramSpec{Type: ebpf.SocketFilter})
	if err != nil {
		r := resultOf(err)
		p.set(p.rep.Stats, "verified-insns", r)
		p.set(p.rep.Stats, "recursion-misses", r)
		return
	}
	defer prog.Close()
	info, err := prog.Info()
	if err != nil {
		r := resultOf(err)
		p.set(p.rep.Stats, "verified-insns", r)
		p.set(p.rep.Stats, "recursion-misses", r)
		return
	}
	if n, ok := info.VerifiedInstructions(); ok {
		p.set(p.rep.Stats, "verified-insns", supported(fmt.Sprintf("verified_insns=%d for a 2-insn program", n)))
	} else {
		p.set(p.rep.Stats, "verified-insns", unsupported("bpf_prog_info has no verified_insns"))
	}
	p.set(p.rep.Stats, "recursion-misses", Result{State: compat.Unknown, Detail: "not probed: a missing recursion_misses field reads as zero"})
}

// testRunInput is the input for one program type's test run.
func testRunInput(pt ebpf.ProgramType) *ebpf.RunOptions {
	// An Ethernet + IPv4 + TCP packet, enough for every skb/xdp runner.
	pkt := make([]byte, 14+20+20)
	nativeEndian.PutUint16(pkt[12:], 0x0008) // ETH_P_IP, big-endian on the wire
	pkt[14] = 0x45
	pkt[14+9] = 6
	switch pt {
	case ebpf.RawTracepoint, ebpf.RawTracepointWritable:
		return &ebpf.RunOptions{Context: make([]byte, 8)}
	case ebpf.Syscall:
		return &ebpf.RunOptions{}
	case ebpf.Tracing, ebpf.LSM, ebpf.StructOps, ebpf.Extension, ebpf.SkLookup, ebpf.Netfilter,
		ebpf.Kprobe, ebpf.TracePoint, ebpf.PerfEvent:
		return &ebpf.RunOptions{}
	}
	return &ebpf.RunOptions{Data: pkt, Repeat: 1}
}

// probeTestRuns runs BPF_PROG_TEST_RUN once per supported program type:
// ENOTSUPP means no runner for the type.
func (p *prober) probeTestRuns() {
	for _, pt := range kenum.ProgTypes {
		st := p.progState(pt.Name)
		if st.State != compat.Supported {
			if st.State == compat.Unsupported {
				st = unsupported("prog:" + pt.Name + " unsupported")
			}
			p.set(p.rep.TestRun, pt.Name, st)
			continue
		}
		p.set(p.rep.TestRun, pt.Name, p.testRunResult(pt))
	}
}

func (p *prober) testRunResult(pt kenum.ProgType) Result {
	var (
		prog *ebpf.Program
		err  error
	)
	spec := ebpf.ProgramSpec{Type: pt.Type}
	switch pt.Type {
	case ebpf.CGroupSockAddr:
		spec.AttachType = ebpf.AttachCGroupInet4Connect
	case ebpf.CGroupSockopt:
		spec.AttachType = ebpf.AttachCGroupGetsockopt
	case ebpf.SkLookup:
		spec.AttachType = ebpf.AttachSkLookup
	case ebpf.Netfilter:
		spec.AttachType = ebpf.AttachNetfilter
	case ebpf.Syscall:
		spec.Flags = probeFlagSleepable
	case ebpf.StructOps, ebpf.Extension:
		return Result{State: compat.Unknown, Detail: "test run not probed for " + pt.Name + " (needs a struct_ops map or a target program)"}
	}
	switch pt.Type {
	case ebpf.Tracing:
		prog, err = loadBTFProg(ebpf.Tracing, ebpf.AttachTraceFEntry, "bpf_fentry_test1", 0)
	case ebpf.LSM:
		prog, err = loadBTFProg(ebpf.LSM, ebpf.AttachLSMMac, "file_mprotect", 0)
	default:
		prog, err = p.loadProbeProg(spec)
	}
	if err != nil {
		r := resultOf(err)
		r.Detail = "load: " + r.Detail
		if r.State == compat.Unsupported {
			r.State = compat.Unknown
		}
		return r
	}
	defer prog.Close()
	_, err = prog.Run(testRunInput(pt.Type))
	switch {
	case err == nil:
		return supported("BPF_PROG_TEST_RUN ran once")
	case errors.Is(err, ebpf.ErrNotSupported), errors.Is(err, enotsupp), errors.Is(err, unix.EOPNOTSUPP):
		return Result{State: compat.Unsupported, Errno: errnoName(err), Detail: err.Error()}
	}
	return resultOf(err)
}

// probeRingbufReserve creates a ring buffer, runs a socket filter that
// reserves and submits an 8-byte record (BPF_PROG_TEST_RUN), and reads the
// record back: the whole path a ringbuf variant depends on.
func (p *prober) probeRingbufReserve() {
	set := func(r Result) { p.set(p.rep.Misc, "ringbuf-reserve", r) }
	rb, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.RingBuf, MaxEntries: uint32(os.Getpagesize())})
	if err != nil {
		set(resultOf(fmt.Errorf("create ringbuf: %w", err)))
		return
	}
	defer rb.Close()
	ld := asm.LoadMapPtr(asm.R1, 0)
	if err := ld.AssociateMap(rb); err != nil {
		set(unknown(err))
		return
	}
	insns := asm.Instructions{
		ld,
		asm.Mov.Imm(asm.R2, 8),
		asm.Mov.Imm(asm.R3, 0),
		asm.FnRingbufReserve.Call(),
		asm.JEq.Imm(asm.R0, 0, "out"),
		asm.Mov.Imm(asm.R2, 0x72657472), // marker
		asm.StoreMem(asm.R0, 0, asm.R2, asm.DWord),
		asm.Mov.Reg(asm.R1, asm.R0),
		asm.Mov.Imm(asm.R2, 0),
		asm.FnRingbufSubmit.Call(),
		asm.Mov.Imm(asm.R0, 0).WithSymbol("out"),
		asm.Return(),
	}
	r := loadVerdict(ebpf.ProgramSpec{Type: ebpf.SocketFilter, Instructions: insns}, "invalid func", "unknown func", "cannot use helper")
	if r.State != compat.Supported {
		r.Detail = "load reserve/submit program: " + r.Detail
		set(r)
		return
	}
	prog, err := p.loadProbeProg(ebpf.ProgramSpec{Type: ebpf.SocketFilter, Instructions: insns})
	if err != nil {
		set(resultOf(err))
		return
	}
	defer prog.Close()
	if _, err := prog.Run(testRunInput(ebpf.SocketFilter)); err != nil {
		set(Result{State: compat.Unknown, Errno: errnoName(err), Detail: "reserve/submit program loads; test run failed: " + err.Error()})
		return
	}
	rd, err := ringbuf.NewReader(rb)
	if err != nil {
		set(Result{State: compat.Unknown, Errno: errnoName(err), Detail: "reserve/submit ran; ringbuf reader: " + err.Error()})
		return
	}
	defer rd.Close()
	rd.SetDeadline(time.Now().Add(time.Second))
	rec, err := rd.Read()
	if err != nil {
		set(Result{State: compat.Unknown, Errno: errnoName(err), Detail: "reserve/submit ran; no record read back: " + err.Error()})
		return
	}
	if len(rec.RawSample) != 8 || nativeEndian.Uint64(rec.RawSample) != 0x72657472 {
		set(Result{State: compat.Unknown, Detail: fmt.Sprintf("read back an unexpected record %x", rec.RawSample)})
		return
	}
	set(supported("created a ringbuf, reserved+submitted a record from a test run, read it back"))
}

// stackPtrThroughHelper decides stack-ptr-through-helper: a tp_btf
// program on sched_process_exec spills its task_struct argument (a
// BTF-typed pointer), passes the slot to bpf_map_lookup_elem as the key,
// reloads it and reads through it. A verifier that assumes the helper
// wrote the slot refuses the read of a number ("invalid mem access
// 'scalar'", 'inv' before 5.18).
func stackPtrThroughHelper() Result {
	m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Hash, KeySize: 8, ValueSize: 8, MaxEntries: 1})
	if err != nil {
		return unknown(fmt.Errorf("create hash map: %w", err))
	}
	defer m.Close()
	insns := asm.Instructions{
		asm.LoadMem(asm.R6, asm.R1, 0, asm.DWord), // the task_struct *
		asm.StoreMem(asm.RFP, -8, asm.R6, asm.DWord),
		asm.LoadMapPtr(asm.R1, m.FD()),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, -8),
		asm.FnMapLookupElem.Call(),
		asm.LoadMem(asm.R1, asm.RFP, -8, asm.DWord),
		asm.LoadMem(asm.R0, asm.R1, 0, asm.DWord),
		asm.Mov.Imm(asm.R0, 0),
		asm.Return(),
	}
	var buf bytes.Buffer
	if err := insns.Marshal(&buf, binary.LittleEndian); err != nil {
		return unknown(err)
	}
	raw := make([]uint64, buf.Len()/8)
	for i := range raw {
		raw[i] = binary.LittleEndian.Uint64(buf.Bytes()[8*i:])
	}
	prog, err := loadBTFProgInsns(ebpf.Tracing, ebpf.AttachTraceRawTp, "sched_process_exec", 0, raw)
	if err == nil {
		prog.Close()
		return supported("the reloaded task_struct pointer was dereferenced after bpf_map_lookup_elem read its slot")
	}
	r := resultOf(err)
	if strings.Contains(err.Error(), "invalid mem access 'scalar'") || strings.Contains(err.Error(), "invalid mem access 'inv'") {
		r.State = compat.Unsupported
	}
	return r
}
