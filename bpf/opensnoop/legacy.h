/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What the legacy opensnoop variants share, kprobe (legacy.c) and
 * tracepoint (legacy_tp.c) alike: the config in config_map, so user space
 * configures them the same way, what the entry hook stashes for the return
 * hook, and the return hook itself. Include after legacy_output.h and
 * opensnoop.h. */
#ifndef __OPENSNOOP_LEGACY_H__
#define __OPENSNOOP_LEGACY_H__

#include "kstash.h"

#define FILTER_FAILED 2 /* and FILTER_PID (kstash.h) */

struct config {
	__u32 flags; /* FILTER_* */
	__u32 target_pid;
};

struct args {
	__u64 filename; /* user pointer */
	__u64 flags;
};

CONFIG_MAP(struct config);
STASH_MAP(start, struct args);
SCRATCH_MAP(heap, struct event);

/* open_exit is the return hook of every legacy variant: pair the stashed
 * arguments with ret (the fd or -errno) and emit the event. */
static __always_inline int open_exit(void *ctx, long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct config *cfg;
	struct event *e;
	struct args *a;
	__u32 zero = 0;

	a = bpf_map_lookup_elem(&start, &id);
	if (!a)
		return 0;
	cfg = bpf_map_lookup_elem(&config_map, &zero);
	e = bpf_map_lookup_elem(&heap, &zero);
	if (!cfg || !e || ((cfg->flags & FILTER_FAILED) && ret >= 0))
		goto out;
	e->pid = id >> 32;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->ret = ret;
	e->flags = a->flags;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_probe_read_str(e->path, sizeof(e->path), (void *)a->filename);

	emit_event(ctx, e, sizeof(*e));
out:
	bpf_map_delete_elem(&start, &id);
	return 0;
}

#endif
