// A socket filter that copies packet lengths into a ring buffer: no attach
// point, no tracing, so it loads on any kernel with the ring buffer (5.8).
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} lengths SEC(".maps");

SEC("socket")
int count_len(struct __sk_buff *skb)
{
	__u32 len = skb->len;

	bpf_ringbuf_output(&lengths, &len, sizeof(len), 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
