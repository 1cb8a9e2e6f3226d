package btfhub

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/rlimit"
)

const badObject = "minimize/testdata/bad.o"

// TestPoisonedRelocations names the field bad.o reads that no kernel has.
func TestPoisonedRelocations(t *testing.T) {
	kernel := kernelSpec(t)
	spec, err := ebpf.LoadCollectionSpec(badObject)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := PoisonedRelocations(spec.Programs["bad_field"], spec.Types, kernel)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].Field != "task_struct.retrobpf_no_such_field" || ms[0].Kind != "byte_off" || ms[0].Type != "struct task_struct" {
		t.Fatalf("got %+v", ms)
	}
}

// TestClassifyRealLoadError loads bad.o into the host kernel: the verifier
// rejects the poisoned instruction and the classifier names the field.
func TestClassifyRealLoadError(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("loading BPF programs needs root")
	}
	rlimit.RemoveMemlock()
	kernel := kernelSpec(t)
	spec, err := ebpf.LoadCollectionSpec(badObject)
	if err != nil {
		t.Fatal(err)
	}
	coll, err := ebpf.NewCollectionWithOptions(spec, CollectionOptions(kernel, Source{Kind: SourceFlag}))
	if err == nil {
		coll.Close()
		t.Fatal("bad.o loaded")
	}
	got := ClassifyLoadError(err, spec, kernel)
	var ce *COREError
	if !errors.Is(got, ErrCORERelocation) || !errors.As(got, &ce) {
		t.Fatalf("not classified as CO-RE: %v", got)
	}
	if ce.Program != "bad_field" || len(ce.Mismatches) != 1 || !strings.Contains(got.Error(), "task_struct.retrobpf_no_such_field") {
		t.Fatalf("got %v (%+v)", got, ce)
	}
	var ve *ebpf.VerifierError
	if !errors.As(got, &ve) {
		t.Errorf("the verifier error is no longer reachable: %v", got)
	}
	t.Log(got)
}

func TestClassifyOtherErrors(t *testing.T) {
	plain := errors.New("program x: load program: permission denied")
	if got := ClassifyLoadError(plain, nil, nil); got != plain {
		t.Fatalf("unrelated error changed: %v", got)
	}
	noBTF := fmt.Errorf("program x: apply CO-RE relocations: load kernel spec: no BTF found for kernel version 4.19.0: %w", btf.ErrNotSupported)
	if got := ClassifyLoadError(noBTF, nil, nil); !errors.Is(got, ErrNoKernelBTF) || !errors.Is(got, btf.ErrNotSupported) {
		t.Fatalf("no-BTF error: %v", got)
	}
	poisoned := errors.New("program y: load program: invalid argument: invalid func unknown#195896080")
	var ce *COREError
	if got := ClassifyLoadError(poisoned, nil, nil); !errors.As(got, &ce) || ce.Program != "y" {
		t.Fatalf("raw poisoned call: %v", got)
	}
	if ClassifyLoadError(nil, nil, nil) != nil {
		t.Fatal("nil error classified")
	}
}

func kernelSpec(t *testing.T) *btf.Spec {
	t.Helper()
	spec, err := LoadBTFFile(DefaultSysfsBTF)
	if err != nil {
		t.Skipf("needs kernel BTF: %v", err)
	}
	return spec
}
