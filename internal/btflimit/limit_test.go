package btflimit

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"

	"github.com/retrobpf/retrobpf/internal/testutils"
)

var (
	rawBTF       = testutils.RawBTF
	info         = testutils.BTFInfo
	intRecord    = testutils.IntRecord
	pointerChain = testutils.PointerChainBTF
)

func TestCheckKernelBTF(t *testing.T) {
	raw, err := os.ReadFile("/sys/kernel/btf/vmlinux")
	if err != nil {
		t.Skipf("no kernel BTF: %v", err)
	}
	g, err := parse(raw, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	deepest, err := g.check(DefaultLimits)
	if err != nil {
		t.Fatalf("the running kernel's BTF is refused: %v", err)
	}
	t.Logf("%d types, reference chains bounded by %d (limit %d)", g.n, deepest, DefaultLimits.MaxDepth)
	lim := DefaultLimits
	lim.MaxDepth = deepest - 1
	if _, err = g.check(lim); !errors.Is(err, ErrTooDeep) {
		t.Fatalf("depth limit 1 not enforced on kernel BTF: %v", err)
	}
}

func TestCheckRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  []byte
		want error
	}{
		{"pointer chain", pointerChain(DefaultLimits.MaxDepth + 10), ErrTooDeep},
		{"typedef cycle", rawBTF(
			[]uint32{1, info(kindTypedef, 0), 2},
			[]uint32{1, info(kindTypedef, 0), 1}), ErrCycle},
		{"const names itself", rawBTF([]uint32{0, info(kindConst, 0), 1}), ErrCycle},
		{"struct contains itself", rawBTF(intRecord,
			[]uint32{1, info(kindStruct, 2), 8, 1, 1, 0, 1, 2, 32}), ErrCycle},
		{"cut short", rawBTF(intRecord)[:30], ErrMalformed},
		{"no magic", []byte(strings.Repeat("x", 40)), ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(tc.raw, DefaultLimits)
			if !errors.Is(err, tc.want) || !errors.Is(err, ErrRefused) {
				t.Fatalf("Check = %v, want %v", err, tc.want)
			}
		})
	}
	lim := DefaultLimits
	lim.MaxTypes = 10
	if err := Check(pointerChain(20), lim); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("21 types with MaxTypes 10: %v", err)
	}
	lim.MaxBytes = 10
	if err := Check(pointerChain(1), lim); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("MaxBytes 10: %v", err)
	}
}

func TestCheckAccepts(t *testing.T) {
	// A linked list: the struct's cycle passes through a pointer.
	list := rawBTF(intRecord,
		[]uint32{1, info(kindStruct, 2), 16, 1, 3, 0, 1, 1, 64},
		[]uint32{0, info(kindPtr, 0), 2})
	if err := Check(list, DefaultLimits); err != nil {
		t.Fatal(err)
	}
	spec, err := Load(list)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := spec.TypeByID(2); err != nil {
		t.Fatal(err)
	}
	if err := Check(pointerChain(1000), DefaultLimits); err != nil {
		t.Fatal(err)
	}
}

// TestDecoderStackOverflow keeps the reproducer of the cilium/ebpf bug this
// package works around: the chain Check refuses really kills the decoder.
// It runs in a child process, since a Go stack overflow cannot be recovered.
// When it starts failing, upstream fixed the recursion and the depth limit
// can go.
func TestDecoderStackOverflow(t *testing.T) {
	if os.Getenv("BTFLIMIT_OVERFLOW_CHILD") != "" {
		spec, err := btf.LoadSpecFromReader(bytes.NewReader(pointerChain(400_000)))
		if err != nil {
			t.Fatal(err)
		}
		_, err = spec.TypeByID(2)
		t.Fatalf("decoded a 400k-deep chain: %v", err)
	}
	if testing.Short() {
		t.Skip("spends about 1 GB of stack in a child process")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestDecoderStackOverflow$")
	cmd.Env = append(os.Environ(), "BTFLIMIT_OVERFLOW_CHILD=1")
	out, _ := cmd.CombinedOutput()
	if !bytes.Contains(out, []byte("stack overflow")) {
		t.Fatalf("cilium/ebpf's decoder no longer overflows on a 400k-deep pointer chain; output:\n%.2000s", out)
	}
}
