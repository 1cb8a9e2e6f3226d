/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* opensnoop, BTF-typed variants: one fexit program on do_sys_openat2 (the
 * common path of open, openat and openat2 since 5.6) sees the arguments and
 * the returned fd together, so no entry/return map is needed. The open flags
 * come from struct open_how via CO-RE.
 *
 *   modern                  ring buffer    (5.8)
 *   perfbuf -DUSE_PERFBUF   perf buffer    (5.6: do_sys_openat2 + fexit)
 */
#include "vmlinux.h"
#include "bpf_helpers.h"
#include "bpf_tracing.h"
#include "bpf_core_read.h"
#include "modern_output.h"
#include "opensnoop.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 target_pid = 0; /* tgid; 0: any */
const volatile bool failed_only = false;

SCRATCH_MAP(heap, struct event);

/* long do_sys_openat2(int dfd, const char __user *filename, struct open_how *how) */
SEC("fexit/do_sys_openat2")
int handle_openat2_exit(__u64 *ctx)
{
	const char *filename = BTF_ARG(ctx, 1, const char *);
	struct open_how *how = BTF_ARG(ctx, 2, struct open_how *);
	long ret = (long)ctx[3];
	__u32 zero = 0, pid = bpf_get_current_pid_tgid() >> 32;
	struct event *e;

	if (target_pid && pid != target_pid)
		return 0;
	if (failed_only && ret >= 0)
		return 0;
	e = bpf_map_lookup_elem(&heap, &zero);
	if (!e)
		return 0;
	e->pid = pid;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->ret = ret;
	e->flags = BPF_CORE_READ(how, flags);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_probe_read_user_str(e->path, sizeof(e->path), filename);

	emit_event(ctx, e, sizeof(*e));
	return 0;
}
