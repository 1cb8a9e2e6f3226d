// Programs that adapt to the kernel the way libbpf-tools do, so that what
// they require depends on the target: biolatency picks the argument of
// tp_btf/block_rq_issue by LINUX_KERNEL_VERSION (the tracepoint lost its
// request_queue argument in 5.11), runqlat reads task_struct's state by
// whichever field bpf_core_field_exists() finds, and a newer helper can sit
// behind either guard.
#include "common.h"
#include <bpf/bpf_core_read.h>

extern int LINUX_KERNEL_VERSION __kconfig;

#define KERNEL_VERSION(a, b, c) (((a) << 16) + ((b) << 8) + ((c) > 255 ? 255 : (c)))

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u64);
	__type(value, __u64);
} starts SEC(".maps");

static __noinline int trace_start(__u64 rq)
{
	__u64 ts = bpf_ktime_get_ns();

	bpf_map_update_elem(&starts, &rq, &ts, 0);
	return 0;
}

// Reads ctx[1] only before 5.11.
SEC("tp_btf/block_rq_issue")
int issue_by_version(unsigned long long *ctx)
{
	if (LINUX_KERNEL_VERSION < KERNEL_VERSION(5, 11, 0))
		return trace_start(ctx[1]);
	return trace_start(ctx[0]);
}

// Reads ctx[1] whatever the kernel.
SEC("tp_btf/block_rq_insert")
int insert_two_args(unsigned long long *ctx)
{
	return trace_start(ctx[1]);
}

// bpf_get_current_task_btf (5.11) only from 5.11 on.
SEC("tp_btf/sched_switch")
int switch_helper_by_version(unsigned long long *ctx)
{
	__u64 t;

	if (LINUX_KERNEL_VERSION >= KERNEL_VERSION(5, 11, 0))
		t = (__u64)bpf_get_current_task_btf();
	else
		t = bpf_get_current_task();
	return trace_start(t);
}

struct task_struct___new {
	unsigned int __state;
} __attribute__((preserve_access_index));

struct task_struct___old {
	long state;
} __attribute__((preserve_access_index));

// The state field the kernel has, read through CO-RE; the other access is
// poisoned on that kernel but never reached.
SEC("tp_btf/sched_wakeup")
int wakeup_state_by_core(unsigned long long *ctx)
{
	void *t = (void *)ctx[0];
	__u64 state;

	if (bpf_core_field_exists(((struct task_struct___new *)t)->__state))
		state = BPF_CORE_READ((struct task_struct___new *)t, __state);
	else
		state = BPF_CORE_READ((struct task_struct___old *)t, state);
	return trace_start(state);
}

struct bpf_iter_num___probe {
	int __opaque;
} __attribute__((preserve_access_index));

// bpf_get_current_task_btf only where the kernel has the type the guard
// asks for (a type as new as the helper), bpf_get_current_task elsewhere.
SEC("tp_btf/sched_process_exec")
int exec_helper_by_core(unsigned long long *ctx)
{
	__u64 t;

	if (bpf_core_type_exists(struct bpf_iter_num___probe))
		t = (__u64)bpf_get_current_task_btf();
	else
		t = bpf_get_current_task();
	return trace_start(t);
}

// bpf_ksym_exists() as libbpf defines it (newer bpf_helpers.h): a weak
// __ksym the kernel lacks loads as NULL.
#define ksym_exists(sym) (!!&(sym))
extern int sysctl_sched_features __ksym __weak;

// bpf_get_current_task_btf only where the kernel has the symbol.
SEC("tp_btf/sched_process_fork")
int fork_helper_by_ksym(unsigned long long *ctx)
{
	__u64 t;

	if (ksym_exists(sysctl_sched_features))
		t = (__u64)bpf_get_current_task_btf();
	else
		t = bpf_get_current_task();
	return trace_start(t);
}

char LICENSE[] SEC("license") = "GPL";
