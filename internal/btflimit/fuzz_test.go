package btflimit

import (
	"bytes"
	"testing"

	"github.com/cilium/ebpf/btf"
)

// FuzzCheck: Check never panics, and what it accepts the decoder can walk
// without crashing.
func FuzzCheck(f *testing.F) {
	f.Add(pointerChain(3))
	f.Add(rawBTF(intRecord, []uint32{1, info(kindStruct, 2), 16, 1, 3, 0, 1, 1, 64}, []uint32{0, info(kindPtr, 0), 2}))
	f.Add(rawBTF([]uint32{1, info(kindTypedef, 0), 2}, []uint32{1, info(kindTypedef, 0), 1}))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if Check(raw, DefaultLimits) != nil {
			return
		}
		spec, err := btf.LoadSpecFromReader(bytes.NewReader(raw))
		if err != nil {
			return
		}
		for _, err := range spec.All() {
			if err != nil {
				return
			}
		}
	})
}
