package bpf

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/retrobpf/retrobpf/btfhub/minimize"
)

// TestExecsnoopExternalBTF runs the CO-RE legacy execsnoop the way a 4.19
// kernel without /sys/kernel/btf/vmlinux gets it: its relocations resolved
// against an external BTF file trimmed to the object's needs (what btfhub
// ships, here minimized from this kernel's BTF), not the kernel's own.
func TestExecsnoopExternalBTF(t *testing.T) {
	in := intentsOf("execsnoop")[3]
	if in.variant != "legacy" || !in.core {
		t.Fatalf("intent table changed: %+v", in)
	}
	requireRoot(t)
	full, err := btf.LoadKernelSpec()
	if err != nil {
		t.Skipf("no kernel BTF to minimize: %v", err)
	}
	obj, err := Object(in.object)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), in.object)
	if err := os.WriteFile(path, obj, 0o600); err != nil {
		t.Fatal(err)
	}
	raw, st, err := minimize.Objects(full, path)
	if err != nil {
		t.Fatalf("minimize BTF for %s: %v", in.object, err)
	}
	external, err := btf.LoadSpecFromReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("external BTF: %d types, %d bytes for %d relocations", st.Types, st.Bytes, st.Relocations)

	opts := ebpf.CollectionOptions{Programs: ebpf.ProgramOptions{KernelTypes: external}}
	spec, coll := loadVariantWith(t, in, nil, opts)
	putConfig(t, coll, ExecsnoopLegacyConfig{Flags: 1, TargetPpid: uint32(os.Getpid())})
	ev := openEvents(t, coll)
	attachAll(t, in, spec, coll)

	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "external-btf")
	cmd.Env = append(os.Environ(), execHelperEnv+"=1")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	pid := uint32(cmd.Process.Pid)
	got := waitFor(t, ev, eventTimeout, func(e *ExecsnoopLegacyEvent) bool { return e.Pid == pid })
	if got.Ppid != uint32(os.Getpid()) || cstr(got.Filename[:]) != self {
		t.Errorf("event ppid %d filename %q, want %d %q", got.Ppid, cstr(got.Filename[:]), os.Getpid(), self)
	}
}
