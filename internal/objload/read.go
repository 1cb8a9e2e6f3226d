package objload

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"

	"github.com/retrobpf/retrobpf/internal/btflimit"
	"github.com/retrobpf/retrobpf/internal/inputfile"
)

// Object is a BPF ELF object read for loading: its collection spec as
// cilium/ebpf reads it (weak symbols made global) and what Prepare needs to
// know about the ELF that the spec no longer says.
type Object struct {
	// Spec is the object's spec before Prepare: .kconfig and typed ksym
	// references are still unresolved. Analysis may use it as it is.
	Spec *ebpf.CollectionSpec
	// weak holds the names of the symbols that were STB_WEAK.
	weak map[string]bool
	// typedKsyms holds the __ksym variables that had a type (not void).
	typedKsyms map[string]bool
}

// Weak reports whether the object declared name (a map, extern or
// function) __weak.
func (o *Object) Weak(name string) bool { return o.weak[name] }

// ReadFile reads the object at path. It must be a regular file of at most
// inputfile.MaxObject bytes. Errors name the file.
func ReadFile(path string) (*Object, error) {
	raw, err := inputfile.Read(path, inputfile.MaxObject)
	if err != nil {
		return nil, err // names the file
	}
	o, err := Read(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return o, nil
}

// ReadAt reads an object of size bytes from r.
func ReadAt(r io.ReaderAt, size int64) (*Object, error) {
	if size > inputfile.MaxObject {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", inputfile.ErrTooLarge, size, int64(inputfile.MaxObject))
	}
	raw := make([]byte, size)
	if _, err := r.ReadAt(raw, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return Read(raw)
}

// Read reads an object held in memory. raw is modified: weak symbols are
// rewritten to global.
func Read(raw []byte) (_ *Object, err error) {
	if len(raw) > inputfile.MaxObject {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", inputfile.ErrTooLarge, len(raw), int64(inputfile.MaxObject))
	}
	if !bytes.HasPrefix(raw, []byte(elf.ELFMAG)) {
		return nil, fmt.Errorf("%w: not an ELF file", ErrBadObject)
	}
	if err := checkSections(raw); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadObject, err)
	}
	// cilium/ebpf recurses along BTF reference chains; a hostile object
	// must be refused before it decodes them.
	if err := btflimit.Check(raw, btflimit.DefaultLimits); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadObject, err)
	}
	// Neither decoder may take the process down on hostile input.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: loader panic: %v", ErrBadObject, p)
		}
	}()
	typed, err := untypeKsyms(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadObject, err)
	}
	weak, hidden, err := globalizeWeak(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadObject, err)
	}
	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadObject, err)
	}
	staticHidden(spec, hidden)
	return &Object{Spec: spec, weak: weak, typedKsyms: typed}, nil
}

// maxNoBits bounds zero-filled sections such as .bss, which cilium/ebpf
// allocates up front; no kernel creates a map value anywhere near this big
// (KMALLOC_MAX_SIZE).
const maxNoBits = 64 << 20

// checkSections refuses what would make the decoders read past the file
// or allocate what the file only claims.
func checkSections(raw []byte) error {
	ef, err := elf.NewFile(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	defer ef.Close()
	if objLE, hostLE := ef.Data == elf.ELFDATA2LSB, binary.NativeEndian.Uint16([]byte{1, 0}) == 1; objLE != hostLE {
		// cilium/ebpf would read it and the kernel refuse every program.
		return fmt.Errorf("%s object, this host is %s: only a kernel of the object's byte order can load it", endianness(objLE), endianness(hostLE))
	}
	for _, s := range ef.Sections {
		if s.Type != elf.SHT_NOBITS && s.Offset+s.FileSize > uint64(len(raw)) {
			return fmt.Errorf("section %s extends past the end of the file", s.Name)
		}
		if s.Type == elf.SHT_NOBITS && s.Size > maxNoBits {
			return fmt.Errorf("section %s claims %d bytes", s.Name, s.Size)
		}
		// libbpf refuses a symbol table whose entries are not Elf64_Sym.
		if s.Type == elf.SHT_SYMTAB && s.Entsize != elf.Sym64Size {
			return fmt.Errorf("section %s: entry size %d, want %d", s.Name, s.Entsize, elf.Sym64Size)
		}
		if s.Type == elf.SHT_REL {
			if err := checkRelocations(ef, s); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkRelocations refuses what libbpf refuses in a program section's
// relocations ("bad relo offset"): an offset outside the section, or one
// that is not at an instruction boundary. Debug sections are not checked:
// libbpf ignores their relocations.
func checkRelocations(ef *elf.File, rel *elf.Section) error {
	if int(rel.Info) >= len(ef.Sections) {
		return fmt.Errorf("section %s relocates section %d, which does not exist", rel.Name, rel.Info)
	}
	target := ef.Sections[rel.Info]
	if target.Flags&elf.SHF_EXECINSTR == 0 {
		return nil
	}
	const relSize = 16 // Elf64_Rel
	if rel.Entsize != relSize {
		return fmt.Errorf("section %s: entry size %d, want %d", rel.Name, rel.Entsize, relSize)
	}
	data, err := rel.Data()
	if err != nil {
		return fmt.Errorf("section %s: %w", rel.Name, err)
	}
	for i := 0; i+relSize <= len(data); i += relSize {
		off := ef.ByteOrder.Uint64(data[i:])
		switch {
		case off >= target.Size:
			return fmt.Errorf("section %s: relocation %d at offset %d is outside %s (%d bytes)", rel.Name, i/relSize, off, target.Name, target.Size)
		case off%asm.InstructionSize != 0:
			return fmt.Errorf("section %s: relocation %d at offset %d is not at an instruction boundary of %s", rel.Name, i/relSize, off, target.Name)
		}
	}
	return nil
}

func endianness(little bool) string {
	if little {
		return "little-endian"
	}
	return "big-endian"
}

// globalizeWeak rewrites the binding of STB_WEAK symbols to STB_GLOBAL in
// raw and returns their names. Within one object a weak definition is just
// a definition (weakness matters only to the static linker), so libbpf
// treats weak maps, functions and variables as global. Undefined weak
// symbols are externs: weak __kconfig ones are made global too (Prepare
// zeroes them when absent), but weak __ksym variables and kfuncs keep their
// binding because cilium/ebpf already treats those as optional.
//
// It also writes each .kconfig extern's offset into the loads that name it,
// as libbpf does (insn[1].imm): cilium/ebpf keeps that offset only in
// metadata of its own, and Prepare has to rebuild those instructions.
//
// It returns the names of __hidden functions too (see staticHidden).
func globalizeWeak(raw []byte) (weak, hidden map[string]bool, err error) {
	ef, err := elf.NewFile(bytes.NewReader(raw))
	if err != nil {
		return nil, nil, err
	}
	defer ef.Close()
	if ef.Class != elf.ELFCLASS64 {
		return nil, nil, nil // cilium/ebpf reports its own error
	}
	syms, err := ef.Symbols()
	if errors.Is(err, elf.ErrNoSymbols) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	var symtab *elf.Section
	for _, s := range ef.Sections {
		if s.Type == elf.SHT_SYMTAB {
			symtab = s
			break
		}
	}
	const entSize = 24 // sizeof(Elf64_Sym); st_info is its byte 4
	if symtab == nil || symtab.Offset+symtab.Size > uint64(len(raw)) {
		return nil, nil, nil
	}
	var ext *externs
	weak, hidden = map[string]bool{}, map[string]bool{}
	for i, sym := range syms {
		if elf.ST_TYPE(sym.Info) == elf.STT_FUNC && elf.ST_VISIBILITY(sym.Other) == elf.STV_HIDDEN {
			hidden[sym.Name] = true
		}
		if sym.Section == elf.SHN_UNDEF && ext == nil {
			if ext, err = readExterns(raw); err != nil {
				return nil, nil, err
			}
		}
		if elf.ST_BIND(sym.Info) != elf.STB_WEAK {
			continue
		}
		off := symtab.Offset + uint64(i+1)*entSize + 4 // Symbols() skips entry 0
		if off >= symtab.Offset+symtab.Size {
			break
		}
		weak[sym.Name] = true
		if sym.Section == elf.SHN_UNDEF && ext.ksyms[sym.Name] {
			continue
		}
		raw[off] = byte(elf.ST_INFO(elf.STB_GLOBAL, elf.ST_TYPE(sym.Info)))
	}
	if ext != nil && len(ext.kconfig) > 0 {
		if err := writeKconfigOffsets(ef, raw, syms, ext.kconfig); err != nil {
			return nil, nil, err
		}
	}
	return weak, hidden, nil
}

// writeKconfigOffsets stores, in every ld_imm64 relocated against a
// .kconfig extern, the extern's offset in the second half's imm.
func writeKconfigOffsets(ef *elf.File, raw []byte, syms []elf.Symbol, offsets map[string]uint32) error {
	for _, rs := range ef.Sections {
		if rs.Type != elf.SHT_REL || int(rs.Info) >= len(ef.Sections) {
			continue
		}
		target := ef.Sections[rs.Info]
		if target.Type != elf.SHT_PROGBITS || target.Flags&elf.SHF_EXECINSTR == 0 {
			continue
		}
		if rs.Offset+rs.Size > uint64(len(raw)) || target.Offset+target.Size > uint64(len(raw)) {
			return fmt.Errorf("section %s extends past the end of the file", rs.Name)
		}
		const relSize = 16 // sizeof(Elf64_Rel)
		for r := rs.Offset; r+relSize <= rs.Offset+rs.Size; r += relSize {
			at := ef.ByteOrder.Uint64(raw[r:])
			idx := elf.R_SYM64(ef.ByteOrder.Uint64(raw[r+8:]))
			if idx == 0 || int(idx) > len(syms) {
				continue
			}
			sym := syms[idx-1]
			off, ok := offsets[sym.Name]
			if !ok || sym.Section != elf.SHN_UNDEF {
				continue
			}
			if at%8 != 0 || at+16 > target.Size {
				continue // cilium/ebpf reports bad relocation offsets
			}
			ef.ByteOrder.PutUint32(raw[target.Offset+at+12:], off)
		}
	}
	return nil
}

// externs are the names in the object's .ksyms datasec (ksym variables and
// kfuncs) and the offsets of those in its .kconfig datasec.
type externs struct {
	ksyms   map[string]bool
	kconfig map[string]uint32
}

func readExterns(raw []byte) (*externs, error) {
	out := &externs{ksyms: map[string]bool{}, kconfig: map[string]uint32{}}
	spec, err := btf.LoadSpecFromReader(bytes.NewReader(raw))
	if errors.Is(err, btf.ErrNotFound) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	var ds *btf.Datasec
	if err := spec.TypeByName(".ksyms", &ds); err == nil {
		for _, v := range ds.Vars {
			out.ksyms[v.Type.TypeName()] = true
		}
	}
	if err := spec.TypeByName(".kconfig", &ds); err == nil {
		for _, v := range ds.Vars {
			out.kconfig[v.Type.TypeName()] = v.Offset
		}
	}
	return out, nil
}

// staticHidden gives __hidden global functions static linkage in BTF, as
// libbpf does (mark_btf_static): the kernel verifies a global function on
// its own, from its BTF signature alone, so usdt.bpf.h's bpf_usdt_arg(ctx,
// n, long *res) would be refused for writing through a pointer that might
// be NULL; a static one is verified in its caller's context.
func staticHidden(spec *ebpf.CollectionSpec, hidden map[string]bool) {
	if len(hidden) == 0 {
		return
	}
	for _, ps := range spec.Programs {
		for i := range ps.Instructions {
			ins := &ps.Instructions[i]
			fn := btf.FuncMetadata(ins)
			if fn == nil || fn.Linkage != btf.GlobalFunc || !hidden[fn.Name] {
				continue
			}
			static := *fn
			static.Linkage = btf.StaticFunc
			*ins = btf.WithFuncMetadata(*ins, &static)
		}
	}
}
