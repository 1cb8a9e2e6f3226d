/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* biolatency, BTF-typed variant: block request latency (driver issue ->
 * completion) as a log2 histogram of microseconds in .bss. fentry on
 * blk_mq_start_request (the one place every blk-mq request is handed to the
 * driver, stable signature) and tp_btf block_rq_complete, keyed by request
 * pointer; bytes from request::__data_len via CO-RE. Bounded-loop log2.
 * 5.5 (trampolines).
 */
#include "vmlinux.h"
#include "bpf_helpers.h"
#include "bpf_tracing.h"
#include "bpf_core_read.h"
#include "maps.h"
#include "hist.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u64 min_ns = 0; /* ignore faster requests */

__u64 hist[HIST_SLOTS] = {};
__u64 samples = 0;
__u64 bytes = 0;

INFLIGHT_MAP(start, __u64 /* struct request * */, __u64 /* issue time, ns */);

/* void blk_mq_start_request(struct request *rq) */
SEC("fentry/blk_mq_start_request")
int handle_start(__u64 *ctx)
{
	struct request *rq = BTF_ARG(ctx, 0, struct request *);
	__u64 key = (__u64)rq;

	stamp_start(&start, &key);
	__sync_fetch_and_add(&bytes, BPF_CORE_READ(rq, __data_len));
	return 0;
}

/* block_rq_complete(struct request *rq, blk_status_t error, unsigned int nr_bytes) */
SEC("tp_btf/block_rq_complete")
int handle_complete(__u64 *ctx)
{
	__u64 key = ctx[0], delta;

	if (take_elapsed(&start, &key, &delta) && delta >= min_ns)
		hist_global_add(hist, &samples, delta / 1000);
	return 0;
}
