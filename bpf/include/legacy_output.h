/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Event output of the legacy (4.19) tracing variants: events go to the perf
 * event array "events"; how many were seen and lost is kept in the array map
 * "counters" (index COUNTER_SEEN, COUNTER_LOST), since global data needs
 * 5.2. Safe for -mcpu=v2: no loops, no global data. */
#ifndef __RETROBPF_LEGACY_OUTPUT_H__
#define __RETROBPF_LEGACY_OUTPUT_H__

#include "maps.h"

#define COUNTER_SEEN 0
#define COUNTER_LOST 1

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

PERF_EVENTS_MAP(events);

static __always_inline void count(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &which);

	if (v)
		__sync_fetch_and_add(v, 1);
}

/* emit_event sends size bytes at e to user space, counting the event as
 * seen, and as lost when this CPU's perf buffer had no room. */
static __always_inline void emit_event(void *ctx, void *e, __u64 size)
{
	count(COUNTER_SEEN);
	if (bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, e, size))
		count(COUNTER_LOST);
}

#endif /* __RETROBPF_LEGACY_OUTPUT_H__ */
