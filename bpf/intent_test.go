package bpf

import "github.com/retrobpf/retrobpf/internal/kversion"

// intent is what a variant is designed to be; the tests hold the objects,
// the manifest and retrobpf's static analysis to it.
type intent struct {
	program, variant, object string
	hook                     string // what it attaches to
	min                      string // intended minimum upstream kernel
	// legacy variants must load on 4.19: ISA v2, no loops, no global data,
	// no ring buffer, <= 4096 instructions.
	legacy bool
	// core: the object has CO-RE relocations, so it needs kernel BTF
	// (vmlinux, 5.4+) or an external BTF file.
	core bool
	// analyzedMin, when set, is what static analysis must report instead of
	// min, with the documented reason.
	analyzedMin, why string
}

var intents = []intent{
	{"execsnoop", "modern", "execsnoop_modern_bpfel.o", "tp_btf/sched_process_exec", "5.17", false, true, "", ""},
	{"execsnoop", "ringbuf", "execsnoop_ringbuf_bpfel.o", "tp_btf/sched_process_exec", "5.8", false, true, "", ""},
	{"execsnoop", "perfbuf", "execsnoop_perfbuf_bpfel.o", "tp_btf/sched_process_exec", "5.5", false, true, "", ""},
	{"execsnoop", "legacy", "execsnoop_legacy_bpfel.o", "tracepoint/sched/sched_process_exec", "4.19", true, true,
		"5.4", "ppid via CO-RE: 4.19 needs an external BTF file, without one vmlinux BTF (5.4)"},
	{"execsnoop", "legacy-nobtf", "execsnoop_legacy_nobtf_bpfel.o", "tracepoint/sched/sched_process_exec", "4.19", true, false, "", ""},
	{"opensnoop", "modern", "opensnoop_modern_bpfel.o", "fexit/do_sys_openat2", "5.8", false, true, "", ""},
	{"opensnoop", "perfbuf", "opensnoop_perfbuf_bpfel.o", "fexit/do_sys_openat2", "5.6", false, true, "", ""},
	{"opensnoop", "legacy-openat2", "opensnoop_legacy_openat2_bpfel.o", "kprobe+kretprobe/do_sys_openat2", "5.6", true, false,
		"5.6", "per-kernel kprobe target: do_sys_openat2 exists from 5.6; the legacy variant covers older kernels"},
	{"opensnoop", "legacy-tp", "opensnoop_legacy_tp_bpfel.o", "tracepoint/syscalls/sys_enter_openat,sys_exit_openat", "4.19", true, false, "", ""},
	{"opensnoop", "legacy", "opensnoop_legacy_bpfel.o", "kprobe+kretprobe/do_sys_open", "4.19", true, false, "", ""},
	{"runqlat", "modern", "runqlat_modern_bpfel.o", "tp_btf/sched_wakeup,sched_wakeup_new,sched_switch", "5.5", false, true, "", ""},
	{"runqlat", "legacy", "runqlat_legacy_bpfel.o", "tracepoint/sched/sched_wakeup,sched_wakeup_new,sched_switch", "4.19", true, false, "", ""},
	{"tcpconnect", "modern", "tcpconnect_modern_bpfel.o", "fexit/tcp_v4_connect", "5.8", false, true, "", ""},
	{"tcpconnect", "perfbuf", "tcpconnect_perfbuf_bpfel.o", "fexit/tcp_v4_connect", "5.5", false, true, "", ""},
	{"tcpconnect", "legacy", "tcpconnect_legacy_bpfel.o", "kprobe+kretprobe/tcp_v4_connect", "4.19", true, false, "", ""},
	{"biolatency", "modern", "biolatency_modern_bpfel.o", "fentry/blk_mq_start_request + tp_btf/block_rq_complete", "5.5", false, true, "", ""},
	{"biolatency", "legacy", "biolatency_legacy_bpfel.o", "tracepoint/block/block_rq_issue,block_rq_complete", "4.19", true, false, "", ""},
	{"xdpfilter", "global", "xdpfilter_global_bpfel.o", "xdp (test-run)", "5.2", false, false, "", ""},
	{"xdpfilter", "maps", "xdpfilter_maps_bpfel.o", "xdp (test-run)", "4.19", true, false, "", ""},
	{"tcclass", "global", "tcclass_global_bpfel.o", "tc/sched_cls (test-run)", "5.2", false, false, "", ""},
	{"tcclass", "maps", "tcclass_maps_bpfel.o", "tc/sched_cls (test-run)", "4.19", true, false, "", ""},
}

func (i intent) minVersion() kversion.Version { return kversion.MustParse(i.min) }

// intentsOf returns the variants of one program in preference order.
func intentsOf(program string) []intent {
	var out []intent
	for _, i := range intents {
		if i.program == program {
			out = append(out, i)
		}
	}
	return out
}

func kv(s string) kversion.Version { return kversion.MustParse(s) }
