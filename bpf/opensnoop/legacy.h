/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What the legacy opensnoop variants share, kprobe (legacy.c) and
 * tracepoint (legacy_tp.c) alike: the config in config_map, so user space
 * configures them the same way, and what the entry hook stashes for the
 * return hook. */
#ifndef __OPENSNOOP_LEGACY_H__
#define __OPENSNOOP_LEGACY_H__

#include "kstash.h"

#define FILTER_FAILED 2 /* and FILTER_PID (kstash.h) */

struct config {
	__u32 flags; /* FILTER_* */
	__u32 target_pid;
};

struct args {
	__u64 filename; /* user pointer */
	__u64 flags;
};

#endif
