/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* execsnoop, 4.19-safe variants: the classic tracepoint
 * sched/sched_process_exec (stable record layout since 3.4), a perf event
 * array, configuration and counters in array maps, no loops, bpf_probe_read
 * only; built with -mcpu=v2.
 *
 *   legacy        ppid via CO-RE (task->real_parent->tgid) read with
 *                 bpf_probe_read: needs kernel BTF (5.4+) or an external BTF
 *                 file (btfhub) on older kernels.
 *   legacy-nobtf  -DNO_CORE: no relocations at all, so it loads on any 4.19
 *                 kernel; the parent is unknown (ppid 0) because only BTF
 *                 gives task_struct offsets, so it filters on uid only.
 */
#define RETRO_LEGACY_READ
#include "vmlinux.h"
#include "bpf_helpers.h"
#include "bpf_core_read.h"
#include "legacy_output.h"
#include "execsnoop.h"

char LICENSE[] SEC("license") = "GPL";

/* Record of sched/sched_process_exec (tracefs format file). */
struct sched_process_exec_args {
	__u64 common;
	__u32 filename_loc; /* __data_loc: offset in the low 16 bits */
	pid_t pid;
	pid_t old_pid;
};

#define FILTER_PPID 1
#define FILTER_UID 2

struct config {
	__u32 flags; /* FILTER_* */
	__u32 target_ppid;
	__u32 target_uid;
};

CONFIG_MAP(struct config);

SCRATCH_MAP(heap, struct event);

SEC("tracepoint/sched/sched_process_exec")
int handle_exec(struct sched_process_exec_args *ctx)
{
	__u32 zero = 0, ppid = 0, uid, loc;
	struct config *cfg;
	struct event *e;

	cfg = bpf_map_lookup_elem(&config_map, &zero);
	if (!cfg)
		return 0;
#ifndef NO_CORE
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	ppid = BPF_CORE_READ(task, real_parent, tgid);
	if ((cfg->flags & FILTER_PPID) && ppid != cfg->target_ppid)
		return 0;
#endif
	uid = (__u32)bpf_get_current_uid_gid();
	if ((cfg->flags & FILTER_UID) && uid != cfg->target_uid)
		return 0;

	e = bpf_map_lookup_elem(&heap, &zero);
	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->ppid = ppid;
	e->uid = uid;
	e->argc = 0;
	e->args[0] = '\0';
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	loc = ctx->filename_loc & 0xFFFF;
	bpf_probe_read_str(e->filename, sizeof(e->filename), (void *)ctx + loc);

	emit_event(ctx, e, sizeof(*e));
	return 0;
}
