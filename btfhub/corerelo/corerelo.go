package corerelo

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/retrobpf/retrobpf/btfhub/internal/btftype"
)

// Kind is a CO-RE relocation kind (enum bpf_core_relo_kind).
type Kind uint32

// Relocation kinds, in the kernel's numbering.
const (
	FieldByteOffset Kind = iota
	FieldByteSize
	FieldExists
	FieldSigned
	FieldLShiftU64
	FieldRShiftU64
	TypeIDLocal
	TypeIDTarget
	TypeExists
	TypeSize
	EnumvalExists
	EnumvalValue
	TypeMatches
)

var kindNames = [...]string{"byte_off", "byte_sz", "field_exists", "signed", "lshift_u64", "rshift_u64",
	"local_type_id", "target_type_id", "type_exists", "type_size", "enumval_exists", "enumval_value", "type_matches"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown(" + strconv.Itoa(int(k)) + ")"
}

// IsField reports whether k relocates a field access.
func (k Kind) IsField() bool { return k <= FieldRShiftU64 }

// IsEnum reports whether k relocates an enum value.
func (k Kind) IsEnum() bool { return k == EnumvalExists || k == EnumvalValue }

// IsType reports whether k relocates a whole type (not the local type ID).
func (k Kind) IsType() bool {
	return k == TypeIDTarget || k == TypeExists || k == TypeSize || k == TypeMatches
}

// ErrLayout is returned if cilium/ebpf's CORERelocation no longer has the
// fields Decode reads.
var ErrLayout = errors.New("unexpected btf.CORERelocation layout")

// Relocation is one CO-RE relocation of one instruction.
type Relocation struct {
	Program  string // program name in the collection
	Insn     int    // instruction index in the program
	Kind     Kind
	Accessor []int
	Local    btf.Type // the local type the accessor starts from
	Raw      *btf.CORERelocation
}

// Decode reads relo's kind, accessor and local type. local is the BTF of the
// object the relocation comes from (CollectionSpec.Types): the local type is
// looked up by its ID there.
func Decode(relo *btf.CORERelocation, local *btf.Spec) (Relocation, error) {
	v := reflect.ValueOf(relo).Elem()
	kind, acc, id := v.FieldByName("kind"), v.FieldByName("accessor"), v.FieldByName("id")
	if !kind.IsValid() || !kind.CanUint() || !acc.IsValid() || acc.Kind() != reflect.Slice ||
		!id.IsValid() || !id.CanUint() {
		return Relocation{}, ErrLayout
	}
	r := Relocation{Kind: Kind(kind.Uint()), Raw: relo}
	for i := 0; i < acc.Len(); i++ {
		r.Accessor = append(r.Accessor, int(acc.Index(i).Int()))
	}
	if len(r.Accessor) == 0 {
		return Relocation{}, fmt.Errorf("%v: empty accessor: %w", relo, ErrLayout)
	}
	if local == nil {
		return Relocation{}, fmt.Errorf("%v: object has no BTF", relo)
	}
	t, err := local.TypeByID(btf.TypeID(id.Uint()))
	if err != nil {
		return Relocation{}, fmt.Errorf("%v: local type: %w", relo, err)
	}
	r.Local = t
	return r, nil
}

// FromCollection returns the CO-RE relocations of every program in spec,
// sorted by program name and instruction.
func FromCollection(spec *ebpf.CollectionSpec) ([]Relocation, error) {
	names := make([]string, 0, len(spec.Programs))
	for n := range spec.Programs {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []Relocation
	for _, n := range names {
		rs, err := FromProgram(spec.Programs[n], spec.Types)
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
	}
	return out, nil
}

// FromProgram returns the CO-RE relocations of one program.
func FromProgram(prog *ebpf.ProgramSpec, local *btf.Spec) ([]Relocation, error) {
	var out []Relocation
	for i := range prog.Instructions {
		relo := btf.CORERelocationMetadata(&prog.Instructions[i])
		if relo == nil {
			continue
		}
		r, err := Decode(relo, local)
		if err != nil {
			return nil, fmt.Errorf("program %s, insn %d: %w", prog.Name, i, err)
		}
		r.Program, r.Insn = prog.Name, i
		out = append(out, r)
	}
	return out, nil
}

// Target returns the name of the type the relocation looks up in the
// kernel ("struct task_struct", "enum pid_type").
func (r Relocation) Target() string {
	return typeString(r.Local)
}

// Field spells the accessor out with member names, e.g.
// "task_struct.real_parent.tgid", "pid_type::PIDTYPE_TGID", or just the type
// name for type relocations. Array indices appear as [n].
func (r Relocation) Field() string {
	name := r.Local.TypeName()
	if name == "" {
		name = typeString(r.Local)
	}
	switch {
	case r.Kind.IsEnum():
		if e, ok := btf.As[*btf.Enum](r.Local); ok && r.Accessor[0] < len(e.Values) {
			return name + "::" + e.Values[r.Accessor[0]].Name
		}
		return name
	case !r.Kind.IsField():
		return name
	}
	var b strings.Builder
	b.WriteString(name)
	if r.Accessor[0] != 0 {
		fmt.Fprintf(&b, "[%d]", r.Accessor[0])
	}
	t := r.Local
	for _, a := range r.Accessor[1:] {
		switch u := btf.UnderlyingType(t).(type) {
		case *btf.Struct, *btf.Union:
			members := btftype.Members(u)
			if a >= len(members) {
				fmt.Fprintf(&b, ".#%d", a)
				return b.String()
			}
			m := members[a]
			if m.Name != "" {
				b.WriteString("." + m.Name)
			}
			t = m.Type
		case *btf.Array:
			fmt.Fprintf(&b, "[%d]", a)
			t = u.Type
		default:
			fmt.Fprintf(&b, ".#%d", a)
			return b.String()
		}
	}
	return b.String()
}

func (r Relocation) String() string {
	acc := make([]string, len(r.Accessor))
	for i, a := range r.Accessor {
		acc[i] = strconv.Itoa(a)
	}
	return fmt.Sprintf("%s %s (%s)", r.Kind, r.Field(), strings.Join(acc, ":"))
}

func typeString(t btf.Type) string {
	switch u := btf.UnderlyingType(t).(type) {
	case *btf.Struct:
		return "struct " + u.Name
	case *btf.Union:
		return "union " + u.Name
	case *btf.Enum:
		return "enum " + u.Name
	}
	if t.TypeName() != "" {
		return t.TypeName()
	}
	return fmt.Sprint(t)
}
