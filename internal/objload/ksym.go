package objload

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
)

// BTF kinds used here (include/uapi/linux/btf.h).
const (
	btfKindInt       = 1
	btfKindArray     = 3
	btfKindStruct    = 4
	btfKindUnion     = 5
	btfKindEnum      = 6
	btfKindTypedef   = 8
	btfKindVolatile  = 9
	btfKindConst     = 10
	btfKindRestrict  = 11
	btfKindFuncProto = 13
	btfKindVar       = 14
	btfKindDatasec   = 15
	btfKindDeclTag   = 17
	btfKindTypeTag   = 18
	btfKindEnum64    = 19
)

// untypeKsyms rewrites, in raw's .BTF section, the type of every .ksyms
// variable to void and returns the names of those that had a real type.
// cilium/ebpf v0.22.0 refuses typed ksyms outright ("expected runqueues
// to be *Void"); with void it reads them as untyped ksyms, and Prepare
// then resolves the typed ones to their kernel BTF ID as libbpf does.
func untypeKsyms(raw []byte) (map[string]bool, error) {
	ef, err := elf.NewFile(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	defer ef.Close()
	sec := ef.Section(".BTF")
	if sec == nil || sec.Type == elf.SHT_NOBITS || sec.Offset+sec.Size > uint64(len(raw)) {
		return nil, nil
	}
	b := raw[sec.Offset : sec.Offset+sec.Size]
	if len(b) < 24 {
		return nil, nil
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if bo.Uint16(b) != 0xeb9f {
		bo = binary.BigEndian
	}
	hdr := uint64(bo.Uint32(b[4:]))
	typeOff, typeLen := hdr+uint64(bo.Uint32(b[8:])), uint64(bo.Uint32(b[12:]))
	strOff, strLen := hdr+uint64(bo.Uint32(b[16:])), uint64(bo.Uint32(b[20:]))
	if typeOff+typeLen > uint64(len(b)) || strOff+strLen > uint64(len(b)) {
		return nil, nil // btflimit and cilium/ebpf report it
	}
	types, strs := b[typeOff:typeOff+typeLen], b[strOff:strOff+strLen]
	name := func(off uint32) string {
		if uint64(off) >= uint64(len(strs)) {
			return ""
		}
		s := strs[off:]
		if i := bytes.IndexByte(s, 0); i >= 0 {
			s = s[:i]
		}
		return string(s)
	}

	// pos[id] is where type id's record starts in types.
	pos := []int{0} // id 0 is void
	for p := 0; p+12 <= len(types); {
		pos = append(pos, p)
		info := bo.Uint32(types[p+4:])
		kind, vlen := int(info>>24&0x1f), int(info&0xffff)
		p += 12
		switch kind {
		case btfKindInt, btfKindVar, btfKindDeclTag:
			p += 4
		case btfKindArray:
			p += 12
		case btfKindStruct, btfKindUnion, btfKindDatasec, btfKindEnum64:
			p += 12 * vlen
		case btfKindEnum, btfKindFuncProto:
			p += 8 * vlen
		}
	}
	kindOf := func(id uint32) int {
		if id == 0 || int(id) >= len(pos) {
			return 0
		}
		return int(bo.Uint32(types[pos[id]+4:]) >> 24 & 0x1f)
	}
	typeOf := func(id uint32) uint32 { return bo.Uint32(types[pos[id]+8:]) }

	typed := map[string]bool{}
	for id := 1; id < len(pos); id++ {
		p := pos[id]
		if kindOf(uint32(id)) != btfKindDatasec || name(bo.Uint32(types[p:])) != ".ksyms" {
			continue
		}
		vlen := int(bo.Uint32(types[p+4:]) & 0xffff)
		if p+12+12*vlen > len(types) {
			return nil, fmt.Errorf(".BTF: .ksyms datasec cut short")
		}
		for i := range vlen {
			v := bo.Uint32(types[p+12+12*i:])
			if kindOf(v) != btfKindVar {
				continue // a kfunc
			}
			t := typeOf(v)
			// Qualifiers and typedefs over void are still untyped.
			u, hops := t, 0
			for hops < 32 && isModifier(kindOf(u)) {
				u, hops = typeOf(u), hops+1
			}
			if u != 0 {
				typed[name(bo.Uint32(types[pos[v]:]))] = true
			}
			if t != 0 {
				bo.PutUint32(types[pos[v]+8:], 0)
			}
		}
	}
	return typed, nil
}

func isModifier(kind int) bool {
	switch kind {
	case btfKindTypedef, btfKindVolatile, btfKindConst, btfKindRestrict, btfKindTypeTag:
		return true
	}
	return false
}
