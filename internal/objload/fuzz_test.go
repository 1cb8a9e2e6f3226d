package objload

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzRead: no input may crash Read or Prepare, and objload's own ELF and
// BTF patching must not be what panics (Read recovers decoder panics and
// says "loader panic").
func FuzzRead(f *testing.F) {
	objs, _ := filepath.Glob("testdata/*.o")
	for _, o := range objs {
		raw, err := os.ReadFile(o)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		o, err := Read(raw)
		if err != nil {
			if strings.Contains(err.Error(), "loader panic") && strings.Contains(err.Error(), "objload") {
				t.Fatal(err)
			}
			return
		}
		_, _ = o.Prepare(testTarget)
		_ = o.AnalysisSpec()
	})
}
