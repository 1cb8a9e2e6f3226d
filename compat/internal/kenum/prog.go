package kenum

import "github.com/cilium/ebpf"

// ProgType is one BPF program type as the catalog knows it.
type ProgType = Enum[ebpf.ProgramType]

// ProgTypes lists every Linux program type cilium/ebpf knows.
// Versions: first mainline release (cilium/ebpf features/prog.go labels,
// bcc docs/kernel-versions.md).
var ProgTypes = []ProgType{
	{ebpf.SocketFilter, "socket_filter", "3.19", "socket filter programs (SO_ATTACH_BPF)", ""},
	{ebpf.Kprobe, "kprobe", "4.1", "kprobe/uprobe programs", "kprobes need CONFIG_KPROBE_EVENTS; use a tracepoint (prog:tracepoint) variant where one exists"},
	{ebpf.SchedCLS, "sched_cls", "4.1", "tc classifier programs (cls_bpf)", ""},
	{ebpf.SchedACT, "sched_act", "4.1", "tc action programs (act_bpf)", "use a sched_cls program in direct-action mode instead"},
	{ebpf.TracePoint, "tracepoint", "4.7", "tracepoint programs (perf tracepoints)", "use a kprobe (prog:kprobe) variant"},
	{ebpf.XDP, "xdp", "4.8", "XDP programs", "use a tc (prog:sched_cls) variant"},
	{ebpf.PerfEvent, "perf_event", "4.9", "perf event (sampling) programs", ""},
	{ebpf.CGroupSKB, "cgroup_skb", "4.10", "cgroup ingress/egress skb programs", ""},
	{ebpf.CGroupSock, "cgroup_sock", "4.10", "cgroup socket create/release programs", ""},
	{ebpf.LWTIn, "lwt_in", "4.10", "lightweight tunnel input programs", ""},
	{ebpf.LWTOut, "lwt_out", "4.10", "lightweight tunnel output programs", ""},
	{ebpf.LWTXmit, "lwt_xmit", "4.10", "lightweight tunnel xmit programs", ""},
	{ebpf.SockOps, "sock_ops", "4.13", "TCP socket operations programs", ""},
	{ebpf.SkSKB, "sk_skb", "4.14", "sockmap stream parser/verdict programs", ""},
	{ebpf.CGroupDevice, "cgroup_device", "4.15", "cgroup device access programs", ""},
	{ebpf.SkMsg, "sk_msg", "4.17", "sockmap sendmsg verdict programs", ""},
	{ebpf.RawTracepoint, "raw_tracepoint", "4.17", "raw tracepoint programs (BPF_RAW_TRACEPOINT_OPEN)", "use a perf tracepoint (prog:tracepoint) or kprobe variant"},
	{ebpf.CGroupSockAddr, "cgroup_sock_addr", "4.17", "cgroup bind/connect/sendmsg address programs", ""},
	{ebpf.LWTSeg6Local, "lwt_seg6local", "4.18", "SRv6 End.BPF programs", ""},
	{ebpf.LircMode2, "lirc_mode2", "4.18", "infrared (LIRC) decoder programs", ""},
	{ebpf.SkReuseport, "sk_reuseport", "4.19", "SO_REUSEPORT socket selection programs", ""},
	{ebpf.FlowDissector, "flow_dissector", "4.20", "flow dissector programs", ""},
	{ebpf.CGroupSysctl, "cgroup_sysctl", "5.2", "cgroup sysctl access programs", ""},
	{ebpf.RawTracepointWritable, "raw_tracepoint_writable", "5.2", "writable raw tracepoint programs", ""},
	{ebpf.CGroupSockopt, "cgroup_sockopt", "5.3", "cgroup get/setsockopt programs", ""},
	{ebpf.Tracing, "tracing", "5.5", "BTF tracing programs: fentry/fexit/fmod_ret, tp_btf, iterators", "use a kprobe (attach:kprobe) or raw tracepoint (attach:raw_tp) fallback variant"},
	{ebpf.StructOps, "struct_ops", "5.6", "struct_ops programs (kernel ops implemented in BPF)", ""},
	{ebpf.Extension, "ext", "5.6", "freplace (extension) programs replacing BPF functions", "link the replacement statically into the program instead"},
	{ebpf.LSM, "lsm", "5.7", "BPF LSM programs (needs CONFIG_BPF_LSM and lsm=bpf)", "use a kprobe on the security_* hook (ksym:security_...) fallback variant; note it cannot deny"},
	{ebpf.SkLookup, "sk_lookup", "5.9", "socket lookup programs", ""},
	{ebpf.Syscall, "syscall", "5.14", "syscall programs (run BPF commands from BPF)", ""},
	{ebpf.Netfilter, "netfilter", "6.4", "netfilter hook programs", "use a tc (prog:sched_cls) variant"},
}

// ProgTypeByName returns the program type with bpftool name name.
func ProgTypeByName(name string) (ProgType, bool) { return ByName(ProgTypes, name) }
