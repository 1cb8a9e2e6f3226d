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

#ifdef USE_MAPS
struct config {
	__u16 blocked_port; /* host order; 0: none */
	__u16 mark_port;    /* host order; 0: none */
	__u8 dscp;          /* 0..63 */
	__u8 pad[3];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct config);
} config_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, C_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline void add(__u32 which, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &which);

	if (v)
		*v += n;
}
#else
const volatile __u16 blocked_port = 0;
const volatile __u16 mark_port = 0;
const volatile __u8 dscp = 0;

__u64 counters[C_MAX] = {};

#define add(which, n) __sync_fetch_and_add(&counters[which], (n))
#endif

SEC("tc")
int tc_classify(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u16 port_block, port_mark, old_word, new_word;
	__u8 class, tos;
	struct pkt p;

#ifdef USE_MAPS
	__u32 zero = 0;
	struct config *cfg = bpf_map_lookup_elem(&config_map, &zero);

	if (!cfg)
		return TC_ACT_OK;
	port_block = cfg->blocked_port;
	port_mark = cfg->mark_port;
	class = cfg->dscp & 0x3f;
#else
	port_block = blocked_port;
	port_mark = mark_port;
	class = dscp & 0x3f;
#endif

	add(C_PACKETS, 1);
	add(C_BYTES, skb->len);
	if (!parse_ipv4(data, data_end, &p)) {
		add(C_NON_IPV4, 1);
		return TC_ACT_OK;
	}
	if (port_block && p.dport == port_block) {
		add(C_SHOT, 1);
		return TC_ACT_SHOT;
	}
	if (!port_mark || p.dport != port_mark)
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
