package compat

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/retrobpf/retrobpf/internal/kversion"

	"github.com/retrobpf/retrobpf/internal/inputfile"
	"github.com/retrobpf/retrobpf/internal/objload"
)

// The test objects in testdata are built from testdata/src by clang.
//go:generate make -C testdata/src

// Errors returned by Analyze for input that is not a BPF object. They are
// wrapped with the file name; check them with errors.Is.
var (
	ErrNotELF     = errors.New("not an ELF file")
	ErrNotBPF     = errors.New("not a BPF object")
	ErrBadELF     = errors.New("truncated or malformed ELF")
	ErrIsDir      = errors.New("is a directory")
	ErrBadObject  = errors.New("invalid BPF object")
	errNilSpec    = errors.New("nil collection spec")
	elfMagic      = []byte("\x7fELF")
	maxProbeBytes = int64(64) // bytes read to recognise the ELF header
	// maxNoBitsSection bounds zero-filled sections such as .bss.
	maxNoBitsSection = uint64(64 << 20)
)

// Severity of a Finding.
type Severity string

// Finding severities. An error finding makes the program fail to load on
// every kernel (for example a GPL-only helper in a non-GPL program).
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Finding is something the analysis noticed that is not a kernel feature:
// a license conflict, a helper retrobpf does not know, a feature missing
// from the catalog.
type Finding struct {
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
	Source   string   `json:"source,omitempty"`
}

// ObjectReport is the static analysis of one BPF ELF object.
type ObjectReport struct {
	Path     string          `json:"path,omitempty"`
	Programs []ProgramReport `json:"programs"`
	Maps     []MapReport     `json:"maps"`
	// Requirements is the union of the programs' requirements plus those of
	// maps no program references (a loader still creates them), first
	// source kept.
	Requirements []Requirement `json:"requirements"`
	// MinKernel is the first upstream kernel that has every requirement,
	// and MinKernelBy the requirements that set it.
	MinKernel   kversion.Version `json:"min_kernel"`
	MinKernelBy []Requirement    `json:"min_kernel_by,omitempty"`
	Findings    []Finding        `json:"findings,omitempty"`
}

// ProgramReport is the static analysis of one program in an object.
type ProgramReport struct {
	Name    string `json:"name"`
	Section string `json:"section"`
	// Type is bpftool's program type name ("kprobe", "tracing").
	Type string `json:"type"`
	// AttachType is cilium/ebpf's attach type name ("AttachTraceFEntry"),
	// empty when the program type has none.
	AttachType string `json:"attach_type,omitempty"`
	// Attach is the attach feature ID suffix ("fentry", "kprobe", "tc").
	Attach       string `json:"attach,omitempty"`
	AttachTo     string `json:"attach_to,omitempty"`
	License      string `json:"license"`
	Instructions int    `json:"instructions"` // raw 8-byte instruction slots
	Sleepable    bool   `json:"sleepable,omitempty"`
	// Maps the program references, by name.
	Maps []string `json:"maps,omitempty"`
	// Requirements, one per feature in discovery order. Source names the
	// section, the map, the BPF function (for sub-programs) and "insn N",
	// the raw instruction offset in the program as loaded (sub-programs
	// appended), which is the numbering of verifier logs.
	Requirements []Requirement    `json:"requirements"`
	MinKernel    kversion.Version `json:"min_kernel"`
	MinKernelBy  []Requirement    `json:"min_kernel_by,omitempty"`
	Findings     []Finding        `json:"findings,omitempty"`

	live         map[int64]bool // reachable instruction offsets; nil: not known
	coreResolved bool           // live was walked with the target's CO-RE values
}

// Reachable reports whether the verifier can reach the instruction at raw
// offset insn, with the values the analysis knew (.rodata, the target's
// .kconfig and CO-RE values). decided is false when that is not known: the
// walk was not possible, or it reached insn without knowing the target's
// CO-RE values (a bpf_core_*_exists() guard may still skip it). An
// instruction the walk never reached is dead whatever those values.
func (p *ProgramReport) Reachable(insn int64) (reachable, decided bool) {
	if p.live == nil {
		return true, false
	}
	if !p.live[insn] {
		return false, true
	}
	return true, p.coreResolved
}

// MapReport describes one map of an object.
type MapReport struct {
	Name  string   `json:"name"`
	Type  string   `json:"type"`
	Flags []string `json:"flags,omitempty"`
	// UsedBy lists the programs that reference the map.
	UsedBy []string `json:"used_by,omitempty"`
	// GlobalData marks the .data/.rodata/.bss/.kconfig maps.
	GlobalData bool `json:"global_data,omitempty"`
}

// HasErrors reports whether a finding makes the program unloadable.
func (p *ProgramReport) HasErrors() bool { return hasErrors(p.Findings) }

// Program returns the named program's report, or nil.
func (o *ObjectReport) Program(name string) *ProgramReport {
	for i := range o.Programs {
		if o.Programs[i].Name == name {
			return &o.Programs[i]
		}
	}
	return nil
}

func hasErrors(fs []Finding) bool {
	for _, f := range fs {
		if f.Severity == SeverityError {
			return true
		}
	}
	return false
}

// Analyze statically analyses the BPF ELF object at path: no kernel is
// needed. Input that is not a BPF object is reported with ErrNotELF,
// ErrNotBPF, ErrBadELF, ErrIsDir, ErrBadObject or an fs error, each wrapped
// with the path.
func Analyze(path string) (*ObjectReport, error) { return AnalyzeWith(path, nil) }

// AnalyzeWith is Analyze after prepare has changed the object's spec as
// the loader will before loading it: global variables set
// (spec.Variables[name].Set, veristat's -G), map sizes changed. Code that
// the values of .rodata rule out is not analysed for helpers, as the
// verifier does not visit it. An error from prepare is returned wrapped
// with the path.
func AnalyzeWith(path string, prepare func(*ebpf.CollectionSpec) error) (*ObjectReport, error) {
	return AnalyzeFor(path, AnalyzeOptions{Prepare: prepare})
}

// AnalyzeOptions say how the loader will prepare the object and, when
// known, for which kernel.
type AnalyzeOptions struct {
	// Prepare changes the spec as the loader will (see AnalyzeWith).
	Prepare func(*ebpf.CollectionSpec) error
	// Kernel is the target kernel, nil when the analysis is for any.
	// With it, .kconfig externs take the values the loader gives them
	// there, and code they rule out is dead like code .rodata rules out.
	Kernel *Kernel
}

// Kernel is what the analysis may assume of a target kernel.
type Kernel struct {
	// Running says the target is the kernel this process runs on: the
	// .kconfig values are read from it as the loader reads them, and
	// Version, Release and Config are ignored.
	Running bool
	// Version is its upstream version. Exact says the patch level is
	// known (a probe's LINUX_VERSION_CODE, a full x.y.z); otherwise a
	// branch on LINUX_KERNEL_VERSION is decided only when every patch
	// level of Major.Minor decides it the same way.
	Version kversion.Version
	Exact   bool
	// Release is its `uname -r`, when known.
	Release string
	// Config is its .config text; nil when unknown (CONFIG_ externs are
	// then undecided).
	Config []byte
	// BTF is its kernel types, when known: CO-RE relocations are applied
	// against it before the walk, so bpf_core_*_exists() guards are
	// decided and ProgramReport.Reachable tells whether the verifier gets
	// to an instruction a failed relocation poisons.
	BTF *btf.Spec
	// LoadBTF, when BTF is nil, loads it the first time a program with
	// CO-RE relocations needs it (the running kernel's, in a guest: most
	// programs of a suite need no parse of it). A nil spec or an error
	// leaves CO-RE undecided.
	LoadBTF func() (*btf.Spec, error)
	// Symbol says whether the kernel has symbol name (known false: not
	// decided), so bpf_ksym_exists() on a __weak __ksym is decided too.
	Symbol func(name string) (exists, known bool)
	// COREGuardsOnly relocates against BTF only the programs with CO-RE
	// existence checks, the relocations that steer branches: enough for a
	// selection (a guest's, where each parse of the kernel's BTF costs),
	// while Reachable leaves poisoned instructions of the others undecided.
	COREGuardsOnly bool
}

// types returns the kernel's BTF, loading it once with LoadBTF.
func (k *Kernel) types() func() *btf.Spec {
	if k == nil || (k.BTF == nil && k.LoadBTF == nil) {
		return nil
	}
	if k.BTF != nil {
		return func() *btf.Spec { return k.BTF }
	}
	return sync.OnceValue(func() *btf.Spec {
		spec, err := k.LoadBTF()
		if err != nil {
			return nil
		}
		return spec
	})
}

// kconfigEnvs are the .kconfig values the loader may give obj on k: one
// per patch level that matters when the patch level is not known.
func (k *Kernel) kconfigEnvs(obj *objload.Object) []reachEnv {
	if k != nil && k.Running {
		data, known := obj.KnownKconfig(objload.Options{})
		if data == nil {
			return nil
		}
		return []reachEnv{{kconfig: data, kconfigKnown: known}}
	}
	if k == nil || k.Version.IsZero() {
		return nil
	}
	patches := []int{k.Version.Patch}
	if !k.Exact {
		patches = []int{0, 255}
	}
	var envs []reachEnv
	for _, patch := range patches {
		v := k.Version
		v.Patch = patch
		release := k.Release
		if release == "" {
			release = v.String()
		}
		data, known := obj.KnownKconfig(objload.Options{
			Release: release, Config: k.Config,
			Virtual: map[string]uint64{"LINUX_KERNEL_VERSION": uint64(v.Code())},
		})
		if data == nil {
			return nil
		}
		envs = append(envs, reachEnv{kconfig: data, kconfigKnown: known})
	}
	return envs
}

// AnalyzeFor is Analyze with opts.
func AnalyzeFor(path string, opts AnalyzeOptions) (*ObjectReport, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return nil, fmt.Errorf("%s: %w", path, ErrIsDir)
	}
	f, err := inputfile.Open(path, inputfile.MaxObject)
	if err != nil {
		return nil, err // names the file
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	spec, obj, err := loadSpec(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if opts.Prepare != nil {
		if err := opts.Prepare(spec); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	env := objectEnv{weak: obj.Weak, kernels: opts.Kernel.kconfigEnvs(obj)}
	env.kernelTypes = opts.Kernel.types()
	if opts.Kernel != nil {
		env.ksym, env.coreGuardsOnly = opts.Kernel.Symbol, opts.Kernel.COREGuardsOnly
	}
	rep, err := analyzeSpec(spec, env)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	rep.Path = path
	return rep, nil
}

// AnalyzeReader is Analyze for an object held in memory or another reader.
func AnalyzeReader(r io.ReaderAt, size int64) (*ObjectReport, error) {
	spec, obj, err := loadSpec(r, size)
	if err != nil {
		return nil, err
	}
	return analyzeSpec(spec, objectEnv{weak: obj.Weak})
}

// objectEnv is what the analysis of one object knows besides its spec.
type objectEnv struct {
	// weak reports whether the object declares a symbol __weak, as libbpf
	// reads it: a weak __ksym that is absent loads as NULL, so it is no
	// requirement.
	weak func(string) bool
	// kernels are the .kconfig values of the target (several when its
	// patch level is unknown); none without a target.
	kernels []reachEnv
	// kernelTypes returns the target's BTF; nil when unknown.
	kernelTypes func() *btf.Spec
	// ksym is Kernel.Symbol; coreGuardsOnly Kernel.COREGuardsOnly.
	ksym           func(string) (bool, bool)
	coreGuardsOnly bool
}

// loadSpec classifies bad input before handing the bytes to cilium/ebpf,
// whose own errors do not say "this is not an ELF at all".
func loadSpec(r io.ReaderAt, size int64) (spec *ebpf.CollectionSpec, obj *objload.Object, err error) {
	head := make([]byte, min(size, maxProbeBytes))
	if _, err := r.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, err
	}
	if !bytes.HasPrefix(head, elfMagic) {
		if size == 0 {
			return nil, nil, fmt.Errorf("%w (empty file)", ErrNotELF)
		}
		return nil, nil, ErrNotELF
	}
	sr := io.NewSectionReader(r, 0, size)
	ef, err := elf.NewFile(sr)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, nil, fmt.Errorf("%w: the file ends early (%d bytes)", ErrBadELF, size)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrBadELF, err)
	}
	if ef.Machine != elf.EM_BPF {
		return nil, nil, fmt.Errorf("%w: ELF for %s", ErrNotBPF, machineName(ef.Machine))
	}
	for _, s := range ef.Sections {
		if s.Type != elf.SHT_NOBITS && s.Offset+s.FileSize > uint64(size) {
			return nil, nil, fmt.Errorf("%w: section %s extends past the end of the file", ErrBadELF, s.Name)
		}
		// cilium/ebpf allocates zeroed .bss contents up front; no kernel
		// creates a map value anywhere near this big (KMALLOC_MAX_SIZE).
		if s.Type == elf.SHT_NOBITS && s.Size > maxNoBitsSection {
			return nil, nil, fmt.Errorf("%w: section %s claims %d bytes", ErrBadObject, s.Name, s.Size)
		}
	}
	// cilium/ebpf must not take the process down on hostile input.
	defer func() {
		if p := recover(); p != nil {
			spec, err = nil, fmt.Errorf("%w: loader panic: %v", ErrBadObject, p)
		}
	}()
	// objload reads it as libbpf would (weak maps and externs included,
	// .kconfig laid out as a map).
	obj, err = objload.ReadAt(sr, size)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrBadObject, strings.TrimPrefix(err.Error(), objload.ErrBadObject.Error()+": "))
	}
	return obj.AnalysisSpec(), obj, nil
}

func machineName(m elf.Machine) string {
	s := m.String()
	return strings.TrimPrefix(s, "EM_")
}

// AnalyzeSpec analyses a loaded collection spec (from an ELF or built by
// hand with cilium/ebpf/asm). Requirements are deduplicated per program,
// keeping the first source.
func AnalyzeSpec(spec *ebpf.CollectionSpec) (*ObjectReport, error) {
	return analyzeSpec(spec, objectEnv{weak: func(string) bool { return false }})
}

func analyzeSpec(spec *ebpf.CollectionSpec, env objectEnv) (*ObjectReport, error) {
	if spec == nil {
		return nil, errNilSpec
	}
	rep := &ObjectReport{Programs: []ProgramReport{}, Maps: []MapReport{}, Requirements: []Requirement{}}

	names := make([]string, 0, len(spec.Programs))
	for n := range spec.Programs {
		names = append(names, n)
	}
	sort.Strings(names)

	// A map without a size cannot be created: libbpf-style tools size
	// such maps at run time (bpf_map__set_max_entries), and the loader
	// creates every map of the object, so no program loads as it is.
	// Perf event arrays are sized to the CPU count by every loader.
	var unsized []string
	for n, m := range spec.Maps {
		if m.MaxEntries == 0 && m.Type != ebpf.PerfEventArray {
			unsized = append(unsized, n)
		}
	}
	sort.Strings(unsized)

	usedBy := map[string][]string{}
	var objReqs reqSet
	for _, n := range names {
		p := analyzeProgram(spec, env, n, spec.Programs[n])
		for _, m := range unsized {
			p.Findings = append(p.Findings, Finding{Severity: SeverityError, Source: "map " + m,
				Message: fmt.Sprintf("map %s has max_entries 0: the object loads only after its loader sets a size", m)})
		}
		for _, m := range p.Maps {
			usedBy[m] = append(usedBy[m], n)
		}
		for _, r := range p.Requirements {
			objReqs.add(r)
		}
		rep.Findings = append(rep.Findings, prefixFindings(n, p.Findings)...)
		rep.Programs = append(rep.Programs, p)
	}

	mapNames := make([]string, 0, len(spec.Maps))
	for n := range spec.Maps {
		mapNames = append(mapNames, n)
	}
	sort.Strings(mapNames)
	for _, n := range mapNames {
		m := spec.Maps[n]
		mr := MapReport{Name: n, Type: mapTypeLabel(m.Type), Flags: mapFlagList(m.Flags), UsedBy: usedBy[n], GlobalData: isDataMap(n)}
		rep.Maps = append(rep.Maps, mr)
		if len(mr.UsedBy) == 0 && !mr.GlobalData {
			var rs reqSet
			addMapReqs(&rs, m, fmt.Sprintf("map %s", n), "map "+n+" is created by the loader although no program references it")
			for _, r := range rs.list {
				objReqs.add(r)
			}
		}
	}

	var fs []Finding
	rep.Requirements, fs = catalogued(objReqs.list)
	_ = fs // already reported per program or below
	for _, f := range fs {
		if !containsFinding(rep.Findings, f) {
			rep.Findings = append(rep.Findings, f)
		}
	}
	rep.MinKernel, rep.MinKernelBy = minKernel(rep.Requirements)
	return rep, nil
}

func prefixFindings(prog string, fs []Finding) []Finding {
	out := make([]Finding, 0, len(fs))
	for _, f := range fs {
		f.Message = "program " + prog + ": " + f.Message
		out = append(out, f)
	}
	return out
}

func containsFinding(fs []Finding, f Finding) bool {
	for _, g := range fs {
		if strings.HasSuffix(g.Message, f.Message) && g.Source == f.Source {
			return true
		}
	}
	return false
}

// reqSet keeps requirements in discovery order, one per feature, the first
// source winning.
type reqSet struct {
	list []Requirement
	seen map[FeatureID]bool
}

func (s *reqSet) add(r Requirement) {
	if s.seen == nil {
		s.seen = map[FeatureID]bool{}
	}
	if s.seen[r.Feature] {
		return
	}
	s.seen[r.Feature] = true
	s.list = append(s.list, r)
}

// catalogued drops requirements the catalog does not know (and says so in
// a warning): an ID outside the catalog cannot be checked against any
// target. Dynamic kfunc:, ksym: and attach-target IDs are always kept.
func catalogued(reqs []Requirement) ([]Requirement, []Finding) {
	out := make([]Requirement, 0, len(reqs))
	var fs []Finding
	for _, r := range reqs {
		if _, err := Lookup(r.Feature); err != nil && !isDynamic(r.Feature) {
			fs = append(fs, Finding{
				Severity: SeverityWarning,
				Message:  fmt.Sprintf("%s (%s) is not in the feature catalog; not checked", r.Feature, r.Reason),
				Source:   r.Source,
			})
			continue
		}
		out = append(out, r)
	}
	return out, fs
}

func isDynamic(id FeatureID) bool {
	s := string(id)
	for _, prefix := range []string{"kfunc:", "ksym:", "btf-func:", "tracepoint:", "raw-tp:", "raw-tp-args:", "btf-func-args:"} {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// featureSince is the catalog's first upstream kernel for id (zero if the
// catalog does not know it or has no version for it).
func featureSince(id FeatureID) kversion.Version {
	f, err := Lookup(id)
	if err != nil {
		return kversion.Version{}
	}
	return f.Since
}

// featureHint is the catalog's hint for id, if any.
func featureHint(id FeatureID) string {
	f, err := Lookup(id)
	if err != nil {
		return ""
	}
	return f.Hint
}

// minKernel returns the newest Since among reqs and the requirements that
// have it.
func minKernel(reqs []Requirement) (kversion.Version, []Requirement) {
	var max kversion.Version
	var by []Requirement
	for _, r := range reqs {
		s := featureSince(r.Feature)
		if s.IsZero() {
			continue
		}
		switch c := s.Compare(max); {
		case c > 0:
			max, by = s, []Requirement{r}
		case c == 0:
			by = append(by, r)
		}
	}
	return max, by
}

func mapFlagList(flags uint32) []string {
	var out []string
	for _, f := range mapFlagNames {
		if flags&f.bit != 0 {
			out = append(out, f.name)
			flags &^= f.bit
		}
	}
	if flags != 0 {
		out = append(out, fmt.Sprintf("%#x", flags))
	}
	return out
}

// isDataMap reports whether a map holds global variables: cilium/ebpf and
// libbpf turn .data*, .rodata*, .bss and .kconfig into array maps.
func isDataMap(name string) bool {
	return name == ".bss" || name == ".kconfig" || strings.HasPrefix(name, ".data") || strings.HasPrefix(name, ".rodata")
}

// addMapReqs adds the map type and flag requirements of m.
func addMapReqs(rs *reqSet, m *ebpf.MapSpec, source, reason string) {
	if id := mapTypeFeature(m.Type); id != "" {
		rs.add(Requirement{Feature: id, Reason: reason + " (" + mapTypeLabel(m.Type) + ")", Source: source})
	} else {
		rs.add(Requirement{Feature: FeatureID("map:" + m.Type.String()), Reason: reason, Source: source})
	}
	for _, f := range mapFlagNames {
		if m.Flags&f.bit != 0 {
			rs.add(Requirement{Feature: FeatureID("map-flag:" + f.name), Reason: fmt.Sprintf("map %s is created with BPF_F_%s", m.Name, strings.ToUpper(f.name)), Source: source})
		}
	}
	if m.InnerMap != nil {
		inner := *m.InnerMap
		if inner.Name == "" {
			inner.Name = m.Name + " (inner)"
		}
		addMapReqs(rs, &inner, source, "inner map of "+m.Name)
	}
}
