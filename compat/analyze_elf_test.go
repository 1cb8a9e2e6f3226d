package compat

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/retrobpf/retrobpf/internal/kversion"
)

// The objects in testdata are compiled by clang from testdata/src (see
// its Makefile); they are committed so the tests need no compiler.

func analyzeFile(t *testing.T, name string) *ObjectReport {
	t.Helper()
	rep, err := Analyze(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestAnalyzeClangRingbuf(t *testing.T) {
	rep := analyzeFile(t, "ringbuf_tp.o")
	p := rep.Program("handle_exec")
	if p == nil {
		t.Fatalf("programs: %+v", rep.Programs)
	}
	if p.Type != "tracepoint" || p.Attach != "tracepoint" || p.AttachTo != "syscalls/sys_enter_execve" {
		t.Errorf("type %q attach %q to %q", p.Type, p.Attach, p.AttachTo)
	}
	mustReq(t, *p, "map:ringbuf", "map events")
	mustReq(t, *p, "helper:bpf_ringbuf_output", "section tracepoint/syscalls/sys_enter_execve, insn ")
	mustReq(t, *p, "helper:bpf_get_current_comm", "insn ")
	if p.MinKernel != kversion.MustParse("5.8") || rep.MinKernel != kversion.MustParse("5.8") {
		t.Errorf("min kernel program %v object %v, want 5.8", p.MinKernel, rep.MinKernel)
	}
	if p.License != "GPL" || p.HasErrors() {
		t.Errorf("license %q findings %+v", p.License, p.Findings)
	}
	if len(p.Maps) != 1 || p.Maps[0] != "events" {
		t.Errorf("maps %v", p.Maps)
	}
}

func TestAnalyzeClangLegacyKprobe(t *testing.T) {
	rep := analyzeFile(t, "perf_kprobe.o")
	if len(rep.Programs) != 2 {
		t.Fatalf("%d programs", len(rep.Programs))
	}
	open, ret := rep.Program("trace_open"), rep.Program("trace_open_ret")
	if open == nil || ret == nil {
		t.Fatalf("programs %+v", rep.Programs)
	}
	mustReq(t, *open, "attach:kprobe", "kprobe/do_sys_open")
	mustReq(t, *open, "ksym:do_sys_open", "kprobe/do_sys_open")
	mustReq(t, *open, "map-flag:no_prealloc", "map counts")
	mustReq(t, *open, "map:perf_event_array", "map events")
	mustReq(t, *ret, "attach:kretprobe", "kretprobe/do_sys_open")
	noReq(t, *open, "insn:atomics") // __sync_fetch_and_add without using the result is XADD
	for _, p := range rep.Programs {
		if !p.MinKernel.Less(kversion.MustParse("4.19")) && p.MinKernel != kversion.MustParse("4.19") {
			t.Errorf("%s: min kernel %v, want at most 4.19", p.Name, p.MinKernel)
		}
	}
	if rep.MinKernel != kversion.MustParse("4.6") {
		t.Errorf("object min %v, want 4.6 (BPF_F_NO_PREALLOC)", rep.MinKernel)
	}
	if len(rep.MinKernelBy) != 1 || rep.MinKernelBy[0].Feature != "map-flag:no_prealloc" {
		t.Errorf("object min set by %+v", rep.MinKernelBy)
	}
}

func TestAnalyzeClangFentryCORE(t *testing.T) {
	rep := analyzeFile(t, "fentry_core.o")
	p := rep.Program("on_unlink")
	if p == nil {
		t.Fatalf("programs %+v", rep.Programs)
	}
	mustReq(t, *p, "attach:fentry", "fentry/do_unlinkat")
	mustReq(t, *p, "btf:vmlinux", "fentry/do_unlinkat")
	mustReq(t, *p, "btf:core", "insn ")
	mustReq(t, *p, "global-data", "insn ")
	mustReq(t, *p, "bpf2bpf-calls", "insn ")
	mustReq(t, *p, "insn:bounded-loops", "func sum_to")
	r := mustReq(t, *p, "helper:bpf_probe_read", "insn ")
	if !strings.Contains(r.Reason, "bpf_probe_read_kernel") {
		t.Errorf("reason %q should name the helper the program calls", r.Reason)
	}
	if p.MinKernel != kversion.MustParse("5.5") {
		t.Errorf("min kernel %v, want 5.5", p.MinKernel)
	}
}

func TestAnalyzeClangAtomicsKfunc(t *testing.T) {
	rep := analyzeFile(t, "v3_atomics.o")
	p := rep.Program("on_exec")
	if p == nil {
		t.Fatalf("programs %+v", rep.Programs)
	}
	mustReq(t, *p, "attach:tp_btf", "tp_btf/sched_process_exec")
	mustReq(t, *p, "insn:atomics", "insn ")
	mustReq(t, *p, "insn:jmp32", "insn ")
	mustReq(t, *p, "kfunc:bpf_task_acquire", "insn ")
	mustReq(t, *p, "kfunc-calls", "insn ")
	if p.MinKernel != kversion.MustParse("6.2") {
		t.Errorf("min kernel %v, want 6.2 (bpf_task_acquire)", p.MinKernel)
	}
}

func TestAnalyzeClangNonGPL(t *testing.T) {
	rep := analyzeFile(t, "nongpl.o")
	p := rep.Program("read_probe")
	if p == nil || !p.HasErrors() {
		t.Fatalf("expected a GPL finding: %+v", rep)
	}
	if !strings.Contains(p.Findings[0].Message, "GPL-only helper bpf_probe_read_kernel") {
		t.Errorf("finding %q", p.Findings[0].Message)
	}
}

func TestAnalyzeBadInput(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile("testdata/xdp_pass.o")
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	self, err := os.Executable() // an x86-64 (or other host) ELF
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		path string
		want error
		msg  string
	}{
		{write("text.o", []byte("hello, not an object\n")), ErrNotELF, "not an ELF"},
		{write("empty.o", nil), ErrNotELF, "empty"},
		{self, ErrNotBPF, "not a BPF object"},
		{write("trunc.o", good[:len(good)/2]), ErrBadELF, "ends early"},
		{write("header.o", good[:20]), ErrBadELF, "truncated"},
		{filepath.Join(dir, "missing.o"), fs.ErrNotExist, "no such file"},
		{dir, ErrIsDir, "is a directory"},
	}
	for _, c := range cases {
		_, err := Analyze(c.path)
		if err == nil {
			t.Errorf("%s: accepted", c.path)
			continue
		}
		if !strings.Contains(err.Error(), c.path) {
			t.Errorf("%s: error %q does not name the file", c.path, err)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error is not one line: %q", c.path, err)
		}
		if c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: error %v is not %v", c.path, err, c.want)
		}
		if c.msg != "" && !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: error %q lacks %q", c.path, err, c.msg)
		}
	}
}

func TestAnalyzeReader(t *testing.T) {
	data, err := os.ReadFile("testdata/ringbuf_tp.o")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := AnalyzeReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Program("handle_exec") == nil {
		t.Fatal("program missing")
	}
}
