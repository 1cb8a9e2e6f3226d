package testutils

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/cilium/ebpf/btf"
)

func TestDuplicateStructs(t *testing.T) {
	raw, err := os.ReadFile("/sys/kernel/btf/vmlinux")
	if err != nil {
		t.Skipf("no kernel BTF to copy: %v", err)
	}
	dup, err := DuplicateStructs(raw, "task_struct")
	if err != nil {
		t.Fatal(err)
	}
	spec, err := btf.LoadSpecFromReader(bytes.NewReader(dup))
	if err != nil {
		t.Fatal(err)
	}
	var s *btf.Struct
	if err := spec.TypeByName("task_struct", &s); !errors.Is(err, btf.ErrMultipleMatches) {
		t.Fatalf("TypeByName(task_struct) = %v, want ErrMultipleMatches", err)
	}
}
