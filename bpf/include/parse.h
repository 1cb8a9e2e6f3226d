/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Bounds-checked Ethernet/IPv4/TCP/UDP parsing with direct packet access,
 * shared by the XDP and tc programs. */
#ifndef __RETROBPF_PARSE_H__
#define __RETROBPF_PARSE_H__

#include "bpf_endian.h"

#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define IPPROTO_ICMP 1
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17

/* pkt is what a program needs to know about one IPv4 packet. */
struct pkt {
	struct iphdr *iph; /* NULL when not IPv4 */
	__u8 proto;
	__u16 dport; /* host order; 0 without TCP/UDP */
};

/* parse_ipv4 fills p; it returns 0 when the packet is not IPv4 or is
 * truncated, 1 otherwise. */
static __always_inline int parse_ipv4(void *data, void *data_end, struct pkt *p)
{
	struct ethhdr *eth = data;
	struct iphdr *iph;
	__u32 ihl;

	p->iph = 0;
	p->proto = 0;
	p->dport = 0;
	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return 0;
	iph = (void *)(eth + 1);
	if ((void *)(iph + 1) > data_end)
		return 0;
	ihl = iph->ihl * 4;
	if (ihl < sizeof(*iph))
		return 0;
	p->iph = iph;
	p->proto = iph->protocol;
	if (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP) {
		/* Both headers start with source and destination port. */
		struct udphdr *l4 = (void *)iph + ihl;

		if ((void *)(l4 + 1) > data_end)
			return 1;
		p->dport = bpf_ntohs(l4->dest);
	}
	return 1;
}

#endif
