// Typed __ksym variables: a real per-CPU kernel variable, and a weak one
// that no kernel has (it must load as NULL).
#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

struct rq { int __unused; };
struct retrobpf_none { int x; };

extern const struct rq runqueues __ksym;
extern const struct retrobpf_none retrobpf_no_such_var __ksym __weak;

SEC("kprobe/do_nanosleep") int percpu(void *ctx)
{
	return bpf_per_cpu_ptr(&runqueues, 0) != 0;
}

SEC("socket") int weak_absent(void *ctx)
{
	return &retrobpf_no_such_var != 0;
}

char LICENSE[] SEC("license") = "GPL";
