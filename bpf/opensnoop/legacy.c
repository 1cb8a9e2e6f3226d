/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* opensnoop, kprobe variants for kernels without BPF trampolines: a kprobe
 * stashes the arguments per thread, the kretprobe pairs them with the fd and
 * emits to a perf event array. Config and counters in array maps, no loops,
 * bpf_probe_read only, no BTF needed; built with -mcpu=v2.
 *
 * The kprobe target is itself per kernel, hence two objects:
 *   legacy-openat2  -DOPENAT2  do_sys_openat2(dfd, filename, struct open_how *)
 *                              5.6+, sees open, openat and openat2
 *   legacy                     do_sys_open(dfd, filename, int flags, mode)
 *                              every kernel with kprobes (4.19 ... 6.x; on
 *                              5.6+ openat2(2) bypasses it)
 */
#include "vmlinux.h"
#include "bpf_helpers.h"
#include "bpf_tracing.h"
#include "opensnoop.h"

char LICENSE[] SEC("license") = "GPL";

#define FILTER_PID 1
#define FILTER_FAILED 2

struct config {
	__u32 flags; /* FILTER_* */
	__u32 target_pid;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct config);
} config_map SEC(".maps");

#define COUNTER_SEEN 0
#define COUNTER_LOST 1
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct args {
	__u64 filename; /* user pointer */
	__u64 flags;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct args);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct event);
} heap SEC(".maps");

static __always_inline void count(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &which);

	if (v)
		__sync_fetch_and_add(v, 1);
}

#ifdef OPENAT2
SEC("kprobe/do_sys_openat2")
#else
SEC("kprobe/do_sys_open")
#endif
int handle_open_entry(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct args a = {};
	struct config *cfg;
	__u32 zero = 0;

	cfg = bpf_map_lookup_elem(&config_map, &zero);
	if (!cfg)
		return 0;
	if ((cfg->flags & FILTER_PID) && (__u32)(id >> 32) != cfg->target_pid)
		return 0;
	a.filename = PT_REGS_PARM2(ctx);
#ifdef OPENAT2
	/* struct open_how is UAPI: flags is its first __u64. */
	bpf_probe_read(&a.flags, sizeof(a.flags), (void *)PT_REGS_PARM3(ctx));
#else
	a.flags = (__u32)PT_REGS_PARM3(ctx);
#endif
	bpf_map_update_elem(&start, &id, &a, BPF_ANY);
	return 0;
}

#ifdef OPENAT2
SEC("kretprobe/do_sys_openat2")
#else
SEC("kretprobe/do_sys_open")
#endif
int handle_open_return(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct config *cfg;
	struct event *e;
	struct args *a;
	__u32 zero = 0;
	long ret;

	a = bpf_map_lookup_elem(&start, &id);
	if (!a)
		return 0;
	cfg = bpf_map_lookup_elem(&config_map, &zero);
	e = bpf_map_lookup_elem(&heap, &zero);
	ret = PT_REGS_RC(ctx);
	if (!cfg || !e || ((cfg->flags & FILTER_FAILED) && ret >= 0))
		goto out;
	e->pid = id >> 32;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->ret = ret;
	e->flags = a->flags;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_probe_read_str(e->path, sizeof(e->path), (void *)a->filename);

	count(COUNTER_SEEN);
	if (bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, e, sizeof(*e)))
		count(COUNTER_LOST);
out:
	bpf_map_delete_elem(&start, &id);
	return 0;
}
