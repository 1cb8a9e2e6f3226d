package triage

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/rlimit"

	"github.com/retrobpf/retrobpf/matrix/verifier"
	"github.com/retrobpf/retrobpf/reports"
)

// TestHostileObjects loads the hostile test objects on the running kernel
// and checks that each rejection gets the right class and a source line.
func TestHostileObjects(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to load BPF programs")
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		t.Skip(err)
	}
	kv := verifier.RunningKernel()
	cases := []struct {
		obj, prog string
		class     reports.TriageClass
		file      string // source file expected in the location ("" = none required)
	}{
		{"loop.o", "unbounded_loop", reports.TriageLoop, "loop.c"},
		{"oob.o", "oob_map_value", reports.TriageInvalidMemoryAccess, "oob.c"},
		{"oob.o", "oob_packet", reports.TriageInvalidMemoryAccess, "oob.c"},
		{"leak.o", "ringbuf_leak", reports.TriageUnreleasedReference, "leak.c"},
		{"big.o", "too_large", reports.TriageTooComplex, ""},
		{"big.o", "jump_complex", reports.TriageTooComplex, "big.c"},
		{"nongpl.o", "gpl_helper", reports.TriageGPLOnly, "nongpl.c"},
		{"nongpl.o", "unknown_helper", reports.TriageMissingHelper, "nongpl.c"},
		{"nongpl.o", "wrong_type_helper", reports.TriageMissingHelper, "nongpl.c"},
		{"core.o", "core_missing_field", reports.TriageCORERelocation, ""},
	}
	for _, c := range cases {
		t.Run(c.prog, func(t *testing.T) {
			spec, err := ebpf.LoadCollectionSpec("../testdata/" + c.obj)
			if err != nil {
				t.Fatal(err)
			}
			l, err := verifier.Load(spec, c.prog, verifier.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if l.Err == nil {
				t.Fatalf("kernel %s accepted %s", kv, c.prog)
			}
			got := Classify(Input{Err: l.Err, Log: l.Figures.Log, Kernel: kv, ProgType: "xdp", Spec: spec.Programs[c.prog], Lookup: catalog})
			if got.Class != c.class {
				t.Fatalf("class %q, want %q; message %q; log tail:\n%s", got.Class, c.class, got.Message, verifier.Excerpt(l.Figures.Log, 8, 2000))
			}
			if c.file != "" && (got.Source == nil || filepath.Base(got.Source.File) != c.file || got.Source.Line == 0) {
				t.Errorf("source %+v, want a line in %s", got.Source, c.file)
			}
			t.Logf("%s: %s | %s | %+v", got.Class, got.Message, got.Hint, got.Source)
		})
	}
}
