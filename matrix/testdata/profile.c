// profile.c: programs whose fate depends on how the kernel is booted, not
// on its version. read_kernel calls bpf_probe_read_kernel, which
// lockdown=confidentiality denies; plain calls nothing; on_ingress
// attaches to a function of the sch_ingress module, there only when the
// module is loaded.
#include "common.h"

SEC("tracepoint/syscalls/sys_enter_getppid")
int read_kernel(void *ctx)
{
	long v = 0;

	bpf_probe_read_kernel(&v, sizeof(v), ctx);
	return v == 42;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int plain(void *ctx)
{
	return 0;
}

SEC("kprobe/ingress_init")
int on_ingress(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
