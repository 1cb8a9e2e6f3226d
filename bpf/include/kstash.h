/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Entry/return pairing of the legacy kprobe variants (opensnoop,
 * tcpconnect), for kernels without fexit (before 5.5): the kprobe stashes
 * what the kretprobe needs in a STASH_MAP under the thread's pid_tgid; the
 * kretprobe looks it up, and deletes it on every path once found.
 *
 * The config of such a variant starts with __u32 flags and __u32
 * target_pid; FILTER_PID in flags limits it to one process (tgid). Other
 * FILTER_* bits are the variant's own, from 2 up. */
#ifndef __RETROBPF_KSTASH_H__
#define __RETROBPF_KSTASH_H__

#include "maps.h"

#define FILTER_PID 1

/* STASH_MAP(name, vtype): vtype per thread, keyed by pid_tgid. */
#define STASH_MAP(name, vtype) INFLIGHT_MAP(name, __u64, vtype)

/* STASH_WANTED(cfg, pid_tgid): whether cfg lets the kprobe stash for this
 * thread (no FILTER_PID, or the thread belongs to target_pid). */
#define STASH_WANTED(cfg, pid_tgid) \
	(!((cfg)->flags & FILTER_PID) || (__u32)((pid_tgid) >> 32) == (cfg)->target_pid)

#endif /* __RETROBPF_KSTASH_H__ */
