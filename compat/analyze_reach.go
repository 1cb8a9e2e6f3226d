package compat

import (
	"bytes"
	"encoding/binary"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
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
// calls dead the verifier cannot visit either. It does not track the
// stack, .kconfig externs or CO-RE relocated values (an immediate with a
// CO-RE relocation is unknown until the loader patches it for a target).
// Global functions are verified on their own with unknown arguments, so
// they are roots; static functions are reached only through calls.
//
// Only checks the verifier makes while it walks the code depend on this:
// helper calls (their existence, their program type, GPL). Map
// references, kfunc calls, BPF-to-BPF calls and the shape of the control
// flow are resolved for the whole program before the walk and stay
// requirements wherever they are.

type regKind uint8

const (
	regUnknown regKind = iota
	regScalar          // a known 64-bit value
	regRodata          // a pointer to a frozen read-only map's value at a known offset
)

type regState struct {
	kind regKind
	val  int64  // the scalar, or the offset into the map value
	data []byte // regRodata: the map's value
}

type regFile [11]regState

// meet keeps what both paths agree on.
func (r *regFile) meet(o *regFile) (changed bool) {
	for i := range r {
		if r[i].kind == regUnknown {
			continue
		}
		if o[i].kind != r[i].kind || o[i].val != r[i].val || (r[i].kind == regRodata && &o[i].data[0] != &r[i].data[0]) {
			r[i] = regState{}
			changed = true
		}
	}
	return changed
}

// frozenData returns the value of a map the loader freezes read-only
// before the program is loaded, or nil.
func frozenData(spec *ebpf.CollectionSpec, name string) []byte {
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

// reachable returns the raw instruction offsets the verifier can visit,
// or nil when the program's shape is not understood (then every
// instruction counts as reachable).
func reachable(spec *ebpf.CollectionSpec, insns asm.Instructions) map[int64]bool {
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
		return nil
	}

	frozen := map[string][]byte{}
	frozenOnce := func(name string) []byte {
		if b, ok := frozen[name]; ok {
			return b
		}
		frozen[name] = frozenData(spec, name)
		return frozen[name]
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
	var unknown regFile
	visit(0, &unknown)
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

	for steps := 0; len(work) > 0; steps++ {
		if steps > 64*len(byOff) {
			return nil // no fixpoint in reasonable time: assume all reachable
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
				if ins.IsFunctionCall() || ins.IsLoadOfFunctionPointer() {
					t, ok := target(ins, off)
					if !ok || !visit(t, &unknown) {
						return nil
					}
				}
				for r := asm.R0; r <= asm.R5; r++ {
					st[r] = regState{}
				}
				if !visit(next, &st) && next < end {
					return nil
				}
				continue
			case asm.Ja:
				t, ok := target(ins, off)
				if !ok || !visit(t, &st) {
					return nil
				}
				continue
			case asm.JCOND: // may_goto: both ways
				t, ok := target(ins, off)
				if !ok || !visit(t, &st) || !visit(next, &st) {
					return nil
				}
				continue
			default:
				t, ok := target(ins, off)
				if !ok {
					return nil
				}
				taken, known := branchTaken(ins, &st, cls == asm.Jump32Class)
				if (!known || taken) && !visit(t, &st) {
					return nil
				}
				if (!known || !taken) && !visit(next, &st) {
					return nil
				}
				continue
			}
		}

		step(frozenOnce, ins, &st)
		if ins.IsLoadOfFunctionPointer() {
			t, ok := target(ins, off)
			if !ok || !visit(t, &unknown) {
				return nil
			}
		}
		if next >= end {
			continue // falls off the end: the verifier rejects that on its own
		}
		if !visit(next, &st) {
			return nil
		}
	}
	live := make(map[int64]bool, len(states))
	for off := range states {
		live[off] = true
	}
	return live
}

// step applies a non-jump instruction to st.
func step(frozen func(string) []byte, ins *asm.Instruction, st *regFile) {
	op := ins.OpCode
	dst := ins.Dst
	if dst > asm.R10 {
		*st = regFile{}
		return
	}
	core := btf.CORERelocationMetadata(ins) != nil
	switch cls := op.Class(); {
	case cls == asm.LdClass && op.IsDWordLoad():
		st[dst] = regState{}
		switch {
		case core:
		case ins.Src == asm.PseudoMapValue:
			if data := frozen(ins.Reference()); data != nil {
				st[dst] = regState{kind: regRodata, val: int64(uint64(ins.Constant) >> 32), data: data}
			}
		case ins.Src == 0 && ins.Reference() == "":
			st[dst] = regState{kind: regScalar, val: ins.Constant}
		}
	case cls == asm.LdClass: // legacy packet loads: r0 and the scratch registers
		for r := asm.R0; r <= asm.R5; r++ {
			st[r] = regState{}
		}
	case cls == asm.LdXClass:
		var src regState
		if ins.Src <= asm.R10 {
			src = st[ins.Src] // before dst is overwritten: often the same register
		}
		st[dst] = regState{}
		if core || src.kind != regRodata || (op.Mode() != asm.MemMode && op.Mode() != asm.MemSXMode) {
			return
		}
		n := int64(op.Size().Sizeof())
		at := src.val + int64(ins.Offset)
		if at < 0 || n <= 0 || at+n > int64(len(src.data)) {
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
		st[dst] = regState{kind: regScalar, val: int64(v)}
	case cls == asm.StXClass && op.Mode() == asm.AtomicMode:
		if ins.Src <= asm.R10 {
			st[ins.Src] = regState{}
		}
		st[asm.R0] = regState{}
	case cls.IsALU():
		st[dst] = alu(ins, st, cls == asm.ALUClass, core)
	}
}

// alu computes an ALU instruction on what is known.
func alu(ins *asm.Instruction, st *regFile, is32, core bool) regState {
	op := ins.OpCode
	aop := op.ALUOp()
	d := st[ins.Dst]
	var s regState
	if op.Source() == asm.ImmSource {
		s = regState{kind: regScalar, val: ins.Constant}
	} else if ins.Src <= asm.R10 {
		s = st[ins.Src]
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
	if d.kind == regRodata && !is32 && s.kind == regScalar && (aop == asm.Add || aop == asm.Sub) {
		if aop == asm.Sub {
			s.val = -s.val
		}
		return regState{kind: regRodata, val: d.val + s.val, data: d.data}
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
	case asm.Neg:
		r = -a
	default: // division, arithmetic shifts, byte swaps: not needed for guards
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
	d := st[ins.Dst]
	var s regState
	if ins.OpCode.Source() == asm.ImmSource {
		s = regState{kind: regScalar, val: ins.Constant}
	} else if ins.Src <= asm.R10 {
		s = st[ins.Src]
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
