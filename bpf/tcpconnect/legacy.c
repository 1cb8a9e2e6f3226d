/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* tcpconnect, kprobe variant (4.19-safe): kprobe on tcp_v4_connect stashes
 * the socket per thread, the kretprobe reads it once connect has chosen the
 * source address and port. No BTF: the fields read are the leading
 * "addrpair"/"portpair" words of struct sock_common, whose layout the kernel
 * itself relies on for its socket hash lookups (INET_MATCH) and which has
 * not moved since 2.6. Perf event array, array-map config, -mcpu=v2.
 */
#include "vmlinux.h"
#include "bpf_helpers.h"
#include "bpf_tracing.h"
#include "bpf_endian.h"
#include "legacy_output.h"
#include "kstash.h"
#include "tcpconnect.h"

char LICENSE[] SEC("license") = "GPL";

/* The head of struct sock_common (and so of struct sock), fixed layout. */
struct sock_common_head {
	__be32 skc_daddr;
	__be32 skc_rcv_saddr;
	__u32 skc_hash;
	__be16 skc_dport;
	__u16 skc_num;
};

#define FILTER_PORT 2 /* and FILTER_PID (kstash.h) */

struct config {
	__u32 flags; /* FILTER_* */
	__u32 target_pid;
	__u16 target_port; /* host order */
	__u16 pad;
};

CONFIG_MAP(struct config);

STASH_MAP(sockets, __u64 /* struct sock * */);

SEC("kprobe/tcp_v4_connect")
int BPF_KPROBE(handle_connect_entry, struct sock *sk)
{
	__u64 id = bpf_get_current_pid_tgid(), skp = (__u64)sk;
	struct config *cfg;
	__u32 zero = 0;

	cfg = bpf_map_lookup_elem(&config_map, &zero);
	if (!cfg || !STASH_WANTED(cfg, id))
		return 0;
	bpf_map_update_elem(&sockets, &id, &skp, BPF_ANY);
	return 0;
}

SEC("kretprobe/tcp_v4_connect")
int BPF_KRETPROBE(handle_connect_return, int ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct sock_common_head skc = {};
	struct event e = {};
	struct config *cfg;
	__u32 zero = 0;
	__u64 *skp;

	skp = bpf_map_lookup_elem(&sockets, &id);
	if (!skp)
		return 0;
	cfg = bpf_map_lookup_elem(&config_map, &zero);
	if (!cfg)
		goto out;
	bpf_probe_read(&skc, sizeof(skc), (void *)*skp);
	if ((cfg->flags & FILTER_PORT) && skc.skc_dport != bpf_htons(cfg->target_port))
		goto out;
	e.pid = id >> 32;
	e.uid = (__u32)bpf_get_current_uid_gid();
	e.saddr = skc.skc_rcv_saddr;
	e.daddr = skc.skc_daddr;
	e.sport = skc.skc_num;
	e.dport = skc.skc_dport;
	e.ret = ret;
	bpf_get_current_comm(e.comm, sizeof(e.comm));

	emit_event(ctx, &e, sizeof(e));
out:
	bpf_map_delete_elem(&sockets, &id);
	return 0;
}
