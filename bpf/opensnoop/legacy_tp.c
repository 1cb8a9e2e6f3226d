/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* opensnoop, tracepoint variant for every kernel from 4.19: the syscall
 * tracepoints syscalls/sys_enter_openat and sys_exit_openat
 * (CONFIG_FTRACE_SYSCALLS, on in distro kernels) instead of a kprobe on an
 * internal function that may be renamed or inlined (do_sys_open is inlined
 * into the syscalls of Debian 5.10, 6.1 and 6.12). Entry stashes the
 * filename pointer and flags per thread, exit pairs them with the returned
 * fd or -errno and emits to a perf event array, like the kprobe variants.
 * Config and counters in array maps, no loops, no BTF, bpf_probe_read_str
 * only (the filename is a user pointer; before 5.5 that helper reads user
 * memory on x86, where user and kernel addresses do not overlap); built
 * with -mcpu=v2.
 *
 * It sees openat(2) only: glibc (2.26+) and Go open files with openat, but
 * open(2), creat(2) and openat2(2) have their own tracepoints.
 */
#include "vmlinux.h"
#include "bpf_helpers.h"
#include "legacy_output.h"
#include "opensnoop.h"
#include "legacy.h"

char LICENSE[] SEC("license") = "GPL";

/* Records of the syscall tracepoints (tracefs format files, the same since
 * 4.x): 8 bytes of common header (the BPF context has the pt_regs pointer
 * there), __syscall_nr at 8, then each argument, or the return value, in an
 * 8-byte slot from 16. */
struct sys_enter_openat_args {
	__u64 common;
	__s64 syscall_nr;
	__u64 dfd;
	__u64 filename; /* const char __user * */
	__u64 flags;
	__u64 mode;
};

struct sys_exit_openat_args {
	__u64 common;
	__s64 syscall_nr;
	__s64 ret;
};


SEC("tracepoint/syscalls/sys_enter_openat")
int handle_openat_entry(struct sys_enter_openat_args *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct args a = {};
	struct config *cfg;
	__u32 zero = 0;

	cfg = bpf_map_lookup_elem(&config_map, &zero);
	if (!cfg || !STASH_WANTED(cfg, id))
		return 0;
	a.filename = ctx->filename;
	a.flags = (__u32)ctx->flags;
	bpf_map_update_elem(&start, &id, &a, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat")
int handle_openat_exit(struct sys_exit_openat_args *ctx)
{
	return open_exit(ctx, ctx->ret);
}
