// libbpf's USDT support: weak maps, weak __hidden functions and a
// LINUX_HAS_BPF_COOKIE __kconfig extern, all from usdt.bpf.h.
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <stdbool.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

SEC("usdt") int BPF_USDT(probe, long a, long b)
{
	return a + b;
}

char LICENSE[] SEC("license") = "GPL";
