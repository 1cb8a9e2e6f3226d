package btfhub

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/retrobpf/retrobpf/btfhub/corerelo"
)

// ErrCORERelocation is the class of load failures caused by a CO-RE
// relocation that found no match in the kernel types: cilium/ebpf poisons
// the instruction (call or load of 0xbad2310) and the verifier rejects it.
var ErrCORERelocation = errors.New("CO-RE relocation failed")

// COREMismatch is one relocation that found no match in the kernel types.
type COREMismatch struct {
	Program  string `json:"program"`
	Insn     int    `json:"insn"`     // instruction index in the program
	Kind     string `json:"kind"`     // byte_off, type_size, enumval_value, ...
	Type     string `json:"type"`     // e.g. "struct task_struct"
	Field    string `json:"field"`    // e.g. "task_struct.loginuid.val"
	Accessor string `json:"accessor"` // raw accessor, e.g. "0:52:0"
}

func (m COREMismatch) String() string {
	return fmt.Sprintf("%s %s (%s, accessor %s)", m.Kind, m.Field, m.Type, m.Accessor)
}

// COREError is a load failure of class ErrCORERelocation, naming the
// relocations of the program that did not match.
type COREError struct {
	Program    string         `json:"program,omitempty"`
	Mismatches []COREMismatch `json:"mismatches"`
	Err        error          `json:"-"` // the load error
}

func (e *COREError) Error() string {
	var b strings.Builder
	if e.Program != "" {
		fmt.Fprintf(&b, "program %s: ", e.Program)
	}
	b.WriteString(ErrCORERelocation.Error())
	if len(e.Mismatches) == 0 {
		fmt.Fprintf(&b, ": %v", e.Err)
		return b.String()
	}
	b.WriteString(": not in the kernel types: ")
	for i, m := range e.Mismatches {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(m.String())
	}
	return b.String()
}

// Is makes errors.Is(err, ErrCORERelocation) true.
func (e *COREError) Is(target error) bool { return target == ErrCORERelocation }

// Unwrap returns the load error.
func (e *COREError) Unwrap() error { return e.Err }

// IsCOREFailure reports whether a load error is the verifier rejecting an
// instruction poisoned by CO-RE (cilium/ebpf reports "bad CO-RE relocation";
// the raw verifier log has "unknown#195896080" or "r10 = 0xbad2310").
func IsCOREFailure(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "bad CO-RE relocation") ||
		strings.Contains(s, "unknown#"+strconv.Itoa(btf.COREBadRelocationSentinel)) ||
		strings.Contains(s, fmt.Sprintf("r10 = %#x", btf.COREBadRelocationSentinel))
}

var programInError = regexp.MustCompile(`program ([^\s:]+):`)

// ClassifyLoadError sorts a load error of spec into retrobpf's classes:
//   - a poisoned CO-RE relocation becomes a *COREError (errors.Is
//     ErrCORERelocation) listing the relocations that found no match in
//     kernel (the types used for the load; nil means the running kernel's);
//   - cilium/ebpf's "no BTF found for kernel" also wraps ErrNoKernelBTF;
//   - anything else is returned unchanged.
//
// spec may be nil; the error then carries no field details.
func ClassifyLoadError(err error, spec *ebpf.CollectionSpec, kernel *btf.Spec) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, btf.ErrNotSupported) && strings.Contains(err.Error(), "no BTF found") {
		return fmt.Errorf("%w: %w", ErrNoKernelBTF, err)
	}
	if !IsCOREFailure(err) {
		return err
	}
	ce := &COREError{Err: err}
	if m := programInError.FindStringSubmatch(err.Error()); m != nil {
		ce.Program = m[1]
	}
	if spec == nil {
		return ce
	}
	names := []string{ce.Program}
	if _, ok := spec.Programs[ce.Program]; !ok {
		names = names[:0]
		for n := range spec.Programs {
			names = append(names, n)
		}
		sort.Strings(names)
	}
	for _, n := range names {
		ms, perr := PoisonedRelocations(spec.Programs[n], spec.Types, kernel)
		if perr != nil {
			continue // keep the class; details are best effort
		}
		ce.Mismatches = append(ce.Mismatches, ms...)
	}
	return ce
}

// PoisonedRelocations relocates prog against kernel (nil: the running
// kernel's BTF) the way cilium/ebpf does and returns the relocations that
// found no match, i.e. the instructions it poisons. local is the object's
// BTF (CollectionSpec.Types).
func PoisonedRelocations(prog *ebpf.ProgramSpec, local, kernel *btf.Spec) ([]COREMismatch, error) {
	relos, err := corerelo.FromProgram(prog, local)
	if err != nil {
		return nil, err
	}
	if len(relos) == 0 {
		return nil, nil
	}
	if kernel == nil {
		if kernel, err = btf.LoadKernelSpec(); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNoKernelBTF, err)
		}
	}
	raw := make([]*btf.CORERelocation, len(relos))
	for i, r := range relos {
		raw[i] = r.Raw
	}
	fixups, err := btf.CORERelocate(raw, []*btf.Spec{kernel}, prog.ByteOrder, local.TypeID)
	if err != nil {
		return nil, err
	}
	var out []COREMismatch
	for i, f := range fixups {
		if !strings.HasSuffix(f.String(), "=poison") {
			continue
		}
		r := relos[i]
		acc := make([]string, len(r.Accessor))
		for j, a := range r.Accessor {
			acc[j] = strconv.Itoa(a)
		}
		out = append(out, COREMismatch{Program: prog.Name, Insn: r.Insn, Kind: r.Kind.String(),
			Type: r.Target(), Field: r.Field(), Accessor: strings.Join(acc, ":")})
	}
	return out, nil
}
