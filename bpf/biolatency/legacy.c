/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* biolatency, 4.19-safe variant: tracepoints block/block_rq_issue and
 * block/block_rq_complete, requests matched by (dev, sector) -- the record
 * has no request pointer; dev at 8 and sector at 16 are stable since 4.x.
 * Histogram and config (device filter) in array maps, unrolled log2, no BTF,
 * -mcpu=v2.
 */
#include "vmlinux.h"
#include "bpf_helpers.h"
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

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct config);
} config_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, HIST_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct rq_key);
	__type(value, __u64);
} start SEC(".maps");

SEC("tracepoint/block/block_rq_issue")
int handle_issue(struct block_rq_args *ctx)
{
	struct rq_key key = {};
	struct config *cfg;
	__u32 zero = 0;
	__u64 ts;

	cfg = bpf_map_lookup_elem(&config_map, &zero);
	if (!cfg || (cfg->filter_dev && ctx->dev != cfg->target_dev))
		return 0;
	key.dev = ctx->dev;
	key.sector = ctx->sector;
	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&start, &key, &ts, BPF_ANY);
	return 0;
}

SEC("tracepoint/block/block_rq_complete")
int handle_complete(struct block_rq_args *ctx)
{
	struct rq_key key = {};
	__u64 *tsp, *count, delta;
	__u32 slot;

	key.dev = ctx->dev;
	key.sector = ctx->sector;
	tsp = bpf_map_lookup_elem(&start, &key);
	if (!tsp)
		return 0;
	delta = (bpf_ktime_get_ns() - *tsp) / 1000;
	bpf_map_delete_elem(&start, &key);
	slot = hist_slot(log2_unrolled(delta));
	count = bpf_map_lookup_elem(&hist, &slot);
	if (count)
		__sync_fetch_and_add(count, 1);
	return 0;
}
