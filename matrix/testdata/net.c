// net.c: well-behaved network programs that BPF_PROG_TEST_RUN can measure.
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} packets SEC(".maps");

static __always_inline void count(void)
{
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&packets, &k);
	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	count();
	return XDP_PASS;
}

SEC("tc")
int tc_count(struct __sk_buff *skb)
{
	count();
	return 0; /* TC_ACT_OK */
}

SEC("socket")
int sock_count(struct __sk_buff *skb)
{
	count();
	return skb->len;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
