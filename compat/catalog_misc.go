package compat

import "github.com/retrobpf/retrobpf/compat/internal/kenum"

// btfFeatures are the BTF-related features.
func btfFeatures() []Feature {
	return []Feature{
		{ID: "btf:kernel", Description: "BTF support in bpf(): load BTF blobs (BPF_BTF_LOAD)", Since: v("4.18"),
			Probe: "load a minimal BTF blob", Hint: "strip BTF from the object (cilium/ebpf does this automatically)"},
		{ID: "btf:func", Description: "program BTF: func_info/line_info (BTF_KIND_FUNC)", Since: v("5.0"),
			Probe: "load a BTF blob with a FUNC", Hint: "cilium/ebpf drops func/line info automatically"},
		{ID: "btf:datasec", Description: "BTF VAR/DATASEC (needed for global data maps)", Since: v("5.2"),
			Probe: "load a BTF blob with a DATASEC", Hint: "avoid global variables (global-data)"},
		{ID: "btf:global-func", Description: "global (non-static) BPF functions verified separately (BTF func linkage)", Since: v("5.6"),
			Probe: "load a BTF blob with a global FUNC", Hint: "mark sub-programs static (__noinline static)"},
		{ID: "btf:vmlinux", Description: "kernel BTF in /sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF)", Since: v("5.4"), Config: "CONFIG_DEBUG_INFO_BTF",
			Probe: "parse /sys/kernel/btf/vmlinux", Hint: "supply external BTF (--btf, e.g. from BTFHub) for CO-RE; tp_btf/fentry/LSM need kernel BTF"},
		{ID: "btf:modules", Description: "module BTF in /sys/kernel/btf/<module> (CONFIG_DEBUG_INFO_BTF_MODULES)", Since: v("5.11"), Config: "CONFIG_DEBUG_INFO_BTF_MODULES",
			Probe: "list /sys/kernel/btf for files other than vmlinux", Hint: "avoid CO-RE relocations against module types"},
		{ID: "btf:core", Description: "kernel types for CO-RE relocations: vmlinux BTF or an external BTF file", Since: v("5.4"), Config: "CONFIG_DEBUG_INFO_BTF",
			Probe: "btf:vmlinux, or an external BTF given with --btf", Hint: "fetch external BTF for this kernel (retrobpf btf fetch / --btf)"},
	}
}

// insnFeatures are instruction set levels and verifier capabilities.
func insnFeatures() []Feature {
	return []Feature{
		{ID: "insn:v2", Description: "ISA v2: BPF_JLT/JLE/JSLT/JSLE jumps", Since: v("4.14"),
			Probe: "load a program using JLT (cilium/ebpf features.HaveV2ISA)", Hint: "compile with -mcpu=v1"},
		{ID: "insn:v3", Description: "ISA v3: 32-bit jumps (JMP32) and ALU32", Since: v("5.1"),
			Probe: "load a program using JMP32 (cilium/ebpf features.HaveV3ISA)", Hint: "compile with -mcpu=v2 (clang default before 18 was v1/v2)"},
		{ID: "insn:jmp32", Description: "BPF_JMP32 instruction class", Since: v("5.1"),
			Probe: "same as insn:v3", Hint: "compile with -mcpu=v2"},
		{ID: "insn:v4", Description: "ISA v4: sign-extending loads/moves, bswap, sdiv/smod, gotol", Since: v("6.6"),
			Probe: "load a program using JA32 (cilium/ebpf features.HaveV4ISA)", Hint: "compile with -mcpu=v3"},
		{ID: "insn:bounded-loops", Description: "bounded loops (back-edges) accepted by the verifier", Since: v("5.3"),
			Probe: "load a program with a backward jump (cilium/ebpf features.HaveBoundedLoops)", Hint: "unroll loops (#pragma unroll) in a fallback variant"},
		{ID: "insn:atomics", Description: "BPF_ATOMIC fetch-and-op, xchg and cmpxchg", Since: v("5.12"),
			Probe: "load a program using atomic fetch_add", Hint: "use __sync_fetch_and_add without using the result (plain XADD, 4.x), or per-CPU maps"},
	}
}

// miscFeatures are limits and feature IDs without a kind prefix.
func miscFeatures() []Feature {
	return []Feature{
		{ID: "limit:1m-insns", Description: "programs above 4096 instructions (1M verified-instruction limit) for privileged loaders", Since: v("5.2"),
			Probe: "load a 4097-instruction program (cilium/ebpf features.HaveLargeInstructions)", Hint: "split the program with tail calls (map:prog_array) into pieces under 4096 instructions"},
		{ID: "bpf-syscall", Description: "the bpf() system call", Since: v("3.18"),
			Probe: "BPF_PROG_LOAD of an invalid program: anything but ENOSYS", Hint: "enable CONFIG_BPF_SYSCALL"},
		{ID: "bpf2bpf-calls", Description: "BPF-to-BPF function calls", Since: v("4.16"),
			Probe: "load a program with a BPF-to-BPF call", Hint: "mark functions __always_inline"},
		{ID: "callbacks", Description: "BPF functions passed as callbacks (ld_imm64 BPF_PSEUDO_FUNC: bpf_loop, bpf_for_each_map_elem, timers)", Since: v("5.13"),
			Probe: "load a program passing a subprogram to bpf_for_each_map_elem", Hint: "kernels before 5.13 reject BPF_PSEUDO_FUNC (unrecognized bpf_ld_imm64 insn): ship a variant without callbacks (a bounded loop instead of bpf_loop)"},
		{ID: "stack-ptr-through-helper", Description: "a BTF-typed kernel pointer (a tp_btf/fentry argument) spilled to the stack keeps its type after the slot's address is passed to a helper; verifiers that assume the helper may write that stack turn it into a number (measured: kept in Debian's 5.10, gone in 6.1 and 6.12, back in 6.18)",
			Since: v("5.5"), Lapse: &Lapse{KeptThrough: v("5.10"), LostIn: v("6.1"), LostThrough: v("6.12"), BackIn: v("6.18")},
			Probe: "load a tp_btf program on sched_process_exec that spills its task_struct argument, passes the slot to bpf_map_lookup_elem as the key, reloads and dereferences it",
			Hint:  "keep the pointer in a callee-saved register (r6-r9) or re-read it from ctx after the helper call; copy it into a separate key variable for the map lookup"},
		{ID: "tail-calls", Description: "tail calls (bpf_tail_call)", Since: v("4.2"),
			Probe: "prog_array map creation plus helper probe of bpf_tail_call", Hint: "inline the called programs"},
		{ID: "bpf2bpf-tail-calls", Description: "tail calls from programs that use BPF-to-BPF calls (x86_64)", Since: v("5.10"),
			Probe: "load a program with a BPF-to-BPF call and a tail call", Hint: "inline sub-programs in programs that tail call"},
		{ID: "ringbuf-reserve", Description: "ring buffer reserve/submit path works end to end", Since: v("5.8"),
			Probe: "create a ringbuf, test-run a program that reserves and submits a record, read it back", Hint: "use a perf event array (map:perf_event_array) fallback variant with bpf_perf_event_output"},
		{ID: "global-data", Description: "global variables: .data/.rodata/.bss maps (direct map value access)", Since: v("5.2"),
			Probe: "load a program reading an array map value through BPF_PSEUDO_MAP_VALUE", Hint: "move globals into an explicit array map and look them up"},
		{ID: "sleepable", Description: "sleepable programs (fentry.s, lsm.s, uprobe.s, iter.s)", Since: v("5.10"),
			Probe: "load a sleepable fentry program", Hint: "use a non-sleepable variant with bpf_probe_read_user"},
		{ID: "kfunc-calls", Description: "calling kernel functions (kfuncs) from BPF", Since: v("5.13"),
			Probe: "load a program calling a vmlinux kfunc found in BTF", Hint: "avoid kfuncs in a fallback variant"},
		{ID: "map-batch", Description: "batched map operations (BPF_MAP_*_BATCH)", Since: v("5.6"),
			Probe: "BPF_MAP_LOOKUP_BATCH on an array", Hint: "iterate keys one by one (cilium/ebpf does this for you)"},
		{ID: "memcg-accounting", Description: "BPF memory charged to memcg instead of RLIMIT_MEMLOCK", Since: v("5.11"),
			Probe: "not probed (cilium/ebpf rlimit.RemoveMemlock detects it)", Hint: "raise RLIMIT_MEMLOCK (rlimit.RemoveMemlock) before loading"},
		{ID: "probe-read-kernel", Description: "bpf_probe_read_{kernel,user}[_str] helpers", Since: v("5.5"),
			Probe: "helper probe of bpf_probe_read_kernel for kprobe", Hint: "cilium/ebpf rewrites them to bpf_probe_read[_str] automatically below 5.5"},
		{ID: "jit", Description: "BPF JIT compiler enabled (net.core.bpf_jit_enable)", Since: v("3.16"),
			Probe: "read /proc/sys/net/core/bpf_jit_enable", Hint: "set net.core.bpf_jit_enable=1; the interpreter is slow or compiled out (BPF_JIT_ALWAYS_ON)"},
		{ID: "unprivileged-bpf", Description: "unprivileged bpf() allowed (kernel.unprivileged_bpf_disabled=0)", Since: v("4.4"),
			Probe: "read /proc/sys/kernel/unprivileged_bpf_disabled", Hint: "run the loader with CAP_BPF/CAP_SYS_ADMIN"},
		{ID: "bpf-token", Description: "BPF tokens (delegated bpf() rights)", Since: v("6.9"),
			Probe: "not probed", Hint: "run the loader with CAP_BPF"},
	}
}

// statsFeatures are run-time statistics sources.
func statsFeatures() []Feature {
	return []Feature{
		{ID: "stats:run-time", Description: "run_time_ns/run_cnt in bpf_prog_info (kernel.bpf_stats_enabled)", Since: v("5.1"),
			Probe: "the kernel.bpf_stats_enabled sysctl exists", Hint: "measure with BPF_PROG_TEST_RUN or user-space timing; overhead is not measurable in-kernel"},
		{ID: "stats:enable-stats", Description: "BPF_ENABLE_STATS: fd-scoped run-time stats", Since: v("5.8"),
			Probe: "BPF_ENABLE_STATS(BPF_STATS_RUN_TIME) and close the fd", Hint: "write kernel.bpf_stats_enabled=1 (stats:run-time) instead"},
		{ID: "stats:verified-insns", Description: "verified_insns in bpf_prog_info", Since: v("5.16"),
			Probe: "load a program and read verified_insns from its info", Hint: "parse the verifier log's 'processed N insns' line (LogLevelStats)"},
		{ID: "stats:recursion-misses", Description: "recursion_misses in bpf_prog_info", Since: v("5.12"),
			Probe: "not probed separately (bpf_prog_info size)", Hint: "no fallback"},
	}
}

// testRunSince are the first kernels with BPF_PROG_TEST_RUN for a program
// type, where known. Missing types have no test runner upstream or no
// version we could pin down: the probe decides.
var testRunSince = map[string]string{
	"socket_filter":  "4.12",
	"sched_cls":      "4.12",
	"sched_act":      "4.12",
	"xdp":            "4.12",
	"lwt_in":         "4.12",
	"lwt_out":        "4.12",
	"lwt_xmit":       "4.12",
	"flow_dissector": "5.0",
	"raw_tracepoint": "5.10",
	"syscall":        "5.14",
}

func testRunFeatures() []Feature {
	out := make([]Feature, 0, len(kenum.ProgTypes))
	for _, p := range kenum.ProgTypes {
		desc := "BPF_PROG_TEST_RUN for " + p.Name + " programs"
		if _, ok := testRunSince[p.Name]; !ok {
			desc += " (no upstream version pinned: probe it)"
		}
		out = append(out, Feature{
			ID:          FeatureID("test-run:" + p.Name),
			Kind:        KindTestRun,
			Description: desc,
			Since:       v(testRunSince[p.Name]),
			Probe:       "BPF_PROG_TEST_RUN of a minimal " + p.Name + " program: ENOTSUPP/EINVAL means no runner",
			Hint:        "measure in the QEMU matrix with a real trigger instead of test-run; overhead comes from run-time stats (stats:run-time)",
		})
	}
	return out
}

// symbolFeatures are well-known kernel symbols and kfuncs with a version.
func symbolFeatures() []Feature {
	ksym := func(name, since, desc, hint string) Feature {
		return Feature{ID: FeatureID("ksym:" + name), Kind: KindMisc, Description: desc, Since: v(since),
			Probe: "look " + name + " up in /proc/kallsyms", Hint: hint}
	}
	kfunc := func(name, since, desc string) Feature {
		return Feature{ID: FeatureID("kfunc:" + name), Kind: KindKfunc, Description: desc, Since: v(since),
			Probe: "look " + name + " up as a FUNC in vmlinux BTF",
			Hint:  "kfuncs are unstable kernel API: guard the call with bpf_ksym_exists() or ship a variant without it"}
	}
	return []Feature{
		ksym("do_sys_openat2", "5.6", "do_sys_openat2 (openat2 syscall plumbing; do_sys_open before 5.6)", "attach to do_sys_open (ksym:do_sys_open) on older kernels"),
		ksym("do_sys_open", "3.19", "do_sys_open (open/openat before 5.6; still present as a wrapper)", "attach to do_sys_openat2 or the syscalls:sys_enter_openat tracepoint"),
		ksym("kernel_clone", "5.10", "kernel_clone (fork; _do_fork before 5.10)", "attach to _do_fork (ksym:_do_fork) on older kernels"),
		ksym("_do_fork", "3.19", "_do_fork (fork; renamed kernel_clone in 5.10)", "attach to kernel_clone on 5.10+"),
		ksym("__x64_sys_execve", "4.17", "x86-64 syscall wrapper symbols (__x64_sys_*; sys_* before 4.17)", "attach to sys_execve on older kernels, or use the syscalls tracepoints"),
		ksym("tcp_v4_connect", "3.18", "tcp_v4_connect (IPv4 active open, older than eBPF itself; stable kprobe/fentry target)", "use the sock:inet_sock_set_state tracepoint (4.16+) if the symbol is inlined"),
		ksym("tcp_v6_connect", "3.18", "tcp_v6_connect (IPv6 active open, older than eBPF itself)", "use the sock:inet_sock_set_state tracepoint (4.16+)"),
		ksym("blk_mq_start_request", "3.18", "blk_mq_start_request (block request issue in blk-mq, 3.13, older than eBPF)", "use the block:block_rq_issue tracepoint"),
		ksym("finish_task_switch", "3.18", "finish_task_switch (context switch tail, older than eBPF itself; may carry a .isra suffix)", "use the sched:sched_switch tracepoint or tp_btf/sched_switch"),
		ksym("bpf_fentry_test1", "5.5", "bpf_fentry_test1 (test target used for fentry probes)", "probe fentry on another BTF function"),
		kfunc("bpf_task_acquire", "6.2", "take a reference on a task_struct"),
		kfunc("bpf_task_release", "6.2", "release a task_struct reference"),
		kfunc("bpf_rcu_read_lock", "6.2", "RCU read-side critical section in BPF"),
		kfunc("bpf_obj_new_impl", "6.2", "allocate a program-local object (bpf_obj_new)"),
		kfunc("bpf_cgroup_acquire", "6.2", "take a reference on a cgroup"),
		kfunc("bpf_task_from_pid", "6.3", "look a task up by pid"),
		kfunc("bpf_cpumask_create", "6.3", "allocate a BPF cpumask"),
		kfunc("bpf_dynptr_from_skb", "6.3", "dynptr over an skb"),
		kfunc("bpf_iter_num_new", "6.4", "open-coded numeric iterator (bpf_for)"),
	}
}
