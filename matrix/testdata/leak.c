// leak.c: a ring buffer reservation that is never submitted: the verifier
// reports an unreleased reference (5.8+; earlier kernels lack ringbuf).
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

SEC("xdp")
int ringbuf_leak(struct xdp_md *ctx)
{
	__u64 *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return XDP_PASS;
	*e = 1;
	return XDP_PASS; /* no bpf_ringbuf_submit */
}

char LICENSE[] SEC("license") = "GPL";
