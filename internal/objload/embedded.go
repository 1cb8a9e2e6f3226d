package objload

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
)

// Embedded returns the BPF ELF objects embedded in a binary, as libbpf
// skeletons embed them (bpftool gen skeleton): every "\x7fELF" header of a
// little-endian 64-bit EM_BPF file, cut at the end of its section header
// table, that debug/elf can parse.
func Embedded(bin []byte) [][]byte {
	var out [][]byte
	for i := 0; ; {
		j := bytes.Index(bin[i:], []byte(elf.ELFMAG))
		if j < 0 {
			return out
		}
		start := i + j
		i = start + 1
		h := bin[start:]
		if len(h) < 64 || h[elf.EI_CLASS] != byte(elf.ELFCLASS64) || h[elf.EI_DATA] != byte(elf.ELFDATA2LSB) {
			continue
		}
		le := binary.LittleEndian
		if elf.Machine(le.Uint16(h[18:])) != elf.EM_BPF {
			continue
		}
		end := le.Uint64(h[0x28:]) + uint64(le.Uint16(h[0x3a:]))*uint64(le.Uint16(h[0x3c:]))
		if end > uint64(len(h)) || end < 64 {
			continue
		}
		obj := h[:end]
		if _, err := elf.NewFile(bytes.NewReader(obj)); err != nil {
			continue
		}
		out = append(out, bytes.Clone(obj))
		i = start + int(end)
	}
}
