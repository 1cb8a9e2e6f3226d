/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Latency histograms shared by runqlat and biolatency: a start stamp taken
 * at one hook, the elapsed time at a later one, counted in log2 slots. Slot
 * s counts values v with 2^s <= v < 2^(s+1) (slot 0 also counts v == 0).
 *
 * Two forms of the histogram: an array map with an unrolled log2 (legacy,
 * 4.19: no loops, no global data) and a .bss array with a bounded-loop log2
 * (5.3+ loops, 5.2 global data). */
#ifndef __RETROBPF_HIST_H__
#define __RETROBPF_HIST_H__

#define HIST_SLOTS 32

/* log2_unrolled: branch-light binary search, no loop (4.19-safe). */
static __always_inline __u32 log2_unrolled(__u64 v)
{
	__u32 r = 0, shift;

	shift = (v > 0xFFFFFFFFULL) << 5; v >>= shift; r |= shift;
	shift = (v > 0xFFFF) << 4; v >>= shift; r |= shift;
	shift = (v > 0xFF) << 3; v >>= shift; r |= shift;
	shift = (v > 0xF) << 2; v >>= shift; r |= shift;
	shift = (v > 0x3) << 1; v >>= shift; r |= shift;
	r |= (v >> 1);
	return r;
}

/* log2_loop: the same result with a real bounded loop (5.3+ verifier). */
static __always_inline __u32 log2_loop(__u64 v)
{
	__u32 r = 0;
	int i;

#pragma clang loop unroll(disable)
	for (i = 0; i < 64; i++) {
		if (v <= 1)
			break;
		v >>= 1;
		r++;
	}
	return r;
}

static __always_inline __u32 hist_slot(__u32 s)
{
	return s < HIST_SLOTS ? s : HIST_SLOTS - 1;
}

/* stamp_start records the current time for key in the hash map start. */
static __always_inline void stamp_start(void *start, const void *key)
{
	__u64 ts = bpf_ktime_get_ns();

	bpf_map_update_elem(start, key, &ts, BPF_ANY);
}

/* take_elapsed sets *ns to the time since key was stamped in start and
 * drops the stamp; it returns 0 (and leaves *ns alone) without a stamp. */
static __always_inline int take_elapsed(void *start, const void *key, __u64 *ns)
{
	__u64 *tsp = bpf_map_lookup_elem(start, key);

	if (!tsp)
		return 0;
	*ns = bpf_ktime_get_ns() - *tsp;
	bpf_map_delete_elem(start, key);
	return 1;
}

/* HIST_MAP(name): the legacy histogram, an array map of HIST_SLOTS counts. */
#define HIST_MAP(name) \
	struct { \
		__uint(type, BPF_MAP_TYPE_ARRAY); \
		__uint(max_entries, HIST_SLOTS); \
		__type(key, __u32); \
		__type(value, __u64); \
	} name SEC(".maps")

/* hist_map_add counts v in a HIST_MAP (legacy: unrolled log2). */
static __always_inline void hist_map_add(void *hist, __u64 v)
{
	__u32 slot = hist_slot(log2_unrolled(v));
	__u64 *count = bpf_map_lookup_elem(hist, &slot);

	if (count)
		__sync_fetch_and_add(count, 1);
}

/* hist_global_add counts v in a .bss histogram of HIST_SLOTS and one more
 * in *samples (bounded-loop log2). */
static __always_inline void hist_global_add(__u64 *hist, __u64 *samples, __u64 v)
{
	__sync_fetch_and_add(&hist[hist_slot(log2_loop(v))], 1);
	__sync_fetch_and_add(samples, 1);
}

#endif /* __RETROBPF_HIST_H__ */
