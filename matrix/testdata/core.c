// core.c: a CO-RE relocation against a field no kernel has.
#include "common.h"
#include <bpf/bpf_core_read.h>

struct task_struct {
	int retrobpf_no_such_field;
} __attribute__((preserve_access_index));

SEC("xdp")
int core_missing_field(struct xdp_md *ctx)
{
	struct task_struct *t = 0;
	return bpf_core_field_offset(t->retrobpf_no_such_field) ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
