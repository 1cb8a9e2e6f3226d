// A non-GPL program calling a GPL-only helper: no kernel loads it.
#include "common.h"

SEC("kprobe/vfs_read")
int read_probe(void *ctx)
{
	char buf[8];

	bpf_probe_read_kernel(buf, sizeof(buf), ctx);
	return buf[0];
}

char LICENSE[] SEC("license") = "Proprietary";
