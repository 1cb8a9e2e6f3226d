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
 *                              4.19 to 5.5 (from 5.6 a wrapper that
 *                              compilers inline into the syscalls)
 *
 * legacy_tp.c is the same pairing on the openat syscall tracepoints.
 */
#include "vmlinux.h"
#include "bpf_helpers.h"
#include "bpf_tracing.h"
#include "legacy_output.h"
#include "opensnoop.h"
#include "legacy.h"

char LICENSE[] SEC("license") = "GPL";

#ifdef OPENAT2
#define OPEN_FUNC "do_sys_openat2"
#else
#define OPEN_FUNC "do_sys_open"
#endif


SEC("kprobe/" OPEN_FUNC)
int handle_open_entry(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct args a = {};
	struct config *cfg;
	__u32 zero = 0;

	cfg = bpf_map_lookup_elem(&config_map, &zero);
	if (!cfg || !STASH_WANTED(cfg, id))
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

SEC("kretprobe/" OPEN_FUNC)
int handle_open_return(struct pt_regs *ctx)
{
	return open_exit(ctx, PT_REGS_RC(ctx));
}
