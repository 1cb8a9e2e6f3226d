package objload

import (
	"bytes"
	"errors"
	"os"
	"strings"
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

func TestTypedKsymMissing(t *testing.T) {
	o, err := ReadFile("testdata/ksym.o")
	if err != nil {
		t.Fatal(err)
	}
	if !o.typedKsyms["runqueues"] || !o.typedKsyms["retrobpf_no_such_var"] {
		t.Fatalf("typed ksyms %v", o.typedKsyms)
	}
	// A target whose BTF lacks runqueues: the strong one is unresolved.
	_, err = o.Prepare(Options{Release: "0.0-test", KernelTypes: emptyBTF(t)})
	if !errors.Is(err, ErrUnresolved) || !strings.Contains(err.Error(), "runqueues") {
		t.Errorf("Prepare = %v, want ErrUnresolved naming runqueues", err)
	}
}

func TestHostTypedKsym(t *testing.T) {
	testutils.RequireRoot(t, "loads BPF programs")
	spec, err := Load("testdata/ksym.o", Options{})
	if err != nil {
		t.Fatal(err)
	}
	one := func(name string) (*ebpf.Collection, error) {
		cs := spec.Copy()
		for n := range cs.Programs {
			if n != name {
				delete(cs.Programs, n)
			}
		}
		return ebpf.NewCollection(cs)
	}
	coll, err := one("weak_absent")
	if err != nil {
		t.Fatalf("weak_absent: %v", err)
	}
	defer coll.Close()
	if got := runProgram(t, coll.Programs["weak_absent"]); got != 0 {
		t.Errorf("&retrobpf_no_such_var = %d, want NULL", got)
	}

	coll, err = one("percpu")
	if err == nil {
		coll.Close()
		return
	}
	// Without CONFIG_KALLSYMS_ALL the kernel has the variable's BTF but no
	// address for it, and says so only for a BPF_PSEUDO_BTF_ID load:
	// libbpf's object fails the same way here.
	if haveKallsym("runqueues") || !strings.Contains(err.Error(), "kernel symbol 'runqueues'") {
		t.Fatalf("percpu: %v", err)
	}
	t.Logf("percpu refused as under libbpf (no data symbols in kallsyms): %v", firstLine(err.Error()))
}

func haveKallsym(name string) bool {
	raw, err := os.ReadFile("/proc/kallsyms")
	return err == nil && bytes.Contains(raw, []byte(" "+name+"\n"))
}
