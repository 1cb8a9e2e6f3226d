/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Event output of the BTF-typed tracing variants (modern.c): "events" is a
 * ring buffer of EVENTS_RINGBUF_BYTES (256 KiB unless the program defines it
 * before including; 5.8), or with -DUSE_PERFBUF a perf event array for
 * kernels without ring buffers. How many events were seen and lost is kept
 * in the .bss counters events_seen and events_lost. */
#ifndef __RETROBPF_MODERN_OUTPUT_H__
#define __RETROBPF_MODERN_OUTPUT_H__

#include "maps.h"

#ifndef EVENTS_RINGBUF_BYTES
#define EVENTS_RINGBUF_BYTES (256 * 1024)
#endif

/* Counters, read from user space. */
__u64 events_seen = 0;
__u64 events_lost = 0;

#ifdef USE_PERFBUF
PERF_EVENTS_MAP(events);
#else
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, EVENTS_RINGBUF_BYTES);
} events SEC(".maps");
#endif

/* emit_event copies size bytes at e to user space, counting the event as
 * seen, and as lost when the buffer had no room. ctx is the program's
 * context (the perf buffer needs it). */
static __always_inline void emit_event(void *ctx, void *e, __u64 size)
{
	__sync_fetch_and_add(&events_seen, 1);
#ifdef USE_PERFBUF
	if (bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, e, size))
#else
	if (bpf_ringbuf_output(&events, e, size, 0))
#endif
		__sync_fetch_and_add(&events_lost, 1);
}

#endif /* __RETROBPF_MODERN_OUTPUT_H__ */
