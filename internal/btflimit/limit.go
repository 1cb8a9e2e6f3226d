package btflimit

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/cilium/ebpf/btf"
)

// Limits bound the BTF Check accepts. The defaults leave room for the largest
// real kernels: a 6.12 vmlinux has about 126k types in 5.5 MB, and no kernel
// type graph comes near the depth limit (see DefaultLimits).
type Limits struct {
	MaxBytes int // size of the raw BTF (or of the ELF holding it)
	MaxTypes int // number of type records
	MaxDepth int // longest chain of references the decoder may recurse along
}

// DefaultLimits: the decoder of cilium/ebpf v0.22.0 walks a 100k-deep chain
// and overflows Go's 1 GB stack on 300k (about 3.3 KB a level). Real kernel
// BTF is far from it: a 6.12 vmlinux's chains are bounded by about 3.7k.
var DefaultLimits = Limits{MaxBytes: 512 << 20, MaxTypes: 1 << 20, MaxDepth: 100_000}

// Sentinels, all wrapped by ErrRefused.
var (
	// ErrRefused is returned for BTF that Check will not hand to the decoder.
	ErrRefused = errors.New("BTF refused")
	// ErrMalformed: the header or a type record is cut short or inconsistent.
	ErrMalformed = fmt.Errorf("%w: malformed", ErrRefused)
	// ErrTooLarge: more bytes or types than Limits allow.
	ErrTooLarge = fmt.Errorf("%w: too large", ErrRefused)
	// ErrTooDeep: a reference chain longer than Limits.MaxDepth.
	ErrTooDeep = fmt.Errorf("%w: type graph too deep", ErrRefused)
	// ErrCycle: a cycle of references that passes through no pointer.
	ErrCycle = fmt.Errorf("%w: type cycle", ErrRefused)
)

// Load checks raw (raw BTF, or an ELF with a .BTF section) against
// DefaultLimits and then decodes it with cilium/ebpf.
func Load(raw []byte) (*btf.Spec, error) {
	if err := Check(raw, DefaultLimits); err != nil {
		return nil, err
	}
	return btf.LoadSpecFromReader(bytes.NewReader(raw))
}

// Check scans raw (raw BTF, or an ELF object or vmlinux with a .BTF
// section) and returns an error wrapping ErrRefused when it exceeds lim or
// holds an impossible cycle. It builds no Type values: its cost is linear in
// the size of the type section.
func Check(raw []byte, lim Limits) error {
	if len(raw) > lim.MaxBytes {
		return fmt.Errorf("%w: %d bytes (limit %d)", ErrTooLarge, len(raw), lim.MaxBytes)
	}
	if bytes.HasPrefix(raw, []byte(elf.ELFMAG)) {
		sec, err := elfBTF(raw)
		if err != nil || sec == nil {
			// No .BTF section: nothing for the decoder to recurse into,
			// and the ELF reader reports its own errors.
			return nil
		}
		raw = sec
	}
	g, err := parse(raw, lim)
	if err != nil {
		return err
	}
	_, err = g.check(lim)
	return err
}

func elfBTF(raw []byte) ([]byte, error) {
	f, err := elf.NewFile(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sec := f.Section(".BTF")
	if sec == nil || sec.Type == elf.SHT_NOBITS {
		return nil, nil
	}
	if sec.Size > uint64(len(raw)) {
		return nil, fmt.Errorf("%w: .BTF section larger than its file", ErrMalformed)
	}
	return io.ReadAll(io.LimitReader(sec.Open(), int64(sec.Size)))
}

// BTF kinds (include/uapi/linux/btf.h).
const (
	kindInt       = 1
	kindPtr       = 2
	kindArray     = 3
	kindStruct    = 4
	kindUnion     = 5
	kindEnum      = 6
	kindFwd       = 7
	kindTypedef   = 8
	kindVolatile  = 9
	kindConst     = 10
	kindRestrict  = 11
	kindFunc      = 12
	kindFuncProto = 13
	kindVar       = 14
	kindDatasec   = 15
	kindFloat     = 16
	kindDeclTag   = 17
	kindTypeTag   = 18
	kindEnum64    = 19
)

// edge is one reference from a type to another; viaPointer marks references
// through a pointer, the only legal way for a C type graph to loop.
type edge struct {
	to         uint32
	viaPointer bool
}

// graph holds the references of type IDs 1..n; edges of type i are
// edges[start[i-1]:start[i]].
type graph struct {
	n     int
	start []int
	edges []edge
}

func (g *graph) out(id int) []edge { return g.edges[g.start[id-1]:g.start[id]] }

// recordExtra is the size of what follows a type's 12-byte common
// record, by kind.
func recordExtra(kind, vlen int) int {
	switch kind {
	case kindInt, kindVar, kindDeclTag:
		return 4
	case kindArray:
		return 12
	case kindStruct, kindUnion, kindDatasec, kindEnum64:
		return 12 * vlen
	case kindEnum, kindFuncProto:
		return 8 * vlen
	}
	return 0
}

// sections returns raw BTF's byte order, type section and string section.
func sections(raw []byte) (binary.ByteOrder, []byte, []byte, error) {
	if len(raw) < 24 {
		return nil, nil, nil, fmt.Errorf("%w: %d bytes, shorter than a BTF header", ErrMalformed, len(raw))
	}
	var bo binary.ByteOrder = binary.LittleEndian
	switch {
	case raw[0] == 0x9f && raw[1] == 0xeb:
	case raw[0] == 0xeb && raw[1] == 0x9f:
		bo = binary.BigEndian
	default:
		return nil, nil, nil, fmt.Errorf("%w: no BTF magic", ErrMalformed)
	}
	hdrLen := bo.Uint32(raw[4:])
	typeOff, typeLen := bo.Uint32(raw[8:]), bo.Uint32(raw[12:])
	strOff, strLen := bo.Uint32(raw[16:]), bo.Uint32(raw[20:])
	if hdrLen < 24 || uint64(hdrLen) > uint64(len(raw)) ||
		uint64(hdrLen)+uint64(typeOff)+uint64(typeLen) > uint64(len(raw)) ||
		uint64(hdrLen)+uint64(strOff)+uint64(strLen) > uint64(len(raw)) {
		return nil, nil, nil, fmt.Errorf("%w: type or string section outside the data", ErrMalformed)
	}
	return bo, raw[hdrLen+typeOff : hdrLen+typeOff+typeLen], raw[hdrLen+strOff : hdrLen+strOff+strLen], nil
}

// FuncAndTypedefNames lists the names of the FUNC and TYPEDEF types of
// raw BTF straight from its records, without decoding the type graph: a
// vmlinux's 120k types take cilium/ebpf about 250 ms to decode, this a few.
// args gives, per FUNC and per typedef that names a pointer to a function
// prototype (the btf_trace_NAME of each raw tracepoint), that prototype's
// number of parameters; other typedefs are absent from it.
func FuncAndTypedefNames(raw []byte) (funcs, typedefs []string, args map[string]int, err error) {
	bo, types, strs, err := sections(raw)
	if err != nil {
		return nil, nil, nil, err
	}
	// Per type ID (from 1): its kind, the type it refers to and its vlen,
	// to follow typedef -> pointer -> prototype once every record is read.
	type rec struct {
		kind uint8
		vlen uint16
		ref  uint32
	}
	recs := []rec{{}}
	var typedefIDs, funcIDs []int
	for off := 0; off < len(types); {
		if len(types)-off < 12 {
			return nil, nil, nil, fmt.Errorf("%w: type record cut short", ErrMalformed)
		}
		nameOff, info, ref := bo.Uint32(types[off:]), bo.Uint32(types[off+4:]), bo.Uint32(types[off+8:])
		kind, vlen := int(info>>24&0x1f), int(info&0xffff)
		off += 12 + recordExtra(kind, vlen)
		if off > len(types) {
			return nil, nil, nil, fmt.Errorf("%w: type record cut short", ErrMalformed)
		}
		recs = append(recs, rec{uint8(kind), uint16(vlen), ref})
		if kind != kindFunc && kind != kindTypedef || int(nameOff) >= len(strs) {
			continue
		}
		name := strs[nameOff:]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		if kind == kindFunc {
			funcs = append(funcs, string(name))
			funcIDs = append(funcIDs, len(recs)-1)
		} else {
			typedefs = append(typedefs, string(name))
			typedefIDs = append(typedefIDs, len(recs)-1)
		}
	}
	args = map[string]int{}
	for i, id := range funcIDs {
		if proto := recs[id].ref; int(proto) < len(recs) && recs[proto].kind == kindFuncProto {
			args[funcs[i]] = int(recs[proto].vlen)
		}
	}
	for i, id := range typedefIDs {
		ptr := recs[id].ref
		if int(ptr) >= len(recs) || recs[ptr].kind != kindPtr {
			continue
		}
		proto := recs[ptr].ref
		if int(proto) >= len(recs) || recs[proto].kind != kindFuncProto {
			continue
		}
		args[typedefs[i]] = int(recs[proto].vlen)
	}
	return funcs, typedefs, args, nil
}

func parse(raw []byte, lim Limits) (*graph, error) {
	bo, types, _, err := sections(raw)
	if err != nil {
		return nil, err
	}
	g := &graph{start: []int{0}}
	for off := 0; off < len(types); {
		if len(types)-off < 12 {
			return nil, fmt.Errorf("%w: type %d cut short", ErrMalformed, g.n+1)
		}
		info, ref := bo.Uint32(types[off+4:]), bo.Uint32(types[off+8:])
		kind, vlen := int(info>>24&0x1f), int(info&0xffff)
		off += 12
		extra := recordExtra(kind, vlen)
		if len(types)-off < extra {
			return nil, fmt.Errorf("%w: type %d cut short", ErrMalformed, g.n+1)
		}
		body := types[off : off+extra]
		off += extra
		switch kind {
		case kindPtr:
			g.edges = append(g.edges, edge{ref, true})
		case kindTypedef, kindVolatile, kindConst, kindRestrict, kindFunc, kindVar, kindDeclTag, kindTypeTag:
			g.edges = append(g.edges, edge{ref, false})
		case kindFuncProto:
			g.edges = append(g.edges, edge{ref, false})
			for i := 0; i < vlen; i++ {
				g.edges = append(g.edges, edge{bo.Uint32(body[8*i+4:]), false})
			}
		case kindArray:
			g.edges = append(g.edges, edge{bo.Uint32(body), false}, edge{bo.Uint32(body[4:]), false})
		case kindStruct, kindUnion:
			for i := 0; i < vlen; i++ {
				g.edges = append(g.edges, edge{bo.Uint32(body[12*i+4:]), false})
			}
		case kindDatasec:
			for i := 0; i < vlen; i++ {
				g.edges = append(g.edges, edge{bo.Uint32(body[12*i:]), false})
			}
		}
		g.n++
		g.start = append(g.start, len(g.edges))
		if g.n > lim.MaxTypes {
			return nil, fmt.Errorf("%w: more than %d types", ErrTooLarge, lim.MaxTypes)
		}
	}
	return g, nil
}
