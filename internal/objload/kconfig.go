package objload

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/cilium/ebpf/btf"
)

// kcfgKind is libbpf's enum kcfg_type: what an extern's type can hold.
type kcfgKind int

const (
	kcfgUnknown kcfgKind = iota
	kcfgChar
	kcfgBool
	kcfgInt
	kcfgTristate
	kcfgCharArray
)

// libbpf's enum libbpf_tristate (bpf_helpers.h).
const (
	triNo     = 0
	triYes    = 1
	triModule = 2
)

// kcfgExtern is one variable of the .kconfig datasec.
type kcfgExtern struct {
	name   string
	kind   kcfgKind
	signed bool
	offset uint32
	size   uint32
	weak   bool
	set    bool
}

// kcfgKindOf mirrors libbpf's find_kcfg_type: typedefs and qualifiers are
// looked through, so __u32, const bool and enum libbpf_tristate all work.
func kcfgKindOf(t btf.Type) (kcfgKind, bool) {
	switch t := btf.UnderlyingType(t).(type) {
	case *btf.Int:
		if t.Encoding&btf.Bool != 0 {
			if t.Size == 1 {
				return kcfgBool, false
			}
			return kcfgUnknown, false
		}
		signed := t.Encoding&btf.Signed != 0
		switch t.Size {
		case 1:
			return kcfgChar, signed
		case 2, 4, 8:
			return kcfgInt, signed
		}
	case *btf.Enum:
		if t.Name == "libbpf_tristate" && (t.Size == 4 || t.Size == 8) {
			return kcfgTristate, false
		}
	case *btf.Array:
		if k, _ := kcfgKindOf(t.Type); k == kcfgChar && t.Nelems > 0 {
			return kcfgCharArray, false
		}
	}
	return kcfgUnknown, false
}

// setValue stores a Kconfig value ("y", "m", "n", a quoted string or a
// number) for e into data, as libbpf's bpf_object__process_kconfig_line.
func (e *kcfgExtern) setValue(data []byte, bo binary.ByteOrder, value string) error {
	if value == "" {
		return fmt.Errorf("%w: %s: empty value", ErrBadValue, e.name)
	}
	switch value[0] {
	case 'y', 'n', 'm':
		if len(value) == 1 {
			return e.setTristate(data, bo, value[0])
		}
	case '"':
		return e.setString(data, value)
	}
	n, err := strconv.ParseUint(value, 0, 64)
	if err != nil {
		i, ierr := strconv.ParseInt(value, 0, 64)
		if ierr != nil {
			return fmt.Errorf("%w: %s: %q is not y, m, n, a string or an integer", ErrBadValue, e.name, value)
		}
		n = uint64(i)
	}
	return e.setNumber(data, bo, n)
}

func (e *kcfgExtern) setTristate(data []byte, bo binary.ByteOrder, v byte) error {
	val := data[e.offset : e.offset+e.size]
	switch e.kind {
	case kcfgBool:
		if v == 'm' {
			return fmt.Errorf("%w: %s is a bool, the target has it =m", ErrBadValue, e.name)
		}
		val[0] = b2u8(v == 'y')
	case kcfgTristate:
		t := map[byte]uint64{'y': triYes, 'n': triNo, 'm': triModule}[v]
		putUint(val, bo, t)
	case kcfgChar:
		val[0] = v
	default:
		return fmt.Errorf("%w: %s: value %q needs a bool, tristate or char", ErrBadValue, e.name, v)
	}
	e.set = true
	return nil
}

func (e *kcfgExtern) setString(data []byte, value string) error {
	if e.kind != kcfgCharArray {
		return fmt.Errorf("%w: %s: string value %s needs a char array", ErrBadValue, e.name, value)
	}
	if len(value) < 2 || value[len(value)-1] != '"' {
		return fmt.Errorf("%w: %s: unterminated string %s", ErrBadValue, e.name, value)
	}
	s := value[1 : len(value)-1]
	val := data[e.offset : e.offset+e.size]
	// libbpf truncates to the array and always terminates it.
	n := copy(val[:len(val)-1], s)
	clear(val[n:])
	e.set = true
	return nil
}

func (e *kcfgExtern) setNumber(data []byte, bo binary.ByteOrder, v uint64) error {
	if e.kind != kcfgInt && e.kind != kcfgChar && e.kind != kcfgBool {
		return fmt.Errorf("%w: %s: integer value %d needs an integer, char or bool", ErrBadValue, e.name, v)
	}
	if e.kind == kcfgBool && v > 1 {
		return fmt.Errorf("%w: %s: %d is not a bool", ErrBadValue, e.name, v)
	}
	if !e.inRange(v) {
		return fmt.Errorf("%w: %s: %d does not fit in %d bytes", ErrBadValue, e.name, v, e.size)
	}
	putUint(data[e.offset:e.offset+e.size], bo, v)
	e.set = true
	return nil
}

// inRange is libbpf's is_kcfg_value_in_range.
func (e *kcfgExtern) inRange(v uint64) bool {
	bits := e.size * 8
	if bits >= 64 {
		return true
	}
	if e.signed {
		return v+(1<<(bits-1)) < 1<<bits
	}
	return v>>bits == 0
}

func putUint(b []byte, bo binary.ByteOrder, v uint64) {
	switch len(b) {
	case 1:
		b[0] = byte(v)
	case 2:
		bo.PutUint16(b, uint16(v))
	case 4:
		bo.PutUint32(b, uint32(v))
	case 8:
		bo.PutUint64(b, v)
	}
}

func b2u8(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// parseConfig reads a Kconfig .config: CONFIG_X=value lines; "# CONFIG_X
// is not set" and other comments leave X absent, as for libbpf.
func parseConfig(text string) map[string]string {
	out := map[string]string{}
	for line := range strings.Lines(text) {
		line = strings.TrimRight(line, "\r\n")
		if !strings.HasPrefix(line, "CONFIG_") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || v == "" {
			continue
		}
		out[k] = v
	}
	return out
}
