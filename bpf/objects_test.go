package bpf

import (
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
)

// lastHelper419 is the highest helper ID in 4.19 (bpf_skb_ancestor_cgroup_id).
const lastHelper419 = 83

// TestObjectsMatchIntent checks each compiled object statically against
// what its variant promises, without loading it: legacy objects are ISA v2
// (no JMP32), loop-free (no backward jumps), at most 4096 instructions per
// program, free of global data and ring buffers, call only 4.19 helpers;
// only variants meant to use CO-RE carry CO-RE relocations; modern ones do
// use global data; variants below 5.3 have no backward jumps.
func TestObjectsMatchIntent(t *testing.T) {
	for _, in := range intents {
		t.Run(in.program+"/"+in.variant, func(t *testing.T) {
			spec, err := LoadObjectSpec(in.object)
			if err != nil {
				t.Fatal(err)
			}
			if len(spec.Programs) == 0 {
				t.Fatal("no programs")
			}
			globals := false
			for name, m := range spec.Maps {
				if strings.HasPrefix(name, ".") {
					globals = true
				}
				if in.legacy && m.Type == ebpf.RingBuf {
					t.Errorf("legacy object has ring buffer %s", name)
				}
			}
			if in.legacy && globals {
				t.Error("legacy object uses global data (.rodata/.data/.bss, 5.2)")
			}
			if !in.legacy && !globals {
				t.Error("modern object has no global data")
			}
			core := false
			noLoops := in.legacy || in.minVersion().Less(kv("5.3"))
			for name, p := range spec.Programs {
				if in.legacy && len(p.Instructions) > 4096 {
					t.Errorf("%s: %d instructions, 4.19 allows 4096", name, len(p.Instructions))
				}
				for i, ins := range p.Instructions {
					if btf.CORERelocationMetadata(&ins) != nil {
						core = true
					}
					if in.legacy && ins.OpCode.Class() == asm.Jump32Class {
						t.Errorf("%s insn %d: JMP32 (ISA v3) in a legacy object: %v", name, i, ins)
					}
					if noLoops && ins.OpCode.Class().IsJump() && ins.Offset < 0 {
						t.Errorf("%s insn %d: backward jump, rejected before 5.3: %v", name, i, ins)
					}
					if in.legacy && ins.IsBuiltinCall() && ins.Constant > lastHelper419 {
						t.Errorf("%s insn %d: helper %v is newer than 4.19", name, i, asm.BuiltinFunc(ins.Constant))
					}
				}
			}
			if core != in.core {
				t.Errorf("CO-RE relocations present = %v, intent says %v", core, in.core)
			}
		})
	}
}
