package corerelo

import (
	"strings"
	"testing"

	"github.com/cilium/ebpf"
)

func TestFieldNames(t *testing.T) {
	spec, err := ebpf.LoadCollectionSpec("../minimize/testdata/core.o")
	if err != nil {
		t.Fatal(err)
	}
	relos, err := FromCollection(spec)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, r := range relos {
		got[r.Program+" "+r.Kind.String()+" "+r.Field()] = true
		if r.Raw == nil || r.Local == nil || len(r.Accessor) == 0 {
			t.Errorf("incomplete relocation %+v", r)
		}
	}
	for _, want := range []string{
		"field_offset byte_off task_struct.real_parent",
		"nested byte_off task_struct.children.prev",
		"field_size byte_sz task_struct.comm",
		"enums enumval_value pid_type::PIDTYPE_SID",
		"types type_size task_struct",
		"flavours byte_off task_struct___old.state",
		"read_parent byte_off task_struct.real_parent",
	} {
		if !got[want] {
			var have []string
			for k := range got {
				have = append(have, k)
			}
			t.Errorf("missing %q; have:\n%s", want, strings.Join(have, "\n"))
		}
	}
}

func TestKindString(t *testing.T) {
	if FieldByteOffset.String() != "byte_off" || TypeMatches.String() != "type_matches" || Kind(99).String() != "unknown(99)" {
		t.Fatal("kind names")
	}
	if !FieldSigned.IsField() || FieldSigned.IsType() || !TypeSize.IsType() || !EnumvalValue.IsEnum() || TypeIDLocal.IsType() {
		t.Fatal("kind classes")
	}
}
