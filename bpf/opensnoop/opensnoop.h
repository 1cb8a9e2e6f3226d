/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
#ifndef __OPENSNOOP_H__
#define __OPENSNOOP_H__

#define TASK_COMM_LEN 16
#define PATH_LEN 256

/* event is one open(2)/openat(2)/openat2(2) with its result. */
struct event {
	__u32 pid;
	__u32 uid;
	__s64 ret; /* fd, or -errno */
	__u64 flags;
	char comm[TASK_COMM_LEN];
	char path[PATH_LEN];
};

#endif
