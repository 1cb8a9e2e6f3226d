/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* runqlat, 4.19-safe variant: the classic sched tracepoints, read at the
 * offsets of their tracefs format (stable since 4.x for the fields used:
 * pid at 24 in sched_wakeup*, prev_pid/prev_state/next_pid at 24/32/56 in
 * sched_switch). No BTF, no loops (unrolled log2), histogram and config in
 * array maps, -mcpu=v2. The filter is a thread id: without BTF the woken
 * task's tgid is not visible.
 */
#include "vmlinux.h"
#include "bpf_helpers.h"
#include "maps.h"
#include "hist.h"

char LICENSE[] SEC("license") = "GPL";

#define TASK_RUNNING 0

struct sched_wakeup_args {
	__u64 common;
	char comm[16];
	pid_t pid;
};

struct sched_switch_args {
	__u64 common;
	char prev_comm[16];
	pid_t prev_pid;
	int prev_prio;
	long prev_state;
	char next_comm[16];
	pid_t next_pid;
	int next_prio;
};

struct config {
	__u32 target_pid; /* thread id; 0: every task */
};

CONFIG_MAP(struct config);
HIST_MAP(hist);
INFLIGHT_MAP(start, __u32 /* tid */, __u64 /* enqueue time, ns */);

static __always_inline void enqueue(__u32 tid)
{
	struct config *cfg;
	__u32 zero = 0;

	if (!tid)
		return;
	cfg = bpf_map_lookup_elem(&config_map, &zero);
	if (!cfg || (cfg->target_pid && tid != cfg->target_pid))
		return;
	stamp_start(&start, &tid);
}

SEC("tracepoint/sched/sched_wakeup")
int handle_wakeup(struct sched_wakeup_args *ctx)
{
	enqueue(ctx->pid);
	return 0;
}

SEC("tracepoint/sched/sched_wakeup_new")
int handle_wakeup_new(struct sched_wakeup_args *ctx)
{
	enqueue(ctx->pid);
	return 0;
}

SEC("tracepoint/sched/sched_switch")
int handle_switch(struct sched_switch_args *ctx)
{
	__u32 tid = ctx->next_pid;
	__u64 delta;

	if (ctx->prev_state == TASK_RUNNING)
		enqueue(ctx->prev_pid);

	if (take_elapsed(&start, &tid, &delta))
		hist_map_add(&hist, delta / 1000);
	return 0;
}
