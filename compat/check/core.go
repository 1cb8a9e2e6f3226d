package check

import (
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/retrobpf/retrobpf/btfhub"
	"github.com/retrobpf/retrobpf/btfhub/corerelo"
	"github.com/retrobpf/retrobpf/compat"
	"github.com/retrobpf/retrobpf/internal/objload"
)

// coreUnmet relocates every program of the object at path against the
// target's kernel BTF with cilium/ebpf's CO-RE machinery and returns, per
// program, the relocations that found no match, naming the type and field.
//
// A failed relocation poisons its instruction; the verifier rejects the
// program only if that instruction is reachable. rep is the object's
// analysis: when it was made for this kernel's BTF (compat.Kernel.BTF) it
// knows which instructions the verifier reaches with the kernel's CO-RE,
// .kconfig and .rodata values, and a poisoned one it never reaches is no
// requirement. Without that, a program that can steer around it — a
// bpf_core_*_exists check, or a branch on .rodata or .kconfig — is
// Unknown, not Unsupported.
func coreUnmet(path string, kernel *btf.Spec, rep *compat.ObjectReport) (map[string][]compat.Unmet, error) {
	// As libbpf reads it (weak symbols made global), like the analysis.
	obj, err := objload.ReadFile(path)
	if err != nil {
		return nil, err
	}
	spec := obj.Spec
	out := map[string][]compat.Unmet{}
	for name, prog := range spec.Programs {
		if spec.Types == nil {
			continue
		}
		mismatches, err := btfhub.PoisonedRelocations(prog, spec.Types, kernel)
		if err != nil {
			return nil, fmt.Errorf("program %s: %w", name, err)
		}
		if len(mismatches) == 0 {
			continue
		}
		state, detail := compat.Unsupported, "no match in the target's BTF: the instruction is poisoned and the program has no CO-RE existence check or constant guard that could skip it"
		if guarded(prog, spec.Types) {
			state, detail = compat.Unknown, "no match in the target's BTF: the program loads only if this access is unreachable (it has CO-RE existence checks or .rodata/.kconfig guards that could not be evaluated)"
		}
		var pr *compat.ProgramReport
		if rep != nil {
			pr = rep.Program(name)
		}
		// Relocations count instructions; verifier logs and the analysis
		// count raw 8-byte slots (a 64-bit load takes two).
		rawOffset := make([]int64, 0, len(prog.Instructions))
		for it := prog.Instructions.Iterate(); it.Next(); {
			rawOffset = append(rawOffset, int64(it.Offset))
		}
		for _, m := range mismatches {
			state, detail := state, detail
			if pr != nil {
				switch live, decided := pr.Reachable(rawOffsetOf(rawOffset, m.Insn)); {
				case decided && !live:
					continue // the verifier never gets there on this kernel
				case decided:
					state, detail = compat.Unsupported, "no match in the target's BTF: the instruction is poisoned, and the verifier reaches it with this kernel's CO-RE, .kconfig and .rodata values"
				}
			}
			out[name] = append(out[name], compat.Unmet{
				Requirement: compat.Requirement{
					Feature: "btf:core",
					Reason:  fmt.Sprintf("CO-RE relocation %s %s", m.Kind, m.Field),
					Source:  fmt.Sprintf("program %s, insn %d", name, rawOffsetOf(rawOffset, m.Insn)),
				},
				State:  state,
				Detail: detail,
				Hint:   "the kernel lacks " + m.Field + " (" + m.Type + "): guard the access with bpf_core_field_exists()/bpf_core_type_exists() or ship a variant without it",
			})
		}
	}
	return out, nil
}

// guarded reports whether prog has a way to skip an instruction the
// verifier would otherwise reach: a CO-RE existence relocation, or a load
// from the .rodata or .kconfig maps.
func guarded(prog *ebpf.ProgramSpec, local *btf.Spec) bool {
	relos, err := corerelo.FromProgram(prog, local)
	if err != nil {
		return true // cannot tell: stay on the side of Unknown
	}
	for _, r := range relos {
		switch r.Kind {
		case corerelo.FieldExists, corerelo.TypeExists, corerelo.EnumvalExists, corerelo.TypeMatches:
			return true
		}
	}
	for _, ins := range prog.Instructions {
		if ins.IsLoadFromMap() {
			switch ref := ins.Reference(); {
			case ref == ".kconfig", ref == ".rodata", len(ref) > 8 && ref[:8] == ".rodata.":
				return true
			}
		}
	}
	return false
}

// rawOffsetOf is the raw offset of instruction index i.
func rawOffsetOf(offsets []int64, i int) int64 {
	if i < 0 || i >= len(offsets) {
		return int64(i)
	}
	return offsets[i]
}
