// oob.c: out-of-bounds reads the verifier must reject.
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} small SEC(".maps");

// oob_map_value reads 92 bytes past the end of an 8-byte map value.
SEC("xdp")
int oob_map_value(struct xdp_md *ctx)
{
	__u32 k = 0;
	volatile char *v = bpf_map_lookup_elem(&small, &k);
	if (!v)
		return XDP_PASS;
	return v[100] ? XDP_DROP : XDP_PASS;
}

// oob_packet reads the packet without checking data_end.
SEC("xdp")
int oob_packet(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	return *(volatile __u32 *)data ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
