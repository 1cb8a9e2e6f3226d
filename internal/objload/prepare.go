package objload

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
)

// KconfigMap is the name of the map Prepare adds for .kconfig externs,
// the name cilium/ebpf and libbpf give it (and freeze it by).
const KconfigMap = ".kconfig"

// bpfPseudoBTFID is BPF_PSEUDO_BTF_ID: an ld_imm64 of a kernel variable by
// its BTF ID (asm has no name for it).
const bpfPseudoBTFID = asm.R3

// Load reads the object at path and prepares it for the target.
func Load(path string, opts Options) (*ebpf.CollectionSpec, error) {
	o, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	spec, err := o.Prepare(opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return spec, nil
}

// Prepare returns a copy of the object's spec with its .kconfig externs
// resolved for the target (in a map named KconfigMap that programs
// reference) and its typed __ksym variables resolved against the target's
// BTF. Absent weak externs are zero; an absent non-weak one is an error
// wrapping ErrUnresolved that names it.
func (o *Object) Prepare(opts Options) (*ebpf.CollectionSpec, error) {
	spec := o.Spec.Copy()
	if err := o.prepareKconfig(spec, &opts); err != nil {
		return nil, err
	}
	if err := o.prepareKsyms(spec, opts); err != nil {
		return nil, err
	}
	return spec, nil
}

// AnalysisSpec returns a copy of Spec laid out as Prepare lays it out for
// any target: programs read .kconfig externs from a map named KconfigMap
// (its contents zero), so static analysis sees the global data they need.
// Typed ksyms still name the kernel variable.
func (o *Object) AnalysisSpec() *ebpf.CollectionSpec {
	spec := o.Spec.Copy()
	if err := o.prepareKconfig(spec, nil); err != nil {
		return o.Spec.Copy() // Prepare reports the problem at load
	}
	return spec
}

// Kconfig returns the .kconfig values Prepare would give the target, by
// extern name, as the bytes the program reads.
func (o *Object) Kconfig(opts Options) (map[string][]byte, error) {
	ds, externs, err := o.kconfigExterns()
	if ds == nil || err != nil {
		return nil, err
	}
	data, err := o.kconfigData(ds, externs, opts)
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, e := range externs {
		out[e.name] = data[e.offset : e.offset+e.size]
	}
	return out, nil
}

func (o *Object) kconfigExterns() (*btf.Datasec, []*kcfgExtern, error) {
	if o.Spec.Types == nil {
		return nil, nil, nil
	}
	var ds *btf.Datasec
	if err := o.Spec.Types.TypeByName(".kconfig", &ds); err != nil {
		if errors.Is(err, btf.ErrNotFound) {
			return nil, nil, nil
		}
		return nil, nil, err
	}
	var externs []*kcfgExtern
	for _, vsi := range ds.Vars {
		v, ok := vsi.Type.(*btf.Var)
		if !ok {
			continue
		}
		kind, signed := kcfgKindOf(v.Type)
		if kind == kcfgUnknown {
			return nil, nil, fmt.Errorf("%w: %s: __kconfig of type %s", ErrUnsupportedExtern, v.Name, v.Type)
		}
		if vsi.Offset+vsi.Size > ds.Size {
			return nil, nil, fmt.Errorf("%w: .kconfig: %s lies past the section", ErrBadObject, v.Name)
		}
		externs = append(externs, &kcfgExtern{name: v.Name, kind: kind, signed: signed, offset: vsi.Offset, size: vsi.Size, weak: o.weak[v.Name]})
	}
	return ds, externs, nil
}

// kconfigData is libbpf's bpf_object__resolve_externs for EXT_KCFG.
func (o *Object) kconfigData(ds *btf.Datasec, externs []*kcfgExtern, opts Options) ([]byte, error) {
	bo := o.Spec.ByteOrder
	data := make([]byte, ds.Size)
	needConfig := false
	for _, e := range externs {
		switch {
		case strings.HasPrefix(e.name, "CONFIG_"):
			needConfig = true
		case strings.HasPrefix(e.name, "LINUX_"):
			v, known, err := opts.virtual(e.name)
			if err != nil {
				return nil, err
			}
			if !known {
				if e.weak {
					continue // libbpf zeroes an unknown weak LINUX_ extern
				}
				return nil, fmt.Errorf("%w: %s: not a LINUX_ extern libbpf provides", ErrUnsupportedExtern, e.name)
			}
			if err := e.setNumber(data, bo, v); err != nil {
				return nil, err
			}
		}
	}
	if needConfig {
		cfg, from, err := opts.config()
		if err != nil {
			// Without a config only weak options can be given (zero).
			for _, e := range externs {
				if strings.HasPrefix(e.name, "CONFIG_") && !e.weak {
					return nil, fmt.Errorf("%w: %s: no kernel config for %s: %w", ErrUnresolved, e.name, opts.release(), err)
				}
			}
		}
		for _, e := range externs {
			if !strings.HasPrefix(e.name, "CONFIG_") {
				continue
			}
			if v, ok := cfg[e.name]; ok {
				if err := e.setValue(data, bo, v); err != nil {
					return nil, fmt.Errorf("%w (from %s)", err, from)
				}
			}
		}
	}
	var missing []string
	for _, e := range externs {
		if !e.set && !e.weak {
			missing = append(missing, e.name)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("%w: %s (not set for %s; declare it __weak to default to zero)", ErrUnresolved, strings.Join(missing, ", "), opts.release())
	}
	return data, nil
}

// prepareKconfig adds the .kconfig map and points every load of an extern
// at it. cilium/ebpf would build the map itself from the running kernel,
// but only for the forms it knows and only for loads it tagged: the tag
// (unexported metadata) cannot be removed, so each such instruction is
// rebuilt without it, keeping the metadata that matters (symbol, source
// line, BTF func info).
//
// With opts nil the map's contents are zero.
func (o *Object) prepareKconfig(spec *ebpf.CollectionSpec, opts *Options) error {
	ds, externs, err := o.kconfigExterns()
	if ds == nil || err != nil {
		return err
	}
	known := map[uint32]bool{}
	for _, e := range externs {
		known[e.offset] = true
	}
	used := false
	for _, ps := range spec.Programs {
		for i := range ps.Instructions {
			ins := &ps.Instructions[i]
			// cilium/ebpf tags extern loads with metadata of its own and no
			// reference; Read left the offset in the constant's high half.
			if !ins.OpCode.IsDWordLoad() || ins.Src != asm.PseudoMapValue || ins.Reference() != "" || ins.Map() != nil {
				continue
			}
			off := uint32(uint64(ins.Constant) >> 32)
			if !known[off] {
				continue
			}
			rebuild(ins, asm.PseudoMapValue, int64(uint64(off)<<32), KconfigMap)
			used = true
		}
	}
	if !used {
		return nil
	}
	data := make([]byte, ds.Size)
	if opts != nil {
		if data, err = o.kconfigData(ds, externs, *opts); err != nil {
			return err
		}
	}
	if _, dup := spec.Maps[KconfigMap]; dup {
		return fmt.Errorf("%w: the object has its own map %s", ErrBadObject, KconfigMap)
	}
	spec.Maps[KconfigMap] = &ebpf.MapSpec{
		Name:       KconfigMap,
		Type:       ebpf.Array,
		KeySize:    4,
		ValueSize:  ds.Size,
		MaxEntries: 1,
		Flags:      1 << 7, // BPF_F_RDONLY_PROG, as libbpf and cilium/ebpf make it
		Key:        &btf.Int{Size: 4},
		Value:      ds,
		Contents:   []ebpf.MapKV{{Key: uint32(0), Value: data}},
	}
	return nil
}

// prepareKsyms resolves typed __ksym variables to their BTF ID in the
// target's BTF (libbpf's bpf_object__resolve_ksym_var_btf_id). A weak one
// the target lacks loads as NULL.
func (o *Object) prepareKsyms(spec *ebpf.CollectionSpec, opts Options) error {
	typed := o.typedKsyms
	if len(typed) == 0 {
		return nil
	}
	var kt *btf.Spec
	ids := map[string]btf.TypeID{}
	for _, ps := range spec.Programs {
		for i := range ps.Instructions {
			ins := &ps.Instructions[i]
			name := ins.Reference()
			if !typed[name] || !ins.OpCode.IsDWordLoad() {
				continue
			}
			id, ok := ids[name]
			if !ok {
				if kt == nil {
					var err error
					if kt, err = opts.kernelTypes(); err != nil {
						return fmt.Errorf("%w: %s: %w", ErrUnresolved, name, err)
					}
				}
				id = kernelVar(kt, name)
				if id == 0 && !o.weak[name] {
					return fmt.Errorf("%w: %s: no such variable in the kernel's BTF", ErrUnresolved, name)
				}
				ids[name] = id
			}
			if id == 0 {
				rebuild(ins, 0, 0, "")
				continue
			}
			rebuild(ins, bpfPseudoBTFID, int64(id), "")
		}
	}
	return nil
}

func kernelVar(kt *btf.Spec, name string) btf.TypeID {
	types, err := kt.AnyTypesByName(name)
	if err != nil {
		return 0
	}
	for _, t := range types {
		if v, ok := t.(*btf.Var); ok {
			if id, err := kt.TypeID(v); err == nil {
				return id
			}
		}
	}
	return 0
}

// rebuild replaces *ins by an instruction with the same opcode and
// registers but fresh metadata, so that cilium/ebpf's own extern tags are
// gone.
func rebuild(ins *asm.Instruction, src asm.Register, constant int64, ref string) {
	n := asm.Instruction{OpCode: ins.OpCode, Dst: ins.Dst, Src: src, Offset: ins.Offset, Constant: constant}
	if s := ins.Symbol(); s != "" {
		n = n.WithSymbol(s)
	}
	if s := ins.Source(); s != nil {
		n = n.WithSource(s)
	}
	if fn := btf.FuncMetadata(ins); fn != nil {
		n = btf.WithFuncMetadata(n, fn)
	}
	if ref != "" {
		n = n.WithReference(ref)
	}
	*ins = n
}

// KnownKconfig returns the .kconfig map's value as the loader will make it
// for the target, with known marking the bytes that are certain: a LINUX_
// extern whose value derives from the target's release or version, a
// CONFIG_ extern when opts.Config is given or, for the running kernel,
// can be read (/boot/config-RELEASE, /proc/config.gz); another kernel's
// is unknown without opts.Config, the host's /boot is not the target's.
// Everything else
// is unknown, never a guessed zero, so a static analysis that reads the
// bytes as constants (branch pruning) decides only what the loader will.
// Both are nil when the object has no .kconfig externs.
func (o *Object) KnownKconfig(opts Options) (data []byte, known []bool) {
	ds, externs, err := o.kconfigExterns()
	if ds == nil || err != nil {
		return nil, nil
	}
	bo := o.Spec.ByteOrder
	data = make([]byte, ds.Size)
	known = make([]bool, ds.Size)
	mark := func(e *kcfgExtern) {
		for i := e.offset; i < e.offset+e.size; i++ {
			known[i] = true
		}
	}
	var cfg map[string]string
	cfgAsked := false
	for _, e := range externs {
		switch {
		case strings.HasPrefix(e.name, "LINUX_"):
			v, ok, err := opts.virtual(e.name)
			if ok && err == nil && e.setNumber(data, bo, v) == nil {
				mark(e)
			}
		case strings.HasPrefix(e.name, "CONFIG_"):
			if !cfgAsked {
				cfgAsked = true
				switch {
				case opts.Config != nil:
					cfg = parseConfig(string(opts.Config))
				case opts.running():
					cfg, _, _ = opts.config()
				}
			}
			if cfg == nil {
				continue // not known
			}
			if v, ok := cfg[e.name]; ok {
				if e.setValue(data, bo, v) != nil {
					continue
				}
			}
			mark(e) // absent from a known config: zero, as libbpf leaves it
		}
	}
	return data, known
}
