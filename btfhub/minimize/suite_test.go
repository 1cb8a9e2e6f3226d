package minimize

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/cilium/ebpf/btf"
)

// TestSuiteObjects minimizes the host BTF for every object of the bundled
// suite (bpf/) at once and requires each to relocate exactly as against the
// full BTF.
func TestSuiteObjects(t *testing.T) {
	objects, _ := filepath.Glob("../../bpf/*.o")
	var withRelos []string
	for _, o := range objects {
		rs, err := ObjectRelocations(o)
		if err != nil {
			t.Errorf("%s: %v", o, err)
			continue
		}
		if len(rs) > 0 {
			withRelos = append(withRelos, o)
		}
	}
	if len(withRelos) == 0 {
		t.Skip("no suite objects with CO-RE relocations under bpf/ (make bpf)")
	}
	full := hostBTF(t)
	raw, st, err := Objects(full, withRelos...)
	if err != nil {
		t.Fatal(err)
	}
	min, err := btf.LoadSpecFromReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(full, min, withRelos...); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d objects, %d relocations: %d types, %d bytes", len(withRelos), st.Relocations, st.Types, st.Bytes)
}
