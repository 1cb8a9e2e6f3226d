package bpf

import (
	"errors"
	"testing"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// TestLoadEveryVariant loads every object into the running kernel. Legacy
// variants must load wherever the kernel is at least their target, with no
// excuse; the others may only be refused for being newer than the kernel or
// (tracing) because the kernel refuses BPF trampolines.
func TestLoadEveryVariant(t *testing.T) {
	requireRoot(t)
	removeMemlock(t)
	kernel := kernelVersion(t)
	for _, in := range intents {
		t.Run(in.program+"/"+in.variant, func(t *testing.T) {
			spec, err := LoadObjectSpec(in.object)
			if err != nil {
				t.Fatal(err)
			}
			coll, err := ebpf.NewCollection(spec)
			if err == nil {
				coll.Close()
				return
			}
			switch {
			case kernel.Less(in.minVersion()):
				t.Skipf("needs %s, kernel is %s: %v", in.min, kernel, err)
			case !in.legacy && isTracing(spec) && errors.Is(err, unix.EPERM):
				t.Skipf("this kernel refuses BPF trampolines: %v", err)
			}
			var ve *ebpf.VerifierError
			if errors.As(err, &ve) {
				t.Fatalf("%+v", ve)
			}
			t.Fatal(err)
		})
	}
}
