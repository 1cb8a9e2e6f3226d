package compat

import (
	"bytes"
	"encoding/binary"
	"slices"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"

	"github.com/retrobpf/retrobpf/internal/objload"
)

// Dead code is not a requirement. The verifier walks a program from its
// entry and, for a conditional jump on a register whose value it knows,
// follows only the branch taken: a helper behind `if (full_path)` where
// full_path is a `const volatile` false by default is never checked, and
// the kernel accepts the program. The loader freezes .rodata before the
// load (BPF_F_RDONLY_PROG), and the verifier reads frozen read-only map
// values as known constants (bpf_map_direct_read, 5.2 — the kernel that
// brought global data at all).
//
// reachable replays that, conservatively: it tracks scalar constants
// (immediates, ALU on constants, loads from .rodata at a known offset)
// and pointers into .rodata, prunes a conditional jump only when both
// sides are known, and treats everything else as unknown, so what it
// calls dead the verifier cannot visit either. .kconfig externs are
// known only for a target kernel (reachEnv), and only the bytes the
// loader will certainly give them (LINUX_KERNEL_VERSION from its version,
// CONFIG_* from its config): libbpf-tools pick tracepoint argument
// layouts with `if (LINUX_KERNEL_VERSION < KERNEL_VERSION(5, 11, 0))`.
// It does not track the stack or CO-RE relocated values (an immediate
// with a CO-RE relocation is unknown until the loader patches it for a
// target). Global functions are verified on their own with unknown
// arguments, so they are roots; static functions are reached through
// calls, with their callers' argument registers.
//
// It also follows the context pointer (r1 at entry, through moves,
// constant adds and static calls) and records the context reads on
// reachable paths: a tp_btf, raw_tp or fentry program that reads ctx[i]
// needs a target whose tracepoint or function has more than i
// arguments, which the verifier ("func X doesn't have 2-th argument") or
// the attach (raw_tp max_ctx_offset) checks.
//
// Only checks the verifier makes while it walks the code depend on this:
// helper calls (their existence, their program type, GPL). Map
// references, kfunc calls, BPF-to-BPF calls and the shape of the control
// flow are resolved for the whole program before the walk and stay
// requirements wherever they are.

type regKind uint8

const (
	regUnknown   regKind = iota
	regScalar            // a known 64-bit value
	regRodata            // a pointer to a frozen read-only map's value at a known offset
	regCtx               // the program's context pointer plus a known offset
	regStack             // the frame pointer plus a known offset
	regKernelPtr         // read from a tracing program's context: a kernel pointer (or a number)
	regLostPtr           // reloaded from a stack slot holding a kernel pointer that a helper was given
	regNonZero           // known only not to be zero: the address of a kernel symbol that exists
)

// slotKind is what an 8-byte stack slot holds, as far as it matters.
type slotKind uint8

const (
	slotUnknown   slotKind = iota
	slotKernelPtr          // a spilled regKernelPtr
	slotLostPtr            // a spilled kernel pointer whose address a helper was given
)

// stackSlots covers the 512-byte BPF stack in 8-byte slots.
const stackSlots = 64

type regState struct {
	kind regKind
	val  int64  // the scalar, or the offset into the map value or context
	data []byte // regRodata: the map's value
	// known marks the bytes of data that are certain (nil: all): a
	// .kconfig extern the target does not decide is unknown.
	known []bool
}

type regFile struct {
	r     [11]regState
	stack [stackSlots]slotKind // by slot: fp-8 is 0
}

// meet keeps what both paths agree on.
func (f *regFile) meet(o *regFile) (changed bool) {
	for i := range f.r {
		r := &f.r[i]
		if r.kind == regUnknown {
			continue
		}
		if o.r[i].kind != r.kind || o.r[i].val != r.val || (r.kind == regRodata && &o.r[i].data[0] != &r.data[0]) {
			*r = regState{}
			changed = true
		}
	}
	for i := range f.stack {
		if f.stack[i] != slotUnknown && f.stack[i] != o.stack[i] {
			f.stack[i] = slotUnknown
			changed = true
		}
	}
	return changed
}

// slotAt is the stack slot an 8-byte access at frame offset off uses, or
// -1 when it is not one whole slot.
func slotAt(off int64) int {
	if off >= 0 || off < -8*stackSlots || off%8 != 0 {
		return -1
	}
	return int(-off/8) - 1
}

// reachEnv is what the analysis knows of the target kernel: the .kconfig
// value the loader will give the object there (nil: no target, every
// extern unknown).
type reachEnv struct {
	kconfig      []byte
	kconfigKnown []bool
	// coreResolved says the instructions carry the target's CO-RE values
	// (relocated against its BTF): bpf_core_*_exists() and field offsets
	// are then constants like any other, and a relocation that found no
	// match is the poisoned instruction the verifier refuses if it gets
	// there.
	coreResolved bool
	// tracingCtx says the context holds the traced function's or
	// tracepoint's arguments, kernel pointers the verifier types (tp_btf,
	// fentry, fexit): a read from it is a regKernelPtr.
	tracingCtx bool
	// ksym says whether the target has kernel symbol name (known false:
	// not decided). A __weak __ksym the kernel lacks loads as 0, one it
	// has as its address: bpf_ksym_exists() is a branch on that.
	ksym func(name string) (exists, known bool)
}

// reach is what reachable found.
type reach struct {
	// live holds the raw instruction offsets the verifier can visit; nil
	// when the program's shape is not understood (then all of them).
	live map[int64]bool
	// ctxEnd is one past the last context byte read on a reachable path
	// (0: none seen); ctxAt is the first such read, for messages.
	ctxEnd, ctxAt int64
	// modifiedCtx is a reachable read through the context pointer plus a
	// nonzero constant, which the verifier refuses whatever the kernel
	// ("dereference of modified ctx ptr"); -1 when there is none.
	modifiedCtx    int64
	modifiedCtxOff int64
	// coreResolved: the walk had the target's CO-RE values.
	coreResolved bool
	// lostPtr is a reachable dereference of a kernel pointer reloaded from
	// a stack slot whose address a helper was given (-1: none): from 5.12
	// the verifier assumes the helper overwrote the slot, so the reloaded
	// value is a number and the dereference is refused.
	lostPtr int64
}

// frozenData returns the value of a map the loader freezes read-only
// before the program is loaded, or nil.
func frozenData(spec *ebpf.CollectionSpec, name string) []byte {
	if name == objload.KconfigMap {
		return nil // its contents are the target's: reachEnv
	}
	m := spec.Maps[name]
	if m == nil || m.Type != ebpf.Array || m.Flags&bpfFRdonlyProg == 0 || len(m.Contents) != 1 {
		return nil
	}
	b, _ := m.Contents[0].Value.([]byte)
	if len(b) == 0 {
		return nil
	}
	// A loader writes the VariableSpecs (what the user set) over the
	// section's bytes when it creates the map; so must the analysis.
	b = bytes.Clone(b)
	for _, v := range spec.Variables {
		if v.SectionName == name && v.Value != nil && int(v.Offset)+len(v.Value) <= len(b) {
			copy(b[v.Offset:], v.Value)
		}
	}
	return b
}

// bpfFRdonlyProg is BPF_F_RDONLY_PROG: the program may only read the map.
const bpfFRdonlyProg = 1 << 7

// reachable walks insns as the verifier will see them in env.
func reachable(spec *ebpf.CollectionSpec, insns asm.Instructions, env reachEnv) reach {
	out := reach{modifiedCtx: -1, lostPtr: -1}
	byOff := map[int64]*asm.Instruction{}
	symbols := map[string]int64{}
	var roots []int64
	var end int64
	for it := insns.Iterate(); it.Next(); {
		off := int64(it.Offset)
		byOff[off] = it.Ins
		if s := it.Ins.Symbol(); s != "" {
			symbols[s] = off
		}
		if fn := btf.FuncMetadata(it.Ins); fn != nil && off > 0 && fn.Linkage == btf.GlobalFunc {
			roots = append(roots, off)
		}
		end = off + int64(it.Ins.Size()/asm.InstructionSize)
	}
	if len(byOff) == 0 {
		return out
	}

	frozen := map[string]regState{}
	frozenOnce := func(name string) regState {
		if r, ok := frozen[name]; ok {
			return r
		}
		r := regState{}
		switch data := frozenData(spec, name); {
		case data != nil:
			r = regState{kind: regRodata, data: data}
		case name == objload.KconfigMap && env.kconfig != nil:
			r = regState{kind: regRodata, data: env.kconfig, known: env.kconfigKnown}
		}
		frozen[name] = r
		return r
	}
	states := map[int64]*regFile{}
	var work []int64
	visit := func(off int64, st *regFile) bool {
		if _, ok := byOff[off]; !ok {
			return false // into the middle of an instruction, or outside
		}
		if old, ok := states[off]; ok {
			if old.meet(st) {
				work = append(work, off)
			}
			return true
		}
		cp := *st
		states[off] = &cp
		work = append(work, off)
		return true
	}
	var unknown, entry regFile
	entry.r[asm.R1] = regState{kind: regCtx}
	entry.r[asm.R10] = regState{kind: regStack}
	unknown.r[asm.R10] = regState{kind: regStack}
	visit(0, &entry)
	for _, r := range roots {
		visit(r, &unknown)
	}

	target := func(ins *asm.Instruction, off int64) (int64, bool) {
		if ins.Reference() != "" && !ins.IsBuiltinCall() {
			t, ok := symbols[ins.Reference()]
			return t, ok
		}
		if ins.OpCode.Class() == asm.Jump32Class && ins.OpCode.JumpOp() == asm.Ja {
			return off + 1 + ins.Constant, true
		}
		if ins.OpCode.JumpOp() == asm.Call {
			return off + 1 + ins.Constant, true
		}
		return off + 1 + int64(ins.Offset), true
	}
	isRoot := map[int64]bool{}
	for _, r := range roots {
		isRoot[r] = true
	}

	for steps := 0; len(work) > 0; steps++ {
		if steps > 64*len(byOff) {
			return reach{modifiedCtx: -1, lostPtr: -1} // no fixpoint in reasonable time: assume all reachable
		}
		off := work[len(work)-1]
		work = work[:len(work)-1]
		ins := byOff[off]
		st := *states[off]
		next := off + int64(ins.Size()/asm.InstructionSize)
		op := ins.OpCode
		cls := op.Class()

		if cls.IsJump() {
			switch jop := op.JumpOp(); jop {
			case asm.Exit:
				continue
			case asm.Call:
				if ins.IsFunctionCall() {
					t, ok := target(ins, off)
					if !ok {
						return reach{modifiedCtx: -1, lostPtr: -1}
					}
					// A static function starts with its caller's
					// arguments (a pointer into the caller's stack is
					// not one into its own frame); a global one is
					// verified on its own.
					callee := unknown
					if !isRoot[t] {
						copy(callee.r[asm.R1:asm.R6], st.r[asm.R1:asm.R6])
						for r := asm.R1; r <= asm.R5; r++ {
							if callee.r[r].kind == regStack {
								callee.r[r] = regState{}
							}
						}
					}
					// It may write the caller's stack through them.
					st.stack = [stackSlots]slotKind{}
					if !visit(t, &callee) {
						return reach{modifiedCtx: -1, lostPtr: -1}
					}
				} else if ins.IsBuiltinCall() {
					// The helper reads (or writes) the stack it is
					// given; a spilled kernel pointer there is a number
					// to the verifier from 5.12 on.
					for r := asm.R1; r <= asm.R5; r++ {
						if st.r[r].kind != regStack {
							continue
						}
						if i := slotAt(st.r[r].val); i >= 0 && st.stack[i] == slotKernelPtr {
							st.stack[i] = slotLostPtr
						}
					}
				} else if ins.IsLoadOfFunctionPointer() {
					t, ok := target(ins, off)
					if !ok || !visit(t, &unknown) {
						return reach{modifiedCtx: -1, lostPtr: -1}
					}
				}
				for r := asm.R0; r <= asm.R5; r++ {
					st.r[r] = regState{}
				}
				if !visit(next, &st) && next < end {
					return reach{modifiedCtx: -1, lostPtr: -1}
				}
				continue
			case asm.Ja:
				t, ok := target(ins, off)
				if !ok || !visit(t, &st) {
					return reach{modifiedCtx: -1, lostPtr: -1}
				}
				continue
			case asm.JCOND: // may_goto: both ways
				t, ok := target(ins, off)
				if !ok || !visit(t, &st) || !visit(next, &st) {
					return reach{modifiedCtx: -1, lostPtr: -1}
				}
				continue
			default:
				t, ok := target(ins, off)
				if !ok {
					return reach{modifiedCtx: -1, lostPtr: -1}
				}
				taken, known := branchTaken(ins, &st, cls == asm.Jump32Class)
				if (!known || taken) && !visit(t, &st) {
					return reach{modifiedCtx: -1, lostPtr: -1}
				}
				if (!known || !taken) && !visit(next, &st) {
					return reach{modifiedCtx: -1, lostPtr: -1}
				}
				continue
			}
		}

		if cls == asm.LdXClass && ins.Src <= asm.R10 && st.r[ins.Src].kind == regCtx && op.Mode() == asm.MemMode {
			base := st.r[ins.Src].val
			if base != 0 && out.modifiedCtx < 0 {
				out.modifiedCtx, out.modifiedCtxOff = off, base
			}
			if e := base + int64(ins.Offset) + int64(op.Size().Sizeof()); e > out.ctxEnd {
				out.ctxEnd, out.ctxAt = e, off
			}
		}
		if cls == asm.LdXClass && ins.Src <= asm.R10 && st.r[ins.Src].kind == regLostPtr && out.lostPtr < 0 {
			out.lostPtr = off
		}
		step(frozenOnce, ins, &st, env)
		if ins.IsLoadOfFunctionPointer() {
			t, ok := target(ins, off)
			if !ok || !visit(t, &unknown) {
				return reach{modifiedCtx: -1, lostPtr: -1}
			}
		}
		if next >= end {
			continue // falls off the end: the verifier rejects that on its own
		}
		if !visit(next, &st) {
			return reach{modifiedCtx: -1, lostPtr: -1}
		}
	}
	out.live = make(map[int64]bool, len(states))
	for off := range states {
		out.live[off] = true
	}
	return out
}

// step applies a non-jump instruction to st.
func step(frozen func(string) regState, ins *asm.Instruction, st *regFile, env reachEnv) {
	coreResolved := env.coreResolved
	op := ins.OpCode
	dst := ins.Dst
	if dst > asm.R10 {
		*st = regFile{}
		st.r[asm.R10] = regState{kind: regStack}
		return
	}
	core := !coreResolved && btf.CORERelocationMetadata(ins) != nil
	switch cls := op.Class(); {
	case cls == asm.LdClass && op.IsDWordLoad():
		st.r[dst] = regState{}
		switch {
		case core:
		case ins.Src == asm.PseudoMapValue:
			if r := frozen(ins.Reference()); r.kind == regRodata {
				r.val = int64(uint64(ins.Constant) >> 32)
				st.r[dst] = r
			}
		case ins.Src == 0 && ins.Reference() == "":
			st.r[dst] = regState{kind: regScalar, val: ins.Constant}
		case ins.Reference() != "" && env.ksym != nil && (ins.Src == 0 || ins.Src == bpfPseudoBTFID):
			if exists, known := env.ksym(ins.Reference()); known && exists {
				st.r[dst] = regState{kind: regNonZero}
			} else if known {
				st.r[dst] = regState{kind: regScalar, val: 0}
			}
		}
	case cls == asm.LdClass: // legacy packet loads: r0 and the scratch registers
		for r := asm.R0; r <= asm.R5; r++ {
			st.r[r] = regState{}
		}
	case cls == asm.LdXClass:
		var src regState
		if ins.Src <= asm.R10 {
			src = st.r[ins.Src] // before dst is overwritten: often the same register
		}
		st.r[dst] = regState{}
		if !core && op.Mode() == asm.MemMode && op.Size() == asm.DWord {
			switch src.kind {
			case regCtx:
				if env.tracingCtx {
					st.r[dst] = regState{kind: regKernelPtr}
				}
				return
			case regStack:
				if i := slotAt(src.val + int64(ins.Offset)); i >= 0 {
					switch st.stack[i] {
					case slotKernelPtr:
						st.r[dst] = regState{kind: regKernelPtr}
					case slotLostPtr:
						st.r[dst] = regState{kind: regLostPtr}
					}
				}
				return
			}
		}
		if core || src.kind != regRodata || (op.Mode() != asm.MemMode && op.Mode() != asm.MemSXMode) {
			return
		}
		n := int64(op.Size().Sizeof())
		at := src.val + int64(ins.Offset)
		if at < 0 || n <= 0 || at+n > int64(len(src.data)) {
			return
		}
		if src.known != nil && slices.Contains(src.known[at:at+n], false) {
			return
		}
		b := src.data[at : at+n]
		var v uint64
		switch n {
		case 1:
			v = uint64(b[0])
		case 2:
			v = uint64(binary.LittleEndian.Uint16(b))
		case 4:
			v = uint64(binary.LittleEndian.Uint32(b))
		case 8:
			v = binary.LittleEndian.Uint64(b)
		}
		if op.Mode() == asm.MemSXMode {
			shift := 64 - 8*n
			v = uint64(int64(v<<shift) >> shift)
		}
		st.r[dst] = regState{kind: regScalar, val: int64(v)}
	case cls == asm.StXClass && op.Mode() == asm.AtomicMode:
		if ins.Src <= asm.R10 {
			st.r[ins.Src] = regState{}
		}
		st.r[asm.R0] = regState{}
		st.store(dst, ins.Offset, op.Size(), regState{})
	case cls == asm.StXClass:
		var src regState
		if ins.Src <= asm.R10 {
			src = st.r[ins.Src]
		}
		st.store(dst, ins.Offset, op.Size(), src)
	case cls == asm.StClass:
		st.store(dst, ins.Offset, op.Size(), regState{kind: regScalar})
	case cls.IsALU():
		st.r[dst] = alu(ins, st, cls == asm.ALUClass, core)
	}
}

// store records a store of size bytes of v at dst+off: a whole-slot spill
// of a kernel pointer to the stack is remembered, anything else makes the
// slots it touches unknown.
func (f *regFile) store(dst asm.Register, off int16, size asm.Size, v regState) {
	if dst > asm.R10 || f.r[dst].kind != regStack {
		return
	}
	at := f.r[dst].val + int64(off)
	if i := slotAt(at); i >= 0 && size == asm.DWord {
		f.stack[i] = slotUnknown
		if v.kind == regKernelPtr {
			f.stack[i] = slotKernelPtr
		}
		return
	}
	for b := at; b < at+int64(size.Sizeof()); b++ {
		if i := slotAt(b &^ 7); i >= 0 {
			f.stack[i] = slotUnknown
		}
	}
}

// alu computes an ALU instruction on what is known.
func alu(ins *asm.Instruction, st *regFile, is32, core bool) regState {
	op := ins.OpCode
	aop := op.ALUOp()
	d := st.r[ins.Dst]
	var s regState
	if op.Source() == asm.ImmSource {
		s = regState{kind: regScalar, val: ins.Constant}
	} else if ins.Src <= asm.R10 {
		s = st.r[ins.Src]
	}
	if core {
		return regState{}
	}
	if aop == asm.Mov && ins.Offset == 0 { // MOVSX has a nonzero offset
		if is32 && s.kind != regScalar {
			return regState{}
		}
		if is32 {
			return regState{kind: regScalar, val: int64(uint32(s.val))}
		}
		return s
	}
	if (d.kind == regRodata || d.kind == regCtx || d.kind == regStack) && !is32 && s.kind == regScalar && (aop == asm.Add || aop == asm.Sub) {
		if aop == asm.Sub {
			s.val = -s.val
		}
		d.val += s.val
		return d
	}
	if d.kind != regScalar || (s.kind != regScalar && aop != asm.Neg) {
		return regState{}
	}
	a, b := uint64(d.val), uint64(s.val)
	if is32 {
		a, b = uint64(uint32(a)), uint64(uint32(b))
	}
	var r uint64
	switch aop {
	case asm.Add:
		r = a + b
	case asm.Sub:
		r = a - b
	case asm.Mul:
		r = a * b
	case asm.Or:
		r = a | b
	case asm.And:
		r = a & b
	case asm.Xor:
		r = a ^ b
	case asm.LSh:
		if is32 {
			r = a << (b & 31)
		} else {
			r = a << (b & 63)
		}
	case asm.RSh:
		if is32 {
			r = a >> (b & 31)
		} else {
			r = a >> (b & 63)
		}
	case asm.ArSh: // sign extension of a 32-bit load: r <<= 32; r s>>= 32
		if is32 {
			r = uint64(uint32(int32(uint32(a)) >> (b & 31)))
		} else {
			r = uint64(int64(a) >> (b & 63))
		}
	case asm.Neg:
		r = -a
	default: // division, byte swaps: not needed for guards
		return regState{}
	}
	if is32 {
		r = uint64(uint32(r))
	}
	return regState{kind: regScalar, val: int64(r)}
}

// branchTaken decides a conditional jump when both operands are known.
func branchTaken(ins *asm.Instruction, st *regFile, is32 bool) (taken, known bool) {
	if ins.Dst > asm.R10 {
		return false, false
	}
	d := st.r[ins.Dst]
	var s regState
	if ins.OpCode.Source() == asm.ImmSource {
		s = regState{kind: regScalar, val: ins.Constant}
	} else if ins.Src <= asm.R10 {
		s = st.r[ins.Src]
	}
	if d.kind == regNonZero && s.kind == regScalar && s.val == 0 && !is32 {
		switch ins.OpCode.JumpOp() {
		case asm.JEq:
			return false, true
		case asm.JNE, asm.JGT:
			return true, true
		}
	}
	if d.kind != regScalar || s.kind != regScalar {
		return false, false
	}
	a, b := uint64(d.val), uint64(s.val)
	sa, sb := d.val, s.val
	if is32 {
		a, b = uint64(uint32(a)), uint64(uint32(b))
		sa, sb = int64(int32(sa)), int64(int32(sb))
	}
	switch ins.OpCode.JumpOp() {
	case asm.JEq:
		return a == b, true
	case asm.JNE:
		return a != b, true
	case asm.JGT:
		return a > b, true
	case asm.JGE:
		return a >= b, true
	case asm.JLT:
		return a < b, true
	case asm.JLE:
		return a <= b, true
	case asm.JSGT:
		return sa > sb, true
	case asm.JSGE:
		return sa >= sb, true
	case asm.JSLT:
		return sa < sb, true
	case asm.JSLE:
		return sa <= sb, true
	case asm.JSet:
		return a&b != 0, true
	}
	return false, false
}

// bpfPseudoBTFID is BPF_PSEUDO_BTF_ID: an ld_imm64 of a typed __ksym.
const bpfPseudoBTFID = asm.R3
