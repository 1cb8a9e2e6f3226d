package triage

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"golang.org/x/sys/unix"

	"github.com/retrobpf/retrobpf/compat"
	"github.com/retrobpf/retrobpf/internal/kversion"
	"github.com/retrobpf/retrobpf/matrix/verifier"
	"github.com/retrobpf/retrobpf/reports"
)

// On 4.19 a libbpf-style object's .rodata and its ring buffer both fail:
// which one cilium/ebpf reports depends on map iteration order. Triage
// must give one answer whichever it was, and name global data (5.2).
func TestMapFailuresDeterministic(t *testing.T) {
	failures := []verifier.MapFailure{
		{Name: ".rodata", Type: ebpf.Array, Err: fmt.Errorf("%w", ebpf.ErrNotSupported)},
		{Name: "events", Type: ebpf.RingBuf, Err: fmt.Errorf("map create: %w", unix.EINVAL)},
	}
	var first reports.Triage
	for i, loadErr := range []error{
		fmt.Errorf("map events: map create: %w", unix.EINVAL),
		fmt.Errorf("map .rodata: %w", ebpf.ErrNotSupported),
	} {
		got := Classify(Input{Err: loadErr, Kernel: kversion.MustParse("4.19"), MapFailures: failures, Lookup: realCatalog})
		if got.Class != reports.TriageMissingFeature || got.Feature != "global-data" || got.MinKernel == nil || got.MinKernel.String() != "5.2" {
			t.Fatalf("load error %d: %+v", i, got)
		}
		if i == 0 {
			first = got
		} else if !reflect.DeepEqual(got, first) {
			t.Errorf("triage depends on which map failed first:\n%+v\n%+v", first, got)
		}
	}
	// 5.4 has global data: the ring buffer (5.8) is what is missing.
	got := Classify(Input{Err: fmt.Errorf("map events: %w", unix.EINVAL), Kernel: kversion.MustParse("5.4"),
		MapFailures: failures[1:], Lookup: realCatalog})
	if got.Class != reports.TriageMissingMapType || got.Feature != "map:ringbuf" || got.MinKernel == nil || got.MinKernel.String() != "5.8" {
		t.Errorf("ringbuf on 5.4: %+v", got)
	}
}

func TestUnrecognizedLdImm64(t *testing.T) {
	log := []string{"0: (18) r1 = 0x0", "unrecognized bpf_ld_imm64 insn"}
	global := &ebpf.ProgramSpec{Instructions: asm.Instructions{asm.LoadMapValue(asm.R1, 0, 0).WithReference(".rodata"), asm.Return()}}
	callback := &ebpf.ProgramSpec{Instructions: asm.Instructions{
		asm.Instruction{OpCode: asm.LoadImmOp(asm.DWord), Dst: asm.R2, Src: asm.PseudoFunc, Constant: -1}.WithReference("cb"), asm.Return()}}
	for spec, want := range map[*ebpf.ProgramSpec][2]string{global: {"global-data", "5.2"}, callback: {"callbacks", "5.13"}} {
		got := Classify(Input{Err: unix.EINVAL, Log: log, Kernel: kversion.MustParse("4.19"), Spec: spec, Lookup: realCatalog})
		if got.Class != reports.TriageMissingFeature || got.Feature != want[0] || got.MinKernel == nil || got.MinKernel.String() != want[1] || !strings.Contains(got.Hint, want[1]) {
			t.Errorf("%s: %+v", want[0], got)
		}
	}
}

// realCatalog answers from compat's catalog, as the matrix does.
func realCatalog(id string) (Feature, bool) {
	f, err := compat.Lookup(compat.FeatureID(id))
	if err != nil {
		return Feature{}, false
	}
	return Feature{ID: id, Since: f.Since, Hint: f.Hint}, true
}
