package minimize

import (
	"errors"
	"os"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/rlimit"
)

// TestEquivalentLoads really loads testdata/core.o into the host kernel with
// the full and with the minimized BTF as KernelTypes and compares what the
// relocated socket programs return under BPF_PROG_TEST_RUN (each returns
// relocated offsets, sizes, existence bits and enum values).
func TestEquivalentLoads(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("loading BPF programs needs root")
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		t.Skipf("cannot raise RLIMIT_MEMLOCK: %v", err)
	}
	full := hostBTF(t)
	min, _, _ := minimized(t, full, testObjects...)

	results := func(kernel *btf.Spec) map[string]uint32 {
		spec, err := ebpf.LoadCollectionSpec("testdata/core.o")
		if err != nil {
			t.Fatal(err)
		}
		coll, err := ebpf.NewCollectionWithOptions(spec, ebpf.CollectionOptions{
			Programs: ebpf.ProgramOptions{KernelTypes: kernel},
		})
		if err != nil {
			t.Fatalf("load with KernelTypes: %v", err)
		}
		defer coll.Close()
		out := map[string]uint32{}
		for name, p := range coll.Programs {
			if spec.Programs[name].Type != ebpf.SocketFilter {
				continue
			}
			ret, err := p.Run(&ebpf.RunOptions{Data: make([]byte, 64)})
			if err != nil {
				t.Fatalf("test run %s: %v", name, err)
			}
			out[name] = ret
		}
		return out
	}
	want, got := results(full), results(min)
	if len(want) < 8 {
		t.Fatalf("only %d socket programs ran", len(want))
	}
	for name, w := range want {
		if name == "type_id" {
			continue // target type IDs are IDs in the BTF used
		}
		if got[name] != w {
			t.Errorf("%s: full BTF returns %d, minimized %d", name, w, got[name])
		}
		t.Logf("%s = %d", name, w)
	}
	if want["field_exists"] != 1 {
		t.Errorf("field_exists = %d, want 1 (pid exists, the made-up field does not)", want["field_exists"])
	}

	// bad.o's poisoned relocation must fail the same way with both.
	for _, kernel := range []*btf.Spec{full, min} {
		spec, err := ebpf.LoadCollectionSpec("testdata/bad.o")
		if err != nil {
			t.Fatal(err)
		}
		coll, err := ebpf.NewCollectionWithOptions(spec, ebpf.CollectionOptions{Programs: ebpf.ProgramOptions{KernelTypes: kernel}})
		if err == nil {
			coll.Close()
			t.Fatal("bad.o loaded although its relocation is poisoned")
		}
		var ve *ebpf.VerifierError
		if !errors.As(err, &ve) {
			t.Errorf("bad.o: want a verifier error, got %v", err)
		}
	}
}

// TestMinimizedForOtherObjects checks that the comparison can fail: BTF
// minimized for bad.o alone does not relocate core.o like the full BTF.
func TestMinimizedForOtherObjects(t *testing.T) {
	full := hostBTF(t)
	min, _, _ := minimized(t, full, "testdata/bad.o")
	want, got := fixups(t, "testdata/core.o", full), fixups(t, "testdata/core.o", min)
	same := len(want) == len(got)
	for i := 0; same && i < len(want); i++ {
		same = want[i] == got[i]
	}
	if err := Check(full, min, "testdata/core.o"); !errors.Is(err, ErrNotEquivalent) {
		t.Errorf("Check: %v, want ErrNotEquivalent", err)
	}
	if same {
		t.Fatal("BTF minimized for another object relocates core.o identically; the equivalence test would prove nothing")
	}
}
