/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* runqlat, BTF-typed variant: run-queue latency (wakeup -> on CPU) as a log2
 * histogram of microseconds in .bss, from tp_btf sched_wakeup,
 * sched_wakeup_new and sched_switch (5.5). A task preempted while runnable
 * is re-queued at switch-out; "runnable" is task_struct::__state (5.14+) or
 * ::state before, chosen by CO-RE at load time. The log2 is a bounded loop.
 */
#include "vmlinux.h"
#include "bpf_helpers.h"
#include "bpf_tracing.h"
#include "bpf_core_read.h"
#include "maps.h"
#include "hist.h"

char LICENSE[] SEC("license") = "GPL";

#define TASK_RUNNING 0

/* Kernels before 5.14 name the field "state" and make it a long. */
struct task_struct___pre514 {
	long state;
} __attribute__((preserve_access_index));

const volatile __u32 target_tgid = 0; /* 0: every task */

__u64 hist[HIST_SLOTS] = {};
__u64 samples = 0;

INFLIGHT_MAP(start, __u32 /* tid */, __u64 /* enqueue time, ns */);

static __always_inline void enqueue(struct task_struct *p)
{
	__u32 tid = BPF_CORE_READ(p, pid);

	if (!tid)
		return;
	if (target_tgid && (__u32)BPF_CORE_READ(p, tgid) != target_tgid)
		return;
	stamp_start(&start, &tid);
}

static __always_inline long task_state(struct task_struct *p)
{
	if (bpf_core_field_exists(p->__state))
		return BPF_CORE_READ(p, __state);
	return BPF_CORE_READ((struct task_struct___pre514 *)p, state);
}

SEC("tp_btf/sched_wakeup")
int handle_wakeup(__u64 *ctx)
{
	enqueue(BTF_ARG(ctx, 0, struct task_struct *));
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int handle_wakeup_new(__u64 *ctx)
{
	enqueue(BTF_ARG(ctx, 0, struct task_struct *));
	return 0;
}

/* sched_switch(bool preempt, struct task_struct *prev, struct task_struct *next, ...) */
SEC("tp_btf/sched_switch")
int handle_switch(__u64 *ctx)
{
	struct task_struct *prev = BTF_ARG(ctx, 1, struct task_struct *);
	struct task_struct *next = BTF_ARG(ctx, 2, struct task_struct *);
	__u64 delta;
	__u32 tid;

	if (task_state(prev) == TASK_RUNNING)
		enqueue(prev);

	tid = BPF_CORE_READ(next, pid);
	if (take_elapsed(&start, &tid, &delta))
		hist_global_add(hist, &samples, delta / 1000);
	return 0;
}
