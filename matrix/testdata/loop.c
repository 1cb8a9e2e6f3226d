// loop.c: a loop the verifier cannot bound. Kernels before 5.3 reject the
// back-edge itself; later ones detect the infinite loop.
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} cfg SEC(".maps");

SEC("xdp")
int unbounded_loop(struct xdp_md *ctx)
{
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&cfg, &k);
	if (!v)
		return XDP_PASS;
	while (*(volatile __u64 *)v)
		;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
