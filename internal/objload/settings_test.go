package objload

import (
	"bytes"
	"errors"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
)

func variableSpec(name string, t btf.Type) *ebpf.VariableSpec {
	return &ebpf.VariableSpec{Name: name, SectionName: ".rodata", Type: &btf.Var{Name: name, Type: t}}
}

func TestSettingsTypedFromBTF(t *testing.T) {
	u8 := &btf.Int{Name: "u8", Size: 1}
	s32 := &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed}
	u64 := &btf.Typedef{Name: "__u64", Type: &btf.Int{Name: "unsigned long long", Size: 8}}
	boolean := &btf.Int{Name: "_Bool", Size: 1, Encoding: btf.Bool}
	mode := &btf.Enum{Name: "mode", Size: 4, Values: []btf.EnumValue{{Name: "MODE_A", Value: 0}, {Name: "MODE_B", Value: 7}}}
	comm := &btf.Array{Type: &btf.Int{Name: "char", Size: 1, Encoding: btf.Char}, Nelems: 8}
	volatileInt := &btf.Volatile{Type: &btf.Const{Type: s32}}

	for _, tc := range []struct {
		typ   btf.Type
		text  string
		want  []byte
		error string
	}{
		{u8, "255", []byte{255}, ""},
		{u8, "256", nil, "unsigned 8-bit"},
		{u8, "-1", nil, "unsigned 8-bit"},
		{s32, "-2", []byte{0xfe, 0xff, 0xff, 0xff}, ""},
		{s32, "0x10", []byte{0x10, 0, 0, 0}, ""},
		{volatileInt, "3", []byte{3, 0, 0, 0}, ""},
		{u64, "1", []byte{1, 0, 0, 0, 0, 0, 0, 0}, ""},
		{boolean, "true", []byte{1}, ""},
		{boolean, "1", []byte{1}, ""},
		{boolean, "yes", nil, "true or false"},
		{mode, "MODE_B", []byte{7, 0, 0, 0}, ""},
		{mode, "2", []byte{2, 0, 0, 0}, ""},
		{mode, "MODE_C", nil, "MODE_A, MODE_B"},
		{comm, "bash", []byte("bash\x00\x00\x00\x00"), ""},
		{comm, "12345678", nil, "does not fit"},
		{&btf.Pointer{Target: u8}, "1", nil, "cannot be set"},
	} {
		spec := &ebpf.CollectionSpec{Variables: map[string]*ebpf.VariableSpec{"v": variableSpec("v", tc.typ)}}
		err := Settings{Variables: map[string]string{"v": tc.text}}.Apply(spec)
		if tc.error != "" {
			if !errors.Is(err, ErrBadSetting) || !bytes.Contains([]byte(err.Error()), []byte(tc.error)) {
				t.Errorf("%s = %q: err %v, want ErrBadSetting with %q", tc.typ, tc.text, err, tc.error)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s = %q: %v", tc.typ, tc.text, err)
			continue
		}
		if got := spec.Variables["v"].Value; !bytes.Equal(got, tc.want) {
			t.Errorf("%s = %q: bytes %x, want %x", tc.typ, tc.text, got, tc.want)
		}
	}
}

func TestSettingsOnARealObject(t *testing.T) {
	o, err := ReadFile("../../compat/testdata/guarded.o")
	if err != nil {
		t.Fatal(err)
	}
	spec := o.Spec.Copy()
	s := Settings{Variables: map[string]string{"use_task_btf": "true"}, Maps: map[string]MapSize{"stamps": {MaxEntries: 64}}}
	if err := s.Apply(spec); err != nil {
		t.Fatal(err)
	}
	var b bool
	if err := spec.Variables["use_task_btf"].Get(&b); err != nil || !b {
		t.Errorf("use_task_btf = %v, %v", b, err)
	}
	if spec.Maps["stamps"].MaxEntries != 64 {
		t.Errorf("stamps max_entries %d", spec.Maps["stamps"].MaxEntries)
	}
	if o.Spec.Maps["stamps"].MaxEntries != 1 {
		t.Error("Apply changed the object's own spec, not the copy")
	}
	for _, bad := range []Settings{
		{Variables: map[string]string{"nope": "1"}},
		{Maps: map[string]MapSize{"nope": {MaxEntries: 1}}},
		{Maps: map[string]MapSize{".rodata": {ValueSize: 8}}},
	} {
		if err := bad.Apply(o.Spec.Copy()); !errors.Is(err, ErrBadSetting) {
			t.Errorf("%+v: err %v, want ErrBadSetting", bad, err)
		}
	}
	// Only keeps what this object has, and says what it found.
	found := map[string]bool{}
	only := Settings{Variables: map[string]string{"use_task_btf": "1", "other": "2"}}.Only(spec, found)
	if len(only.Variables) != 1 || !found["use_task_btf"] || found["other"] {
		t.Errorf("Only: %+v, found %v", only, found)
	}
}

func TestParseAssignment(t *testing.T) {
	if n, v, err := ParseAssignment("comm=a=b"); err != nil || n != "comm" || v != "a=b" {
		t.Errorf("comm=a=b: %q %q %v", n, v, err)
	}
	for _, bad := range []string{"novalue", "=1", ""} {
		if _, _, err := ParseAssignment(bad); !errors.Is(err, ErrBadSetting) {
			t.Errorf("%q: err %v", bad, err)
		}
	}
}
