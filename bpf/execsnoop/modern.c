/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* execsnoop, BTF-typed variants: tp_btf/sched_process_exec reads the
 * linux_binprm and task_struct with CO-RE, joins argv in a loop and emits one
 * event per successful exec.
 *
 * One source, three objects (see gen.go):
 *   modern  -DUSE_BPF_LOOP   ring buffer + bpf_loop        (5.17)
 *   ringbuf                  ring buffer + bounded loop    (5.8)
 *   perfbuf -DUSE_PERFBUF    perf buffer + bounded loop    (5.5: tp_btf)
 */
#include "vmlinux.h"
#include "bpf_helpers.h"
#include "bpf_tracing.h"
#include "bpf_core_read.h"
#include "modern_output.h"
#include "execsnoop.h"

char LICENSE[] SEC("license") = "GPL";

/* Configuration, set before load (CollectionSpec.Variables). */
const volatile __u32 target_ppid = 0; /* 0: any parent */
const volatile __u32 target_uid = 0;
const volatile bool filter_uid = false;

SCRATCH_MAP(heap, struct event);

struct args_ctx {
	struct event *e;
	__u32 len;
	__u32 argc;
};

/* join_one turns the NUL after argument i into a space and counts it. */
static __always_inline long join_one(__u32 i, struct args_ctx *c)
{
	if (i >= c->len)
		return 1;
	if (c->e->args[i & (ARGS_LEN - 1)] == '\0') {
		c->e->args[i & (ARGS_LEN - 1)] = ' ';
		c->argc++;
	}
	return 0;
}

#ifdef USE_BPF_LOOP
static long join_cb(__u32 i, void *ctx)
{
	return join_one(i, ctx);
}
#endif

SEC("tp_btf/sched_process_exec")
int handle_exec(__u64 *ctx)
{
	struct task_struct *task = BTF_ARG(ctx, 0, struct task_struct *);
	struct linux_binprm *bprm = BTF_ARG(ctx, 2, struct linux_binprm *);
	struct args_ctx c = {};
	unsigned long start, end;
	__u32 zero = 0, ppid, uid;
	struct event *e;

	ppid = BPF_CORE_READ(task, real_parent, tgid);
	if (target_ppid && ppid != target_ppid)
		return 0;
	uid = (__u32)bpf_get_current_uid_gid();
	if (filter_uid && uid != target_uid)
		return 0;

	e = bpf_map_lookup_elem(&heap, &zero);
	if (!e)
		return 0;
	e->pid = BPF_CORE_READ(task, tgid);
	e->ppid = ppid;
	e->uid = uid;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename),
				  BPF_CORE_READ(bprm, filename));

	/* argv lives in the new process' memory as NUL-separated strings. */
	start = BPF_CORE_READ(task, mm, arg_start);
	end = BPF_CORE_READ(task, mm, arg_end);
	c.len = end > start ? end - start : 0;
	if (c.len > ARGS_LEN - 1)
		c.len = ARGS_LEN - 1;
	e->args[0] = '\0';
	if (c.len > 0 &&
	    bpf_probe_read_user(e->args, c.len & (ARGS_LEN - 1), (void *)start) == 0) {
		c.e = e;
#ifdef USE_BPF_LOOP
		bpf_loop(ARGS_LEN - 1, join_cb, &c, 0);
#else
		__u32 i;
#pragma clang loop unroll(disable)
		for (i = 0; i < ARGS_LEN - 1; i++)
			if (join_one(i, &c))
				break;
#endif
		e->args[(c.len - 1) & (ARGS_LEN - 1)] = '\0'; /* drop the trailing separator */
	} else {
		c.len = 0;
	}
	e->argc = c.argc;

	emit_event(ctx, e, sizeof(*e));
	return 0;
}
