package minimize

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/cilium/ebpf/btf"

	"github.com/retrobpf/retrobpf/btfhub/corerelo"
	"github.com/retrobpf/retrobpf/btfhub/internal/btftype"
	"github.com/retrobpf/retrobpf/internal/objload"
)

// ErrNoRelocations is returned when the objects have no CO-RE relocations:
// there is nothing to keep, and an empty BTF would only hide the mistake.
var ErrNoRelocations = errors.New("objects have no CO-RE relocations")

// ErrNoMatch is returned when none of the objects' relocations matches a
// type of the full BTF: the result would be an empty BTF that makes every
// load fail, so the BTF is most likely not the target kernel's.
var ErrNoMatch = errors.New("no CO-RE relocation matches a type of the BTF")

// Stats describes one minimization.
type Stats struct {
	Objects     int `json:"objects"`
	Relocations int `json:"relocations"`
	Types       int `json:"types"` // types in the minimized BTF
	Bytes       int `json:"bytes"` // size of the raw minimized BTF
}

// ObjectRelocations loads the CO-RE relocations of BPF object files.
func ObjectRelocations(paths ...string) ([]corerelo.Relocation, error) {
	var out []corerelo.Relocation
	for _, p := range paths {
		obj, err := objload.ReadFile(p) // weak maps and externs as libbpf reads them
		if err != nil {
			return nil, err // names the file
		}
		spec := obj.Spec
		rs, err := corerelo.FromCollection(spec)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		out = append(out, rs...)
	}
	return out, nil
}

// Objects minimizes full for the objects at paths and returns raw BTF.
func Objects(full *btf.Spec, paths ...string) ([]byte, Stats, error) {
	relos, err := ObjectRelocations(paths...)
	if err != nil {
		return nil, Stats{}, err
	}
	st := Stats{Objects: len(paths), Relocations: len(relos)}
	if len(relos) == 0 {
		return nil, st, fmt.Errorf("%s: %w", strings.Join(paths, ", "), ErrNoRelocations)
	}
	types, err := Types(full, relos)
	if err != nil {
		return nil, st, err
	}
	if len(types) == 0 {
		return nil, st, fmt.Errorf("%s: %w (%d relocations): is it the target kernel's BTF?", strings.Join(paths, ", "), ErrNoMatch, len(relos))
	}
	raw, err := Marshal(types)
	if err != nil {
		return nil, st, err
	}
	st.Bytes = len(raw)
	min, err := btf.LoadSpecFromReader(bytes.NewReader(raw))
	if err != nil {
		return nil, st, fmt.Errorf("re-read minimized BTF: %w", err)
	}
	for range min.All() {
		st.Types++
	}
	return raw, st, nil
}

// Marshal encodes types (and everything they reference) as raw BTF in the
// host's byte order.
func Marshal(types []btf.Type) ([]byte, error) {
	b, err := btf.NewBuilder(types, nil)
	if err != nil {
		return nil, fmt.Errorf("build BTF: %w", err)
	}
	raw, err := b.Marshal(nil, &btf.MarshalOptions{Order: hostOrder()})
	if err != nil {
		return nil, fmt.Errorf("marshal BTF: %w", err)
	}
	return raw, nil
}

// Types returns pruned copies of the types of full that relos need. The
// originals are not modified.
func Types(full *btf.Spec, relos []corerelo.Relocation) ([]btf.Type, error) {
	m := &minimizer{
		keep:    map[btf.Type]*need{},
		seen:    map[markKey]bool{},
		matched: map[[2]btf.Type]bool{},
		copies:  map[btf.Type]btf.Type{},
	}
	for _, r := range relos {
		if r.Kind == corerelo.TypeIDLocal {
			continue
		}
		name := essentialName(r.Local.TypeName())
		if name == "" {
			continue // cilium/ebpf refuses to relocate anonymous types
		}
		targets, err := candidates(full, name)
		if err != nil {
			return nil, err
		}
		for _, target := range targets {
			switch {
			case r.Kind.IsField():
				m.field(r.Local, target, r.Accessor)
			case r.Kind.IsEnum():
				m.shallow(target)
			case r.Kind == corerelo.TypeMatches:
				m.match(r.Local, target)
			case r.Kind.IsType():
				m.compat(target)
			default:
				return nil, fmt.Errorf("%s: unsupported relocation kind", r)
			}
		}
	}
	out := make([]btf.Type, 0, len(m.order))
	for _, t := range m.order {
		out = append(out, m.copy(t))
	}
	if m.err != nil {
		return nil, m.err
	}
	return out, nil
}

// candidates returns the types of full a relocation of a local type with
// this essential name is matched against: every type whose essential name
// is the same (Spec.TypesByName, which takes an unexported name type and is
// therefore called through reflection), minus the kinds that can never match
// (functions, variables, data sections: they only ever add fully poisoned
// candidates, which the relocation ignores). Using the Spec's own index keeps
// the full BTF lazily decoded: only the candidates are inflated.
func candidates(full *btf.Spec, name string) ([]btf.Type, error) {
	var types []btf.Type
	m := reflect.ValueOf(full).MethodByName("TypesByName")
	if m.IsValid() && m.Type().NumIn() == 1 && m.Type().In(0).Kind() == reflect.String && m.Type().NumOut() == 2 {
		out := m.Call([]reflect.Value{reflect.ValueOf(name).Convert(m.Type().In(0))})
		if err, _ := out[1].Interface().(error); err != nil {
			if errors.Is(err, btf.ErrNotFound) {
				return nil, nil
			}
			return nil, err
		}
		types, _ = out[0].Interface().([]btf.Type)
	} else {
		// Fallback: scan everything (slower, same result).
		for t, err := range full.All() {
			if err != nil {
				return nil, err
			}
			if essentialName(t.TypeName()) == name {
				types = append(types, t)
			}
		}
	}
	out := types[:0:0]
	for _, t := range types {
		switch t.(type) {
		case *btf.Func, *btf.Var, *btf.Datasec, *btf.TypeTag:
			continue
		}
		out = append(out, t)
	}
	return out, nil
}

func essentialName(name string) string {
	if i := strings.LastIndex(name, "___"); i > 0 {
		return name[:i]
	}
	return name
}

// need records what of one original type the output keeps.
type need struct {
	members    map[int]bool // kept member indices of a struct/union
	minMembers int          // keep at least this many members (type_matches counts them)
	pointee    bool         // a pointer keeps its target (else it points to void)
}

type markMode int

const (
	modeShallow markMode = iota
	modeCompat
)

type markKey struct {
	t    btf.Type
	mode markMode
}

type minimizer struct {
	keep    map[btf.Type]*need
	order   []btf.Type
	seen    map[markKey]bool
	matched map[[2]btf.Type]bool
	copies  map[btf.Type]btf.Type
	err     error
}

func (m *minimizer) touch(t btf.Type) *need {
	n, ok := m.keep[t]
	if !ok {
		n = &need{}
		m.keep[t] = n
		m.order = append(m.order, t)
	}
	return n
}

func (m *minimizer) once(t btf.Type, mode markMode) bool {
	k := markKey{t, mode}
	if m.seen[k] {
		return false
	}
	m.seen[k] = true
	return true
}

// shallow keeps t's layout: what Sizeof, alignment, integer signedness,
// enum values and member compatibility read. Structs and unions keep only
// their size; pointers do not keep their target.
func (m *minimizer) shallow(t btf.Type) {
	if !m.once(t, modeShallow) {
		return
	}
	m.touch(t)
	switch t := t.(type) {
	case *btf.Typedef:
		m.shallow(t.Type)
	case *btf.Const:
		m.shallow(t.Type)
	case *btf.Volatile:
		m.shallow(t.Type)
	case *btf.Restrict:
		m.shallow(t.Type)
	case *btf.TypeTag:
		m.shallow(t.Type)
	case *btf.Array:
		m.shallow(t.Type)
		m.shallow(t.Index)
	case *btf.FuncProto:
		m.shallow(t.Return)
		for _, p := range t.Params {
			m.shallow(p.Type)
		}
	}
}

// compat keeps what CheckTypeCompatibility walks: through typedefs,
// qualifiers, pointers, arrays and function prototypes down to the first
// struct, union, enum, forward declaration or integer.
func (m *minimizer) compat(t btf.Type) {
	if !m.once(t, modeCompat) {
		return
	}
	m.shallow(t)
	switch t := t.(type) {
	case *btf.Typedef:
		m.compat(t.Type)
	case *btf.Const:
		m.compat(t.Type)
	case *btf.Volatile:
		m.compat(t.Type)
	case *btf.Restrict:
		m.compat(t.Type)
	case *btf.TypeTag:
		m.compat(t.Type)
	case *btf.Pointer:
		m.touch(t).pointee = true
		m.compat(t.Target)
	case *btf.Array:
		m.compat(t.Type)
		m.compat(t.Index)
	case *btf.FuncProto:
		m.compat(t.Return)
		for _, p := range t.Params {
			m.compat(p.Type)
		}
	}
}

// keepMember keeps member i of composite c (the underlying struct/union).
func (m *minimizer) keepMember(c btf.Type, i int) {
	n := m.touch(c)
	if n.members == nil {
		n.members = map[int]bool{}
	}
	n.members[i] = true
	m.shallow(btftype.Members(c)[i].Type)
}

// field mirrors cilium/ebpf's coreFindField: it walks the local accessor and
// keeps, in target, every member the walk reads (stopping where the walk
// would stop).
func (m *minimizer) field(local, target btf.Type, acc []int) {
	m.shallow(target)
	lt, tt := local, target
	for _, a := range acc[1:] {
		switch l := btf.UnderlyingType(lt).(type) {
		case *btf.Struct, *btf.Union:
			lms := btftype.Members(l)
			if a >= len(lms) {
				return
			}
			lm := lms[a]
			if lm.Name == "" {
				lt = lm.Type // anonymous local member: the target stays put
				continue
			}
			tc := btf.UnderlyingType(tt)
			if btftype.Members(tc) == nil && !isComposite(tc) {
				return
			}
			mem, ok := m.findMember(tc, lm.Name)
			if !ok {
				return
			}
			lt, tt = lm.Type, mem.Type
			if lm.BitfieldSize > 0 || mem.BitfieldSize > 0 {
				return // bitfields end the walk
			}
		case *btf.Array:
			ta, ok := btf.UnderlyingType(tt).(*btf.Array)
			if !ok {
				return
			}
			lt, tt = l.Type, ta.Type
		default:
			return
		}
		m.shallow(tt)
	}
}

// findMember mirrors coreFindMember's breadth-first search through
// anonymous structs and unions, keeping the members on the path to name (or
// to the anonymous non-composite member the search would fail on).
func (m *minimizer) findMember(c btf.Type, name string) (btf.Member, bool) {
	type hop struct {
		c btf.Type
		i int
	}
	type item struct {
		c    btf.Type
		path []hop
	}
	keepPath := func(path []hop) {
		for _, h := range path {
			m.keepMember(h.c, h.i)
		}
	}
	queue := []item{{c: c}}
	visited := map[btf.Type]bool{}
	for q := 0; q < len(queue); q++ {
		cur := queue[q]
		if visited[cur.c] {
			continue
		}
		visited[cur.c] = true
		ms := btftype.Members(cur.c)
		for j, mem := range ms {
			path := append(slices.Clip(cur.path), hop{cur.c, j})
			if mem.Name == name {
				keepPath(path)
				if arr, ok := btf.UnderlyingType(mem.Type).(*btf.Array); ok && arr.Nelems == 0 && j != len(ms)-1 {
					// Whether the member is last decides if a flexible
					// array is valid: keep the real last member too.
					m.keepMember(cur.c, len(ms)-1)
				}
				return mem, true
			}
			if mem.Name != "" {
				continue
			}
			sub := btf.UnderlyingType(mem.Type)
			if !isComposite(sub) {
				keepPath(path) // the relocation fails here; keep the cause
				return btf.Member{}, false
			}
			queue = append(queue, item{sub, path})
		}
	}
	return btf.Member{}, false
}

// match mirrors coreTypesMatch (type_matches): local members must exist in
// the target by name, recursively, also behind pointers.
func (m *minimizer) match(local, target btf.Type) {
	m.shallow(target)
	l, t := btf.UnderlyingType(local), btf.UnderlyingType(target)
	key := [2]btf.Type{l, t}
	if m.matched[key] {
		return
	}
	m.matched[key] = true
	switch lv := l.(type) {
	case *btf.Struct, *btf.Union:
		if !isComposite(t) {
			return
		}
		lms, tms := btftype.Members(lv), btftype.Members(t)
		n := m.touch(t)
		n.minMembers = max(n.minMembers, len(lms))
		for _, lm := range lms {
			idx := -1
			for j, tm := range tms {
				if tm.Name == lm.Name {
					idx = j // the last one wins, like the map in coreTypesMatch
				}
			}
			if idx < 0 {
				return
			}
			m.keepMember(t, idx)
			m.match(lm.Type, tms[idx].Type)
		}
	case *btf.Pointer:
		tv, ok := t.(*btf.Pointer)
		if !ok {
			return
		}
		m.touch(tv).pointee = true
		m.match(lv.Target, tv.Target)
	case *btf.Array:
		if tv, ok := t.(*btf.Array); ok {
			m.match(lv.Type, tv.Type)
		}
	case *btf.FuncProto:
		tv, ok := t.(*btf.FuncProto)
		if !ok || len(tv.Params) != len(lv.Params) {
			return
		}
		for i, p := range lv.Params {
			m.match(p.Type, tv.Params[i].Type)
		}
		m.match(lv.Return, tv.Return)
	}
}

// copy returns the pruned copy of t, built once per original type.
func (m *minimizer) copy(t btf.Type) btf.Type {
	if c, ok := m.copies[t]; ok {
		return c
	}
	n := m.keep[t]
	if n == nil {
		n = &need{}
	}
	switch t := t.(type) {
	case *btf.Void:
		return t
	case *btf.Int:
		c := *t
		m.copies[t] = &c
		return &c
	case *btf.Float:
		c := *t
		m.copies[t] = &c
		return &c
	case *btf.Fwd:
		c := *t
		m.copies[t] = &c
		return &c
	case *btf.Enum:
		c := *t
		c.Values = slices.Clone(t.Values)
		m.copies[t] = &c
		return &c
	case *btf.Struct:
		c := &btf.Struct{Name: t.Name, Size: t.Size}
		m.copies[t] = c
		c.Members = m.copyMembers(t.Members, n)
		return c
	case *btf.Union:
		c := &btf.Union{Name: t.Name, Size: t.Size}
		m.copies[t] = c
		c.Members = m.copyMembers(t.Members, n)
		return c
	case *btf.Pointer:
		c := &btf.Pointer{Target: &btf.Void{}}
		m.copies[t] = c
		if n.pointee {
			c.Target = m.copy(t.Target)
		}
		return c
	case *btf.Typedef:
		c := &btf.Typedef{Name: t.Name}
		m.copies[t] = c
		c.Type = m.copy(t.Type)
		return c
	case *btf.Const:
		c := &btf.Const{}
		m.copies[t] = c
		c.Type = m.copy(t.Type)
		return c
	case *btf.Volatile:
		c := &btf.Volatile{}
		m.copies[t] = c
		c.Type = m.copy(t.Type)
		return c
	case *btf.Restrict:
		c := &btf.Restrict{}
		m.copies[t] = c
		c.Type = m.copy(t.Type)
		return c
	case *btf.TypeTag:
		c := &btf.TypeTag{Value: t.Value}
		m.copies[t] = c
		c.Type = m.copy(t.Type)
		return c
	case *btf.Array:
		c := &btf.Array{Nelems: t.Nelems}
		m.copies[t] = c
		c.Type = m.copy(t.Type)
		c.Index = m.copy(t.Index)
		return c
	case *btf.FuncProto:
		c := &btf.FuncProto{}
		m.copies[t] = c
		c.Return = m.copy(t.Return)
		for _, p := range t.Params {
			c.Params = append(c.Params, btf.FuncParam{Name: p.Name, Type: m.copy(p.Type)})
		}
		return c
	default:
		if m.err == nil {
			m.err = fmt.Errorf("minimize: unexpected %T %s", t, t.TypeName())
		}
		return &btf.Void{}
	}
}

func (m *minimizer) copyMembers(ms []btf.Member, n *need) []btf.Member {
	var out []btf.Member
	extra := n.minMembers - len(n.members)
	for i, mem := range ms {
		if !n.members[i] {
			if extra <= 0 {
				continue
			}
			extra-- // pad to the member count type_matches compares
		}
		out = append(out, btf.Member{Name: mem.Name, Type: m.copy(mem.Type), Offset: mem.Offset, BitfieldSize: mem.BitfieldSize})
	}
	return out
}

func isComposite(t btf.Type) bool {
	switch t.(type) {
	case *btf.Struct, *btf.Union:
		return true
	}
	return false
}

// hostOrder is binary.LittleEndian or binary.BigEndian (cilium/ebpf compares
// byte orders by identity, so binary.NativeEndian would not do).
func hostOrder() binary.ByteOrder {
	if binary.NativeEndian.Uint16([]byte{1, 0}) == 1 {
		return binary.LittleEndian
	}
	return binary.BigEndian
}
