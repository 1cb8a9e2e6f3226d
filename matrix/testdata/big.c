// big.c: programs whose verification cost is the point.
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} vals SEC(".maps");

// jump_complex walks a bounded loop with a branch per iteration: the
// pending branch states exceed the jump-sequence limit (8192). 6.x
// kernels return EFAULT for it, which hides the log from cilium/ebpf.
SEC("xdp")
int jump_complex(struct xdp_md *ctx)
{
	__u64 sum = 0;
#pragma clang loop unroll(disable)
	for (__u32 i = 0; i < 400000; i++) {
		__u32 k = i & 63;
		__u64 *v = bpf_map_lookup_elem(&vals, &k);
		if (v)
			sum += *v;
	}
	return sum ? XDP_DROP : XDP_PASS;
}

// too_large walks a loop the verifier can bound but not finish: the budget
// of one million processed instructions (131072 before 5.2) runs out.
SEC("xdp")
int too_large(struct xdp_md *ctx)
{
	__u64 sum = ctx->ingress_ifindex;
#pragma clang loop unroll(disable)
	for (__u32 i = 0; i < 1000000; i++)
		sum = sum * 31 + i;
	return sum ? XDP_DROP : XDP_PASS;
}

// long_log is accepted, but its branch-level log is several hundred KiB:
// it exercises the log buffer growth (ENOSPC) path.
SEC("xdp")
int long_log(struct xdp_md *ctx)
{
	__u64 sum = 0;
#pragma clang loop unroll(disable)
	for (__u32 i = 0; i < 2000; i++) {
		__u32 k = i & 63;
		__u64 *v = bpf_map_lookup_elem(&vals, &k);
		if (v)
			sum += *v;
	}
	return sum ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
