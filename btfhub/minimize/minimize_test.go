package minimize

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/retrobpf/retrobpf/btfhub/corerelo"
)

var testObjects = []string{"testdata/core.o", "testdata/bad.o"}

// hostBTF loads the running kernel's BTF, the "full" input of these tests.
func hostBTF(tb testing.TB) *btf.Spec {
	tb.Helper()
	f, err := os.Open("/sys/kernel/btf/vmlinux")
	if err != nil {
		tb.Skipf("no kernel BTF on this host: %v", err)
	}
	defer f.Close()
	spec, err := btf.LoadSpecFromReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	return spec
}

// fixups relocates every program of the object against target and returns
// one line per relocation: the relocation and its fixup.
func fixups(t *testing.T, object string, target *btf.Spec) []string {
	t.Helper()
	spec, err := ebpf.LoadCollectionSpec(object)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, name := range sortedPrograms(spec) {
		prog := spec.Programs[name]
		var relos []*btf.CORERelocation
		for i := range prog.Instructions {
			if r := btf.CORERelocationMetadata(&prog.Instructions[i]); r != nil {
				relos = append(relos, r)
			}
		}
		fs, err := btf.CORERelocate(relos, []*btf.Spec{target}, prog.ByteOrder, spec.Types.TypeID)
		if err != nil {
			out = append(out, name+": error: "+err.Error())
			continue
		}
		for i, f := range fs {
			s := f.String()
			if strings.HasPrefix(s, "target_type_id=") && !strings.HasSuffix(s, "poison") {
				s = "target_type_id=<some id>" // IDs are those of the BTF used
			}
			out = append(out, name+": "+relos[i].String()+" => "+s)
		}
	}
	return out
}

func sortedPrograms(spec *ebpf.CollectionSpec) []string {
	var names []string
	for n := range spec.Programs {
		names = append(names, n)
	}
	for i := range names {
		for j := i + 1; j < len(names); j++ {
			if names[j] < names[i] {
				names[i], names[j] = names[j], names[i]
			}
		}
	}
	return names
}

func minimized(t *testing.T, full *btf.Spec, objects ...string) (*btf.Spec, []byte, Stats) {
	t.Helper()
	raw, st, err := Objects(full, objects...)
	if err != nil {
		t.Fatal(err)
	}
	min, err := btf.LoadSpecFromReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("minimized BTF does not parse: %v", err)
	}
	return min, raw, st
}

// TestEquivalentFixups relocates the objects against the full and the
// minimized BTF and requires identical results for every relocation.
func TestEquivalentFixups(t *testing.T) {
	full := hostBTF(t)
	min, raw, st := minimized(t, full, testObjects...)
	fullTypes := 0
	for range full.All() {
		fullTypes++
	}
	t.Logf("minimized: %d of %d types, %d bytes, %d relocations", st.Types, fullTypes, len(raw), st.Relocations)
	if st.Types == 0 || st.Types >= fullTypes/100 {
		t.Errorf("minimized BTF keeps %d of %d types; expected a small fraction", st.Types, fullTypes)
	}
	if err := Check(full, min, testObjects...); err != nil {
		t.Error(err)
	}
	for _, obj := range testObjects {
		want, got := fixups(t, obj, full), fixups(t, obj, min)
		for _, l := range append(want, got...) {
			if strings.Contains(l, ": error: ") {
				t.Errorf("%s: relocation failed: %s", obj, l)
			}
		}
		if len(want) == 0 {
			t.Fatalf("%s: no relocations", obj)
		}
		if strings.Join(want, "\n") != strings.Join(got, "\n") {
			t.Errorf("%s: fixups differ\nfull:\n%s\nminimized:\n%s", obj, strings.Join(want, "\n"), strings.Join(got, "\n"))
		}
		for _, l := range want {
			t.Log(l)
		}
	}
}

func TestRelocationsDecoded(t *testing.T) {
	relos, err := ObjectRelocations("testdata/core.o")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[corerelo.Kind]bool{}
	for _, r := range relos {
		seen[r.Kind] = true
		// The decoded local type must be the one cilium/ebpf names.
		if n := r.Local.TypeName(); n == "" || !strings.Contains(r.Raw.String(), n) {
			t.Errorf("%v: decoded local type %v", r.Raw, r.Local)
		}
		if !strings.Contains(r.Raw.String(), r.Kind.String()) {
			t.Errorf("%v: decoded kind %v", r.Raw, r.Kind)
		}
	}
	for _, k := range []corerelo.Kind{corerelo.FieldByteOffset, corerelo.FieldByteSize, corerelo.FieldExists,
		corerelo.FieldSigned, corerelo.FieldLShiftU64, corerelo.FieldRShiftU64, corerelo.TypeIDTarget,
		corerelo.TypeExists, corerelo.TypeSize, corerelo.EnumvalExists, corerelo.EnumvalValue} {
		if !seen[k] {
			t.Errorf("testdata/core.o has no %s relocation", k)
		}
	}
}

// TestCandidatesUseSpecIndex guards the fast path: the Spec's own
// essential-name index, reached through reflection.
func TestCandidatesUseSpecIndex(t *testing.T) {
	full := hostBTF(t)
	m := reflect.ValueOf(full).MethodByName("TypesByName")
	if !m.IsValid() {
		t.Fatal("btf.Spec has no TypesByName any more; minimize falls back to a full scan")
	}
	ts, err := candidates(full, "task_struct")
	if err != nil || len(ts) == 0 {
		t.Fatalf("got %v, %v", ts, err)
	}
	if _, ok := ts[0].(*btf.Struct); !ok {
		t.Fatalf("got %T", ts[0])
	}
	if ts, err := candidates(full, "retrobpf_no_such_type"); err != nil || len(ts) != 0 {
		t.Fatalf("missing type: %v, %v", ts, err)
	}
}

// TestNoMatchIsAnError: a BTF that has none of the types the objects
// relocate against (here one int) is not minimized into an empty BTF
// that every load would then fail on.
func TestNoMatchIsAnError(t *testing.T) {
	b, err := btf.NewBuilder([]btf.Type{&btf.Int{Name: "int", Size: 4, Encoding: btf.Signed}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := b.Marshal(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	full, err := btf.LoadSpecFromReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = Objects(full, "testdata/core.o")
	if !errors.Is(err, ErrNoMatch) || !strings.Contains(err.Error(), "testdata/core.o") {
		t.Fatalf("err = %v, want ErrNoMatch naming the object", err)
	}
}
