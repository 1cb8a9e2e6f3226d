package objload

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
)

// ErrBadSetting is returned for a loader setting the object cannot take:
// a variable or map it does not have, a value that does not parse or does
// not fit the variable's type. The message names the setting.
var ErrBadSetting = errors.New("bad loader setting")

// Settings are what a real loader sets on an object before loading it:
// initial values of global variables (libbpf's skel->rodata->x = ...,
// veristat -G) and map sizes (bpf_map__set_max_entries /
// set_value_size: ring and perf buffer sizes, stack-trace value sizes).
type Settings struct {
	// Variables maps a global variable of .rodata, .data or .bss (and
	// their .name suffixes) to its value as text, typed from its BTF:
	// integers (decimal, 0x, negative for signed types), true/false for
	// bools, an enumerator's name or number, a string for a char array.
	Variables map[string]string `json:"variables,omitempty"`
	// Maps maps a map's name to the sizes to give it.
	Maps map[string]MapSize `json:"maps,omitempty"`
}

// MapSize overrides a map's sizes; zero keeps the object's.
type MapSize struct {
	MaxEntries uint32 `json:"max_entries,omitempty"`
	ValueSize  uint32 `json:"value_size,omitempty"`
}

// IsZero reports whether s sets nothing.
func (s Settings) IsZero() bool { return len(s.Variables) == 0 && len(s.Maps) == 0 }

// Merge returns s with o's entries added, o winning where both set one.
func (s Settings) Merge(o Settings) Settings {
	out := Settings{Variables: map[string]string{}, Maps: map[string]MapSize{}}
	for _, src := range []Settings{s, o} {
		for k, v := range src.Variables {
			out.Variables[k] = v
		}
		for k, v := range src.Maps {
			out.Maps[k] = v
		}
	}
	return out
}

// Key is a canonical text of s, for caches keyed by what was set.
func (s Settings) Key() string {
	var b strings.Builder
	for _, k := range sortedKeys(s.Variables) {
		fmt.Fprintf(&b, "%q=%q;", k, s.Variables[k])
	}
	for _, k := range sortedKeys(s.Maps) {
		fmt.Fprintf(&b, "%q:%d/%d;", k, s.Maps[k].MaxEntries, s.Maps[k].ValueSize)
	}
	return b.String()
}

// Only returns the part of s that spec has a variable or map for, and
// records each name it keeps in found (when not nil): a command-line
// --set applies to every object that has the name.
func (s Settings) Only(spec *ebpf.CollectionSpec, found map[string]bool) Settings {
	out := Settings{Variables: map[string]string{}, Maps: map[string]MapSize{}}
	for k, v := range s.Variables {
		if spec.Variables[k] != nil {
			out.Variables[k] = v
			if found != nil {
				found[k] = true
			}
		}
	}
	for k, v := range s.Maps {
		if spec.Maps[k] != nil {
			out.Maps[k] = v
			if found != nil {
				found[k] = true
			}
		}
	}
	return out
}

// ParseAssignment reads NAME=VALUE, the --set syntax.
func ParseAssignment(s string) (name, value string, err error) {
	name, value, ok := strings.Cut(s, "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return "", "", fmt.Errorf("%w: %q: want NAME=VALUE", ErrBadSetting, s)
	}
	return name, value, nil
}

// Apply writes s into spec, in sorted order so the first error reported
// is the same every time.
func (s Settings) Apply(spec *ebpf.CollectionSpec) error {
	for _, name := range sortedKeys(s.Variables) {
		if err := setVariable(spec, name, s.Variables[name]); err != nil {
			return err
		}
	}
	for _, name := range sortedKeys(s.Maps) {
		m := spec.Maps[name]
		if m == nil {
			return fmt.Errorf("%w: no map %q in the object", ErrBadSetting, name)
		}
		size := s.Maps[name]
		if size.MaxEntries != 0 {
			m.MaxEntries = size.MaxEntries
		}
		if size.ValueSize != 0 {
			if strings.HasPrefix(name, ".") {
				return fmt.Errorf("%w: map %s: the value size of a global data section is its variables'", ErrBadSetting, name)
			}
			m.ValueSize = size.ValueSize
			m.Value = nil // the BTF value type no longer describes it
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func setVariable(spec *ebpf.CollectionSpec, name, text string) error {
	v := spec.Variables[name]
	if v == nil {
		return fmt.Errorf("%w: no global variable %q in the object (static and hidden variables cannot be set)", ErrBadSetting, name)
	}
	if v.Type == nil {
		return fmt.Errorf("%w: variable %s has no BTF type to read %q by", ErrBadSetting, name, text)
	}
	size := int(v.Size())
	buf, err := encodeValue(v.Type.Type, size, text)
	if err != nil {
		return fmt.Errorf("%w: %s=%s: %v", ErrBadSetting, name, text, err)
	}
	v.Value = buf
	return nil
}

// encodeValue renders text as the bytes of a value of type t (little
// endian: BPF objects here are bpfel), size bytes long.
func encodeValue(t btf.Type, size int, text string) ([]byte, error) {
	t = btf.UnderlyingType(t) // through typedefs, const and volatile
	buf := make([]byte, size)
	switch t := t.(type) {
	case *btf.Int:
		if t.Encoding&btf.Bool != 0 {
			b, err := strconv.ParseBool(text)
			if err != nil {
				return nil, fmt.Errorf("want true or false for a bool")
			}
			if b {
				buf[0] = 1
			}
			return buf, nil
		}
		return putInteger(buf, text, t.Encoding&btf.Signed != 0)
	case *btf.Enum:
		for _, ev := range t.Values {
			if ev.Name == text {
				return putInteger(buf, strconv.FormatUint(ev.Value, 10), false)
			}
		}
		if _, err := strconv.ParseInt(text, 0, 64); err != nil {
			names := make([]string, len(t.Values))
			for i, ev := range t.Values {
				names[i] = ev.Name
			}
			return nil, fmt.Errorf("want one of %s or a number", strings.Join(names, ", "))
		}
		return putInteger(buf, text, t.Signed)
	case *btf.Array:
		if i, ok := btf.UnderlyingType(t.Type).(*btf.Int); ok && i.Size == 1 {
			if len(text) >= size {
				return nil, fmt.Errorf("a string of %d bytes does not fit a char[%d] with its NUL", len(text), size)
			}
			copy(buf, text)
			return buf, nil
		}
	}
	return nil, fmt.Errorf("a %s cannot be set from text (integers, bools, enums and char arrays can)", t)
}

func putInteger(buf []byte, text string, signed bool) ([]byte, error) {
	n := len(buf)
	if n == 0 || n > 8 {
		return nil, fmt.Errorf("an integer of %d bytes", n)
	}
	bits := 8 * n
	var u uint64
	if signed {
		v, err := strconv.ParseInt(text, 0, bits)
		if err != nil {
			return nil, fmt.Errorf("want a signed %d-bit integer", bits)
		}
		u = uint64(v)
	} else {
		v, err := strconv.ParseUint(text, 0, bits)
		if err != nil {
			return nil, fmt.Errorf("want an unsigned %d-bit integer (0 to %d)", bits, uint64(math.MaxUint64)>>(64-bits))
		}
		u = v
	}
	for i := range buf {
		buf[i] = byte(u >> (8 * i))
	}
	return buf, nil
}
