package triage

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cilium/ebpf"

	"github.com/retrobpf/retrobpf/internal/kversion"
	"github.com/retrobpf/retrobpf/reports"
)

// catalog is a tiny stand-in for compat.Lookup with the real Since values
// of the features these cases touch.
func catalog(id string) (Feature, bool) {
	since := map[string]string{
		"helper:bpf_ringbuf_output":  "5.8",
		"helper:bpf_ringbuf_reserve": "5.8",
		"helper:bpf_loop":            "5.17",
		"helper:bpf_strncmp":         "5.17",
		"prog:tracing":               "5.5",
		"prog:lsm":                   "5.7",
		"attach:fentry":              "5.5",
		"insn:bounded-loops":         "5.3",
		"limit:1m-insns":             "5.2",
		"prog:xdp":                   "4.8",
		"prog:kprobe":                "4.1",
	}
	s, ok := since[id]
	if !ok {
		return Feature{}, false
	}
	return Feature{ID: id, Since: kversion.MustParse(s)}, true
}

func lines(s string) []string { return strings.Split(strings.TrimSpace(s), "\n") }

// Log excerpts as the verifier prints them. The 6.18 ones are copied from
// real loads of testdata objects on the host; the older ones follow the
// wording of those kernels (register states 'inv' before 5.18, "unknown
// func" before 6.10, the 4.19 stats line).
func TestClassify(t *testing.T) {
	cases := []struct {
		name      string
		kernel    string
		prog      string
		err       error
		log       string
		class     reports.TriageClass
		feature   string
		minKernel string
		hint      string // substring
		src       string // "file:line" or text substring
	}{
		{name: "scalar deref 6.1", kernel: "6.1", err: unix.EACCES, log: `
0: R1=ctx(off=0,imm=0) R10=fp0
; return *(int *)(long)ctx->ifindex;
0: (61) r1 = *(u32 *)(r1 +12)         ; R1_w=scalar(umax=4294967295,var_off=(0x0; 0xffffffff))
1: (61) r0 = *(u32 *)(r1 +0)
R1 invalid mem access 'scalar'
processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0`,
			class: reports.TriageInvalidMemoryAccess, hint: "bpf_probe_read_kernel", src: "ctx->ifindex"},
		{name: "inv deref 5.10", kernel: "5.10", err: unix.EACCES, log: `
0: R1=ctx(id=0,off=0,imm=0) R10=fp0
0: (61) r1 = *(u32 *)(r1 +12)
1: R1_w=inv(id=0,umax_value=4294967295,var_off=(0x0; 0xffffffff)) R10=fp0
1: (61) r0 = *(u32 *)(r1 +0)
R1 invalid mem access 'inv'
processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0`,
			class: reports.TriageInvalidMemoryAccess, hint: "bpf_probe_read_kernel"},
		{name: "type=inv expected 4.19", kernel: "4.19", err: unix.EACCES, log: `
5: (85) call bpf_probe_read#4
R1 type=inv expected=fp
processed 6 insns (limit 131072), stack depth 16`,
			class: reports.TriageInvalidMemoryAccess, hint: "pointer"},
		{name: "null check 5.10", kernel: "5.10", err: unix.EACCES, log: `
4: (85) call bpf_map_lookup_elem#1
5: (79) r0 = *(u64 *)(r0 +0)
R0 invalid mem access 'map_value_or_null'
processed 6 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0`,
			class: reports.TriageInvalidMemoryAccess, hint: "NULL"},
		{name: "uninit stack 5.10", kernel: "5.10", err: unix.EACCES, log: `
12: (85) call bpf_perf_event_output#25
invalid indirect read from stack off -24+4 size 16
processed 13 insns (limit 1000000) max_states_per_insn 0 total_states 1 peak_states 1 mark_read 1`,
			class: reports.TriageInvalidMemoryAccess, hint: "zero-initialise"},
		{name: "uninit stack 6.1 register form", kernel: "6.1", err: unix.EACCES, log: `
12: (85) call bpf_perf_event_output#25
invalid indirect read from stack R4 off -24+4 size 16`,
			class: reports.TriageInvalidMemoryAccess, hint: "zero-initialise"},
		{name: "map value oob 6.18 (real)", kernel: "6.18", err: unix.EACCES, log: `
9: (15) if r1 == 0x0 goto pc+4        ; R1=map_value(map=small,ks=4,vs=8)
; return v[100] ? XDP_DROP : XDP_PASS; @ oob.c:19
10: (71) r1 = *(u8 *)(r1 +100)
invalid access to map value, value_size=8 off=100 size=1
R1 min value is outside of the allowed memory range
verification time 35 usec
stack depth 8
processed 10 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0`,
			class: reports.TriageInvalidMemoryAccess, hint: "value_size", src: "oob.c:19"},
		{name: "packet oob 6.18 (real)", kernel: "6.18", err: unix.EACCES, log: `
; return *(volatile __u32 *)data ? XDP_PASS : XDP_DROP; @ oob.c:27
1: (61) r1 = *(u32 *)(r1 +0)
invalid access to packet, off=0 size=4, R1(id=0,off=0,r=0)
R1 offset is outside of the packet
verification time 40 usec`,
			class: reports.TriageInvalidMemoryAccess, hint: "data_end", src: "oob.c:27"},
		{name: "unknown helper id 5.4", kernel: "5.4", err: unix.EINVAL, log: `
; bpf_ringbuf_output(&events, &e, sizeof(e), 0);
14: (85) call unknown#130
invalid func unknown#130
processed 15 insns (limit 1000000) max_states_per_insn 0 total_states 1 peak_states 1 mark_read 0`,
			class: reports.TriageMissingHelper, feature: "helper:bpf_ringbuf_output", minKernel: "5.8", hint: "5.8+", src: "bpf_ringbuf_output(&events"},
		{name: "helper not for type 5.10", kernel: "5.10", prog: "xdp", err: unix.EINVAL, log: `
2: (85) call bpf_skb_load_bytes#26
unknown func bpf_skb_load_bytes#26`,
			class: reports.TriageMissingHelper, feature: "helper:bpf_skb_load_bytes@xdp", hint: "not allow it in xdp"},
		{name: "helper not for type 6.10+", kernel: "6.12", prog: "xdp", err: unix.EINVAL, log: `
2: (85) call bpf_skb_load_bytes#26
program of this type cannot use helper bpf_skb_load_bytes#26`,
			class: reports.TriageMissingHelper, feature: "helper:bpf_skb_load_bytes@xdp", hint: "not allow it in xdp"},
		{name: "CO-RE poison 6.18 (real)", kernel: "6.18", err: errors.New("program core_missing_field: load program: bad CO-RE relocation: stack depth 0"), log: `
0: R1=ctx() R10=fp0
; instruction poisoned by CO-RE @ :0
0: (85) call unknown#195896080
invalid func unknown#195896080
verification time 67 usec
stack depth 0`,
			class: reports.TriageCORERelocation, hint: "bpf_core_field_exists"},
		{name: "kfunc poison", kernel: "6.1", err: unix.EINVAL, log: `
3: (85) call unknown#233750750
invalid func unknown#233750750`,
			class: reports.TriageMissingHelper, hint: "kfunc"},
		{name: "back-edge 4.19", kernel: "4.19", err: unix.EINVAL, log: `
back-edge from insn 12 to 8
processed 0 insns (limit 131072), stack depth 0`,
			class: reports.TriageLoop, feature: "insn:bounded-loops", minKernel: "5.3", hint: "unroll"},
		{name: "infinite loop 6.18 (real)", kernel: "6.18", err: unix.EINVAL, log: `
; while (*(volatile __u64 *)v) @ loop.c:19
8: (79) r1 = *(u64 *)(r0 +0)
infinite loop detected at insn 9
cur state: R0=map_value(map=cfg,ks=4,vs=8) R1=scalar() R10=fp0 fp-8=0000????
old state: R0=map_value(map=cfg,ks=4,vs=8) R1=scalar() R10=fp0 fp-8=0000????
verification time 56 usec
stack depth 8
processed 21 insns (limit 1000000) max_states_per_insn 1 total_states 2 peak_states 2 mark_read 0`,
			class: reports.TriageLoop, hint: "bpf_loop", src: "loop.c:19"},
		{name: "too large 6.18 (real)", kernel: "6.18", err: unix.E2BIG, log: `
7: (07) r2 += 1
BPF program is too large. Processed 1000001 insn
verification time 1093017 usec
stack depth 0`,
			class: reports.TriageTooComplex, hint: "tail calls"},
		{name: "too large 4.19", kernel: "4.19", err: unix.E2BIG, log: `
BPF program is too large. Processed 131073 insn
processed 131073 insns (limit 131072), stack depth 0`,
			class: reports.TriageTooComplex, feature: "limit:1m-insns", minKernel: "5.2", hint: "5.2+"},
		{name: "jump sequence (EFAULT) 6.18 (real)", kernel: "6.18", err: unix.EFAULT, log: `
16: (15) if r0 == 0x0 goto pc-14
The sequence of 8193 jumps is too complex.
verification time 154444 usec`,
			class: reports.TriageTooComplex, hint: "split"},
		{name: "unreleased ref 6.18 (real)", kernel: "6.18", err: unix.EINVAL, log: `
; } @ leak.c:18
8: (b7) r0 = 2                        ; R0=2 refs=2
9: (95) exit
Unreleased reference id=2 alloc_insn=4
BPF_EXIT instruction in main prog would lead to reference leak
verification time 69 usec`,
			class: reports.TriageUnreleasedReference, hint: "bpf_ringbuf_submit", src: "leak.c:18"},
		{name: "unreleased ref 5.10", kernel: "5.10", err: unix.EINVAL, log: `
18: (95) exit
Unreleased reference id=4 alloc_insn=11`,
			class: reports.TriageUnreleasedReference},
		{name: "gpl 6.18 (real)", kernel: "6.18", err: unix.EINVAL, log: `
; bpf_trace_printk(fmt, sizeof(fmt)); @ nongpl.c:9
8: (b7) r2 = 7                        ; R2=7
9: (85) call bpf_trace_printk#6
cannot call GPL-restricted function from non-GPL compatible program`,
			class: reports.TriageGPLOnly, hint: "Dual BSD/GPL", src: "nongpl.c:9"},
		{name: "gpl 4.14 wording", kernel: "4.14", err: unix.EINVAL, log: `
cannot call GPL only function from proprietary program`,
			class: reports.TriageGPLOnly},
		{name: "combined stack", kernel: "5.10", err: unix.EACCES, log: `
combined stack size of 3 calls is 544. Too large`,
			class: reports.TriageStack, hint: "512-byte"},
		{name: "stack off", kernel: "5.10", err: unix.EACCES, log: `
invalid stack off=-520 size=8`,
			class: reports.TriageStack},
		{name: "isa jmp32 on 4.19", kernel: "4.19", err: unix.EINVAL, log: `
unknown opcode 16`,
			class: reports.TriageISA, hint: "-mcpu=v2"},
		{name: "isa alu", kernel: "5.10", err: unix.EINVAL, log: `
invalid BPF_ALU opcode f0`,
			class: reports.TriageISA},
		{name: "memlock", kernel: "5.4", err: fmt.Errorf("load program: %w (MEMLOCK may be too low, consider rlimit.RemoveMemlock)", unix.EPERM),
			class: reports.TriagePermission, hint: "RLIMIT_MEMLOCK"},
		{name: "ringbuf map missing", kernel: "5.4", err: fmt.Errorf("map events: map create: %w", fmt.Errorf("ring buffer maps: %w", ebpf.ErrNotSupported)),
			class: reports.TriageMissingMapType, hint: "perf event array"},
		{name: "no kernel btf", kernel: "5.4", err: fmt.Errorf("program x: apply CO-RE relocations: load kernel spec: %w", fmt.Errorf("no BTF found for kernel version 5.4.0: %w", ebpf.ErrNotSupported)),
			class: reports.TriageNoKernelBTF, feature: "btf:core", hint: "--btf"},
		{name: "prog type unknown (empty log)", kernel: "4.19", prog: "tracing", err: unix.EINVAL,
			class: reports.TriageUnsupportedProgType, feature: "prog:tracing", minKernel: "5.5", hint: "5.5+"},
		{name: "E2BIG empty log, small program", kernel: "4.19", prog: "xdp", err: unix.E2BIG,
			class: reports.TriageOther},
		{name: "callback subprog on 5.10 (real)", kernel: "5.10", err: unix.EINVAL, log: `
number of funcs in func_info doesn't match number of subprogs
verification time 118 usec
stack depth 0
processed 0 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0`,
			class: reports.TriageOther, hint: "5.13"},
		{name: "uninitialised register is not a memory access", kernel: "6.1", err: unix.EACCES, log: `
5: (bf) r1 = r0
R0 !read_ok`,
			class: reports.TriageOther, hint: "initialise"},
		{name: "unknown message", kernel: "6.12", err: unix.EINVAL, log: `
5: (85) call bpf_foo#999
something the verifier never said before`,
			class: reports.TriageOther},
		{name: "kernel 7.3 trailer", kernel: "7.3", err: unix.EACCES, log: `
; return *(int *)p; @ x.c:10
3: (61) r0 = *(u32 *)(r1 +0)
R1 invalid mem access 'scalar'
Verification failed: invalid memory access
Reason: R1 is a scalar
At: x.c:10
Suggestion: use bpf_probe_read_kernel`,
			class: reports.TriageInvalidMemoryAccess, src: "x.c:10"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := Input{Err: c.err, Kernel: kversion.MustParse(c.kernel), ProgType: c.prog, Lookup: catalog}
			if c.log != "" {
				in.Log = lines(c.log)
			}
			got := Classify(in)
			if got.Class != c.class {
				t.Fatalf("class %q, want %q (message %q)", got.Class, c.class, got.Message)
			}
			if got.Message == "" {
				t.Error("empty message")
			}
			if got.Feature != c.feature {
				t.Errorf("feature %q, want %q", got.Feature, c.feature)
			}
			if c.minKernel != "" && (got.MinKernel == nil || got.MinKernel.String() != c.minKernel) {
				t.Errorf("min kernel %v, want %s", got.MinKernel, c.minKernel)
			}
			if c.hint != "" && !strings.Contains(got.Hint, c.hint) {
				t.Errorf("hint %q lacks %q", got.Hint, c.hint)
			}
			if c.log != "" && c.class == reports.TriageOther && strings.Contains(got.Message, "load program") {
				t.Errorf("message %q is the wrapped error, not the kernel's line", got.Message)
			}
			if c.class != reports.TriageOther && got.Hint == "" {
				t.Error("no hint")
			}
			if c.src != "" {
				if got.Source == nil {
					t.Fatalf("no source location, want %s", c.src)
				}
				s := fmt.Sprintf("%s:%d %s", got.Source.File, got.Source.Line, got.Source.Text)
				if !strings.Contains(s, c.src) {
					t.Errorf("source %q lacks %q", s, c.src)
				}
			}
		})
	}
}

func TestFallbackHintComesFirst(t *testing.T) {
	got := Classify(Input{
		Err: unix.EINVAL, Kernel: kversion.MustParse("5.4"), Lookup: catalog,
		Log:       []string{"invalid func unknown#130"},
		Fallbacks: []string{"legacy"},
	})
	if !strings.HasPrefix(got.Hint, `use variant "legacy"`) {
		t.Fatalf("hint %q does not start with the fallback", got.Hint)
	}
	if !strings.Contains(got.Hint, "helper:bpf_ringbuf_output needs kernel 5.8+ (this is 5.4)") {
		t.Fatalf("hint %q lacks the minimum kernel", got.Hint)
	}
}

func ExampleClassify() {
	t := Classify(Input{
		Err:    unix.EINVAL,
		Kernel: kversion.MustParse("4.19"),
		Log:    []string{"back-edge from insn 12 to 8", "processed 0 insns (limit 131072), stack depth 0"},
	})
	fmt.Println(t.Class, "-", t.Message)
	// Output: loop - back-edge from insn 12 to 8
}

func FuzzClassify(f *testing.F) {
	f.Add("R1 invalid mem access 'inv'\nprocessed 2 insns")
	f.Add("; x @ a.c:3\n1: (61) r1 = *(u32 *)(r1 +0)\ninvalid func unknown#130")
	f.Fuzz(func(t *testing.T, log string) {
		got := Classify(Input{Err: unix.EINVAL, Log: strings.Split(log, "\n"), Kernel: kversion.MustParse("5.10"), Lookup: catalog})
		if got.Class == "" {
			t.Fatal("empty class")
		}
	})
}

// Under lockdown a helper the kernel has is withheld: the same verifier
// line is a lockdown rejection there, a missing helper elsewhere.
func TestClassifyLockdown(t *testing.T) {
	log := strings.Split(`0: R1=ctx() R10=fp0
; bpf_probe_read_kernel(&v, sizeof(v), ctx);
3: (85) call bpf_probe_read#4
unknown func bpf_probe_read#4
processed 4 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0`, "\n")
	in := Input{Err: unix.EINVAL, Log: log, Kernel: kversion.MustParse("6.1"), ProgType: "tracepoint"}
	for _, tc := range []struct {
		lockdown string
		class    reports.TriageClass
		hint     string
	}{
		{"", reports.TriageMissingHelper, "not allow it in tracepoint programs"},
		{"integrity", reports.TriageMissingHelper, "not allow it"}, // integrity leaves kernel reads alone
		{"confidentiality", reports.TriageLockdown, "lockdown=confidentiality, which denies bpf_probe_read"},
	} {
		in.Lockdown = tc.lockdown
		got := Classify(in)
		if got.Class != tc.class || !strings.Contains(got.Hint, tc.hint) {
			t.Errorf("lockdown %q: %s, hint %q; want %s with %q", tc.lockdown, got.Class, got.Hint, tc.class, tc.hint)
		}
		if tc.class == reports.TriageLockdown && (got.MinKernel != nil || got.Feature != "helper:bpf_probe_read") {
			t.Errorf("lockdown: feature %q min kernel %v: no kernel version fixes lockdown", got.Feature, got.MinKernel)
		}
	}
}
