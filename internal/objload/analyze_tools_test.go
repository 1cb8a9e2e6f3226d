package objload_test

import (
	"bytes"
	"sort"
	"testing"

	"github.com/retrobpf/retrobpf/compat"
	"github.com/retrobpf/retrobpf/internal/objload"
)

// TestLibbpfToolsAnalyze: check's static analysis reads every object of
// libbpf-tools (objects nobody here wrote), needing no kernel.
func TestLibbpfToolsAnalyze(t *testing.T) {
	tools := objload.ToolObjects(t)
	names := make([]string, 0, len(tools))
	for n := range tools {
		names = append(names, n)
	}
	sort.Strings(names)
	var objects, programs int
	for _, n := range names {
		for _, raw := range tools[n] {
			rep, err := compat.AnalyzeReader(bytes.NewReader(raw), int64(len(raw)))
			if err != nil {
				t.Errorf("%s: %v", n, err)
				continue
			}
			objects++
			programs += len(rep.Programs)
		}
	}
	t.Logf("analysed %d objects of %d tools, %d programs", objects, len(names), programs)
}
