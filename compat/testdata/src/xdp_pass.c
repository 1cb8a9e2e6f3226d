// Smallest useful XDP program, ISA v1: loads on 4.8+.
#include "common.h"

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
