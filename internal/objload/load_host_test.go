package objload

import (
	"bytes"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/retrobpf/retrobpf/internal/testutils"
)

// runProgram runs a socket filter once and returns what it returned.
func runProgram(t *testing.T, p *ebpf.Program) uint32 {
	t.Helper()
	ret, err := p.Run(&ebpf.RunOptions{Data: make([]byte, 64)})
	if err != nil {
		t.Fatalf("run %s: %v", p, err)
	}
	return ret
}

func TestHostKconfigLoads(t *testing.T) {
	testutils.RequireRoot(t, "loads BPF programs")
	o, err := ReadFile("testdata/kconfig.o")
	if err != nil {
		t.Fatal(err)
	}
	spec, err := o.Prepare(testTarget)
	if err != nil {
		t.Fatal(err)
	}
	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	defer coll.Close()

	want := map[string]uint32{
		"version":      6<<16 | 1<<8 | 76,
		"cookie":       1,
		"wrapper":      1, // 6.1 on x86-64 or arm64 has syscall wrappers
		"syscall_on":   1,
		"tri":          triModule,
		"hz":           250,
		"str":          'a' | 'b'<<8,
		"chr":          'm',
		"absent":       7,
		"use_weak_map": 0,
	}
	for name, w := range want {
		p := coll.Programs[name]
		if p == nil {
			t.Errorf("program %s missing", name)
			continue
		}
		if got := runProgram(t, p); got != w {
			t.Errorf("%s returned %#x, want %#x", name, got, w)
		}
	}

	// The map the kernel holds is what Kconfig computes.
	vals, err := o.Kconfig(testTarget)
	if err != nil {
		t.Fatal(err)
	}
	var kernel []byte
	if err := coll.Maps[KconfigMap].Lookup(uint32(0), &kernel); err != nil {
		t.Fatal(err)
	}
	for name, v := range vals {
		if !bytes.Contains(kernel, v) {
			t.Errorf("%s = %q is not in the kernel's .kconfig map %q", name, v, kernel)
		}
	}
	if err := coll.Maps[KconfigMap].Put(uint32(0), kernel); err == nil {
		t.Error(".kconfig map is writable from user space; libbpf freezes it")
	}
}

func TestHostRunningKernel(t *testing.T) {
	testutils.RequireRoot(t, "loads BPF programs")
	for _, tc := range []struct {
		obj   string
		check func(t *testing.T, coll *ebpf.Collection)
	}{
		{"testdata/usdt.o", nil},
		{"testdata/kconfig.o", func(t *testing.T, coll *ebpf.Collection) {
			kv, err := Options{}.kernelVersion()
			if err != nil {
				t.Fatal(err)
			}
			if got := runProgram(t, coll.Programs["version"]); got != kv.Code() {
				t.Errorf("LINUX_KERNEL_VERSION = %#x, want %#x", got, kv.Code())
			}
		}},
	} {
		t.Run(tc.obj, func(t *testing.T) {
			spec, err := Load(tc.obj, Options{})
			if err != nil {
				t.Fatal(err)
			}
			coll, err := ebpf.NewCollection(spec)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			defer coll.Close()
			if tc.check != nil {
				tc.check(t, coll)
			}
		})
	}
}
