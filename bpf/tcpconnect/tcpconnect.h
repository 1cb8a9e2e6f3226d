/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
#ifndef __TCPCONNECT_H__
#define __TCPCONNECT_H__

#define TASK_COMM_LEN 16

/* event is one IPv4 active open (connect(2) on a TCP socket). Addresses and
 * ports are in network byte order, as the socket holds them. */
struct event {
	__u32 pid;
	__u32 uid;
	__u32 saddr;
	__u32 daddr;
	__u16 sport; /* host byte order (skc_num) */
	__u16 dport; /* network byte order */
	__s32 ret;   /* tcp_v4_connect's return value */
	char comm[TASK_COMM_LEN];
};

#endif
