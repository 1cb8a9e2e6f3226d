/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* tcclass: a tc (sched_cls, direct-action) classifier. IPv4 packets to the
 * blocked TCP/UDP port are shot; packets to the marked port get their DSCP
 * rewritten (IPv4 checksum fixed incrementally) and skb->mark set to the
 * DSCP, so qdiscs and iptables can act on the class; everything is counted.
 *
 *   global           config in .rodata, counters in .bss (5.2: global data)
 *   maps -DUSE_MAPS  config in an array map, counters in a per-CPU array
 *                    (4.19-safe, -mcpu=v2)
 */
#include "vmlinux.h"
#include "bpf_helpers.h"
#include "parse.h"

char LICENSE[] SEC("license") = "GPL";

#define IP_TOS_OFF (ETH_HLEN + 1)
#define IP_CSUM_OFF (ETH_HLEN + 10)

#define C_PACKETS 0
#define C_BYTES 1
#define C_SHOT 2
#define C_MARKED 3
#define C_NON_IPV4 4
#define C_MAX 5

/* Settings: ports in host order, 0 for none; dscp 0..63. */
#define NETCFG_COUNTERS C_MAX
#define NETCFG_FIELDS(FIELD, PAD) \
	FIELD(__u16, blocked_port) \
	FIELD(__u16, mark_port) \
	FIELD(__u8, dscp) \
	PAD(__u8, pad[3])
#include "netcfg.h"

SEC("tc")
int tc_classify(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u16 old_word, new_word;
	struct config cfg;
	__u8 class, tos;
	struct pkt p;

	if (!netcfg_load(&cfg))
		return TC_ACT_OK;
	class = cfg.dscp & 0x3f;

	add(C_PACKETS, 1);
	add(C_BYTES, skb->len);
	if (!parse_ipv4(data, data_end, &p)) {
		add(C_NON_IPV4, 1);
		return TC_ACT_OK;
	}
	if (cfg.blocked_port && p.dport == cfg.blocked_port) {
		add(C_SHOT, 1);
		return TC_ACT_SHOT;
	}
	if (!cfg.mark_port || p.dport != cfg.mark_port)
		return TC_ACT_OK;

	/* The checksum covers 16-bit words: replace the (version/ihl, tos) one. */
	old_word = *(__u16 *)p.iph;
	tos = (class << 2) | (p.iph->tos & 0x3);
	new_word = (old_word & 0x00ff) | ((__u16)tos << 8);
	if (old_word != new_word) {
		if (bpf_l3_csum_replace(skb, IP_CSUM_OFF, old_word, new_word, 2) ||
		    bpf_skb_store_bytes(skb, IP_TOS_OFF, &tos, 1, 0))
			return TC_ACT_OK;
	}
	skb->mark = class;
	add(C_MARKED, 1);
	return TC_ACT_OK;
}
