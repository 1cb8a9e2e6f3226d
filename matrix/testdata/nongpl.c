// nongpl.c: a GPL-only helper in a program whose license is not GPL
// compatible, and a helper this program type may not call.
#include "common.h"

SEC("xdp")
int gpl_helper(struct xdp_md *ctx)
{
	char fmt[] = "hello\n";
	bpf_trace_printk(fmt, sizeof(fmt));
	return XDP_PASS;
}

// wrong_type_helper calls bpf_skb_load_bytes, which XDP may not use.
SEC("xdp")
int wrong_type_helper(struct xdp_md *ctx)
{
	char buf[4];
	return bpf_skb_load_bytes(ctx, 0, buf, sizeof(buf)) ? XDP_PASS : XDP_DROP;
}

// unknown_helper calls a helper ID no kernel has.
SEC("xdp")
int unknown_helper(struct xdp_md *ctx)
{
	static long (*bpf_no_such_helper)(void) = (void *)999;
	return bpf_no_such_helper() ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "Proprietary";
