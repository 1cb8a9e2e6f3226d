/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* log2 histogram slots shared by runqlat and biolatency. Slot s counts
 * values v with 2^s <= v < 2^(s+1) (slot 0 also counts v == 0). */
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

#endif /* __RETROBPF_HIST_H__ */
