/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* tcpconnect, BTF-typed variants: fexit on tcp_v4_connect sees the socket
 * after the route lookup and port allocation, so source and destination are
 * both set; fields come from struct sock_common via CO-RE.
 *
 *   modern                  ring buffer  (5.8)
 *   perfbuf -DUSE_PERFBUF   perf buffer  (5.5)
 */
#include "vmlinux.h"
#include "bpf_helpers.h"
#include "bpf_tracing.h"
#include "bpf_core_read.h"
#include "bpf_endian.h"
#define EVENTS_RINGBUF_BYTES (64 * 1024)
#include "modern_output.h"
#include "tcpconnect.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 target_pid = 0;  /* tgid; 0: any */
const volatile __u16 target_port = 0; /* destination, host order; 0: any */

SEC("fexit/tcp_v4_connect")
int BPF_PROG(handle_connect_exit, struct sock *sk, void *uaddr, int addr_len, int ret)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct event e = {};

	if (target_pid && pid != target_pid)
		return 0;
	e.dport = BPF_CORE_READ(sk, __sk_common.skc_dport);
	if (target_port && e.dport != bpf_htons(target_port))
		return 0;
	e.pid = pid;
	e.uid = (__u32)bpf_get_current_uid_gid();
	e.saddr = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
	e.daddr = BPF_CORE_READ(sk, __sk_common.skc_daddr);
	e.sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	e.ret = ret;
	bpf_get_current_comm(e.comm, sizeof(e.comm));

	emit_event(ctx, &e, sizeof(e));
	return 0;
}
