package objload

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"
)

// mutate returns strong.o with one field of one section header changed.
func mutate(t *testing.T, section string, edit func(raw []byte, hdr int, ef *elf.File)) []byte {
	t.Helper()
	raw, err := os.ReadFile("testdata/strong.o")
	if err != nil {
		t.Fatal(err)
	}
	ef, err := elf.NewFile(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	shoff := int(binary.LittleEndian.Uint64(raw[0x28:]))
	for i, s := range ef.Sections {
		if s.Name == section {
			edit(raw, shoff+i*64, ef)
			return raw
		}
	}
	t.Fatalf("strong.o has no section %s", section)
	return nil
}

// TestRefusesWhatLibbpfRefuses: objects libbpf will not open must not be
// analysed as loadable (they were reported COMPATIBLE).
func TestRefusesWhatLibbpfRefuses(t *testing.T) {
	relOffset := func(delta uint64) func(raw []byte, hdr int, ef *elf.File) {
		return func(raw []byte, hdr int, ef *elf.File) {
			data := int(binary.LittleEndian.Uint64(raw[hdr+24:])) // sh_offset
			off := binary.LittleEndian.Uint64(raw[data:])
			binary.LittleEndian.PutUint64(raw[data:], off+delta)
		}
	}
	for name, tc := range map[string]struct {
		raw  []byte
		want string
	}{
		"symtab entsize 0": {mutate(t, ".symtab", func(raw []byte, hdr int, _ *elf.File) {
			binary.LittleEndian.PutUint64(raw[hdr+56:], 0) // sh_entsize
		}), "entry size 0"},
		"relocation outside its section": {mutate(t, ".relsocket", relOffset(1<<20)), "outside socket"},
		"unaligned relocation":           {mutate(t, ".relsocket", relOffset(3)), "instruction boundary"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Read(tc.raw)
			if !errors.Is(err, ErrBadObject) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrBadObject mentioning %q", err, tc.want)
			}
		})
	}
	// The unmodified object reads.
	if _, err := ReadFile("testdata/strong.o"); err != nil {
		t.Fatal(err)
	}
}

func TestRefusesForeignByteOrder(t *testing.T) {
	_, err := ReadFile("testdata/strong_bpfeb.o")
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("big-endian host: the bpfeb object is native here")
	}
	if !errors.Is(err, ErrBadObject) || !strings.Contains(err.Error(), "big-endian object, this host is little-endian") {
		t.Fatalf("err = %v", err)
	}
}
