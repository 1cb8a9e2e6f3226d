// Built with -mcpu=v3: JMP32 instructions and atomic fetch-and-add whose
// result is used (BPF_ATOMIC | BPF_FETCH, 5.12), plus a kfunc call.
#include "common.h"

struct task_struct;
extern struct task_struct *bpf_task_acquire(struct task_struct *p) __ksym __weak;
extern void bpf_task_release(struct task_struct *p) __ksym __weak;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} counter SEC(".maps");

SEC("tp_btf/sched_process_exec")
int on_exec(__u64 *ctx)
{
	__u32 key = 0, *v, old;
	struct task_struct *t;

	v = bpf_map_lookup_elem(&counter, &key);
	if (!v)
		return 0;
	old = __sync_fetch_and_add(v, 1);
	if ((__u32)old > 100)
		return 1;
	t = bpf_task_acquire((struct task_struct *)ctx[0]);
	if (t)
		bpf_task_release(t);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
