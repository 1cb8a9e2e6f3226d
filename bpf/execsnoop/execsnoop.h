/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
#ifndef __EXECSNOOP_H__
#define __EXECSNOOP_H__

#define TASK_COMM_LEN 16
#define FILENAME_LEN 256
#define ARGS_LEN 128 /* power of two: used as an index mask */

/* event is one successful execve. args holds argv joined by spaces (modern
 * variants only; empty in legacy ones), argc the number of arguments seen. */
struct event {
	__u32 pid;
	__u32 ppid; /* 0 when the variant cannot know it (legacy-nobtf) */
	__u32 uid;
	__u32 argc;
	char comm[TASK_COMM_LEN];
	char filename[FILENAME_LEN];
	char args[ARGS_LEN];
};

#endif
