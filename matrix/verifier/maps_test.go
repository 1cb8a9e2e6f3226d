package verifier

import (
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/retrobpf/retrobpf/internal/testutils"
)

// TestMapFailuresAll: a load that fails on a map lists every map the
// kernel refuses, in name order, whatever cilium/ebpf tried first.
func TestMapFailuresAll(t *testing.T) {
	testutils.RequireRoot(t, "creates maps in the running kernel")
	spec := &ebpf.CollectionSpec{
		Maps: map[string]*ebpf.MapSpec{
			"c_bad": {Type: ebpf.Hash, KeySize: 0, ValueSize: 4, MaxEntries: 1},
			"a_ok":  {Type: ebpf.Array, KeySize: 4, ValueSize: 4, MaxEntries: 1},
			"b_bad": {Type: ebpf.Array, KeySize: 4, ValueSize: 0, MaxEntries: 1},
		},
		Programs: map[string]*ebpf.ProgramSpec{"p": {Type: ebpf.SocketFilter, License: "GPL", Instructions: asm.Instructions{
			asm.LoadMapPtr(asm.R1, 0).WithReference("a_ok"), asm.Mov.Imm(asm.R0, 0), asm.Return()}}},
	}
	for i := 0; i < 3; i++ {
		l, err := Load(spec, "p", Options{})
		if err != nil {
			t.Fatal(err)
		}
		if l.Err == nil {
			t.Fatal("loaded with invalid maps")
		}
		if len(l.MapFailures) != 2 || l.MapFailures[0].Name != "b_bad" || l.MapFailures[1].Name != "c_bad" {
			t.Fatalf("run %d: map failures %+v (load error %v)", i, l.MapFailures, l.Err)
		}
	}
}
