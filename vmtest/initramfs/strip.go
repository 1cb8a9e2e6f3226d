package initramfs

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"os"
)

// Stripped returns the contents of the ELF executable at path as the
// initramfs holds it (see stripped).
func Stripped(path string) ([]byte, error) {
	r, n, err := stripped(path)
	if err != nil {
		return nil, err
	}
	b := make([]byte, n)
	_, err = io.ReadFull(r, b)
	return b, err
}

// stripped returns the agent as the guest needs it: only the bytes its
// loadable segments cover, with the section header table dropped. Debug
// information and symbol tables (a third of a Go binary) are never mapped
// by the kernel, so leaving them out shrinks what the guest must unpack
// without changing what runs. Non-ELF64 input is returned unchanged.
func stripped(path string) (io.Reader, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	ef, err := elf.NewFile(f)
	if err != nil {
		return nil, 0, fmt.Errorf("agent %s: %w", path, err)
	}
	var end uint64
	for _, p := range ef.Progs {
		if p.Type == elf.PT_LOAD || p.Type == elf.PT_NOTE || p.Type == elf.PT_PHDR {
			end = max(end, p.Off+p.Filesz)
		}
	}
	if ef.Class != elf.ELFCLASS64 || ef.Data != elf.ELFDATA2LSB || end == 0 {
		b, err := os.ReadFile(path)
		return bytes.NewReader(b), int64(len(b)), err
	}
	b := make([]byte, end)
	if _, err := f.ReadAt(b, 0); err != nil {
		return nil, 0, fmt.Errorf("agent %s: %w", path, err)
	}
	// e_shoff, e_shnum, e_shstrndx of an ELF64 header.
	binary.LittleEndian.PutUint64(b[0x28:], 0)
	binary.LittleEndian.PutUint16(b[0x3c:], 0)
	binary.LittleEndian.PutUint16(b[0x3e:], 0)
	return bytes.NewReader(b), int64(len(b)), nil
}
