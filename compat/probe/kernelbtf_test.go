package probe

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

// A report made with KernelBTF carries the kernel's types through JSON and
// back; a tampered one is refused, not half-read.
func TestEmbeddedKernelBTFRoundTrip(t *testing.T) {
	if _, err := os.Stat(vmlinuxBTF); err != nil {
		t.Skipf("no %s on this kernel: %v", vmlinuxBTF, err)
	}
	e, err := embedKernelBTF()
	if err != nil {
		t.Fatal(err)
	}
	rep := &Report{SchemaVersion: SchemaVersion, KernelBTF: e}
	data, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	spec, err := back.KernelTypes()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := spec.AnyTypesByName("task_struct"); err != nil {
		t.Errorf("no task_struct in the embedded BTF: %v", err)
	}
	t.Logf("kernel BTF: %d bytes raw, %d in the report", e.Size, len(e.Data))

	tampered := &EmbeddedBTF{Encoding: e.Encoding, Size: e.Size, SHA256: strings.Repeat("0", 64), Data: e.Data}
	if _, err := (&Report{KernelBTF: tampered}).KernelTypes(); err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Errorf("tampered: %v", err)
	}
	huge := &EmbeddedBTF{Encoding: e.Encoding, Size: maxKernelBTF + 1, SHA256: e.SHA256, Data: e.Data}
	if _, err := (&Report{KernelBTF: huge}).KernelTypes(); err == nil {
		t.Error("an oversized BTF was accepted")
	}
	if _, err := (&Report{}).KernelTypes(); !errors.Is(err, ErrNoKernelBTF) {
		t.Errorf("no BTF: %v", err)
	}
}
