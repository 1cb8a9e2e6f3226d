package vmlinuz_test

import (
	"testing"

	"github.com/retrobpf/retrobpf/internal/btflimit"
	"github.com/retrobpf/retrobpf/internal/vmlinuz"
	"github.com/retrobpf/retrobpf/vmtest/kernels/kernelstest"
)

// Debian's images: 5.10 and 6.1 are LZ4 (legacy frames), 6.12 zstd. The
// BTF inside each is the kernel's own, with its task_struct.
func TestDebianImagesBTF(t *testing.T) {
	for _, ref := range []string{"5.10", "6.1", "6.12"} {
		t.Run(ref, func(t *testing.T) {
			k := kernelstest.Get(t, ref)
			raw, err := vmlinuz.BTF(k.Vmlinuz)
			if err != nil {
				t.Fatal(err)
			}
			spec, err := btflimit.Load(raw)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := spec.AnyTypesByName("task_struct"); err != nil {
				t.Fatalf("%s: %v", k.Release, err)
			}
			if _, err := spec.AnyTypesByName("btf_trace_sched_switch"); err != nil {
				t.Fatalf("%s: %v", k.Release, err)
			}
			t.Logf("%s: %d bytes of BTF", k.Release, len(raw))
		})
	}
}
