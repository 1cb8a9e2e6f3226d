package compat

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/retrobpf/retrobpf/internal/kversion"
)

// guarded.o calls bpf_get_current_task_btf (5.11) only when the const
// volatile use_task_btf is true, bpf_ktime_get_ns otherwise: which
// helper is a requirement follows the value the loader freezes.
func TestAnalyzeDeadHelperFollowsRodata(t *testing.T) {
	obj := filepath.Join("testdata", "guarded.o")
	for _, tc := range []struct {
		name      string
		prepare   func(*ebpf.CollectionSpec) error
		need, not []FeatureID
		min       string
	}{
		{"default false", nil,
			[]FeatureID{"helper:bpf_ktime_get_ns"}, []FeatureID{"helper:bpf_get_current_task_btf"}, "5.2"},
		{"set true", func(s *ebpf.CollectionSpec) error { return s.Variables["use_task_btf"].Set(true) },
			[]FeatureID{"helper:bpf_get_current_task_btf"}, []FeatureID{"helper:bpf_ktime_get_ns"}, "5.11"},
		// A writable section is not frozen: the verifier knows nothing
		// of its value, and neither may the analysis.
		{"not read-only", func(s *ebpf.CollectionSpec) error { s.Maps[".rodata"].Flags = 0; return nil },
			[]FeatureID{"helper:bpf_ktime_get_ns", "helper:bpf_get_current_task_btf"}, nil, "5.11"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := AnalyzeWith(obj, tc.prepare)
			if err != nil {
				t.Fatal(err)
			}
			p := rep.Program("on_getppid")
			if p == nil {
				t.Fatalf("programs %+v", rep.Programs)
			}
			for _, id := range tc.need {
				mustReq(t, *p, id, "insn ")
			}
			for _, id := range tc.not {
				noReq(t, *p, id)
				name := strings.TrimPrefix(string(id), "helper:")
				found := false
				for _, f := range p.Findings {
					found = found || (f.Severity == SeverityWarning && strings.Contains(f.Message, name) && strings.Contains(f.Message, "rule out"))
				}
				if !found {
					t.Errorf("no warning names the unreached %s: %+v", name, p.Findings)
				}
			}
			if p.MinKernel != kversion.MustParse(tc.min) {
				t.Errorf("min kernel %v (by %v), want %s", p.MinKernel, p.MinKernelBy, tc.min)
			}
		})
	}
}

func TestAnalyzeWithPrepareError(t *testing.T) {
	_, err := AnalyzeWith(filepath.Join("testdata", "guarded.o"), func(s *ebpf.CollectionSpec) error {
		return s.Variables["use_task_btf"].Set(uint64(1)) // 8 bytes into a bool
	})
	if err == nil || !strings.Contains(err.Error(), "guarded.o") {
		t.Fatalf("err = %v, want the prepare error with the path", err)
	}
}
