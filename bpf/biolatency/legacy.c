/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* biolatency, 4.19-safe variant: tracepoints block/block_rq_issue and
 * block/block_rq_complete, requests matched by (dev, sector) -- the record
 * has no request pointer; dev at 8 and sector at 16 are stable since 4.x.
 * Histogram and config (device filter) in array maps, unrolled log2, no BTF,
 * -mcpu=v2.
 */
#include "vmlinux.h"
#include "bpf_helpers.h"
#include "maps.h"
#include "hist.h"

char LICENSE[] SEC("license") = "GPL";

struct block_rq_args {
	__u64 common;
	dev_t dev;
	__u32 pad;
	sector_t sector;
	__u32 nr_sector;
};

struct rq_key {
	dev_t dev;
	__u32 pad;
	sector_t sector;
};

struct config {
	__u32 filter_dev; /* 1: only target_dev */
	dev_t target_dev; /* kernel encoding: major << 20 | minor */
};

CONFIG_MAP(struct config);
HIST_MAP(hist);
INFLIGHT_MAP(start, struct rq_key, __u64 /* issue time, ns */);

SEC("tracepoint/block/block_rq_issue")
int handle_issue(struct block_rq_args *ctx)
{
	struct rq_key key = {};
	struct config *cfg;
	__u32 zero = 0;

	cfg = bpf_map_lookup_elem(&config_map, &zero);
	if (!cfg || (cfg->filter_dev && ctx->dev != cfg->target_dev))
		return 0;
	key.dev = ctx->dev;
	key.sector = ctx->sector;
	stamp_start(&start, &key);
	return 0;
}

SEC("tracepoint/block/block_rq_complete")
int handle_complete(struct block_rq_args *ctx)
{
	struct rq_key key = {};
	__u64 delta;

	key.dev = ctx->dev;
	key.sector = ctx->sector;
	if (take_elapsed(&start, &key, &delta))
		hist_map_add(&hist, delta / 1000);
	return 0;
}
