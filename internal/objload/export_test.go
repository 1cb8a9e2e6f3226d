package objload

import "testing"

// ToolObjects is libbpfToolObjects for the external tests (package
// objload_test), which may import the packages that import objload.
func ToolObjects(t *testing.T) map[string][][]byte {
	out := map[string][][]byte{}
	for _, tl := range libbpfToolObjects(t) {
		out[tl.name] = tl.objs
	}
	return out
}
