/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* xdpfilter: counts packets and bytes and drops IPv4 packets from a blocked
 * source address or to a blocked TCP/UDP destination port.
 *
 *   global           config in .rodata, counters in .bss (5.2: global data)
 *   maps -DUSE_MAPS  config in an array map, counters in a per-CPU array
 *                    (4.19-safe, -mcpu=v2)
 */
#include "vmlinux.h"
#include "bpf_helpers.h"
#include "parse.h"

char LICENSE[] SEC("license") = "GPL";

/* Counter indexes. */
#define C_PACKETS 0
#define C_BYTES 1
#define C_PASSED 2
#define C_DROPPED 3
#define C_NON_IPV4 4
#define C_MAX 5

/* Settings: blocked_saddr in network order, blocked_port in host order;
 * 0 blocks nothing. */
#define NETCFG_COUNTERS C_MAX
#define NETCFG_FIELDS(FIELD, PAD) \
	FIELD(__u32, blocked_saddr) \
	FIELD(__u16, blocked_port) \
	PAD(__u16, pad)
#include "netcfg.h"

SEC("xdp")
int xdp_filter(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct config cfg;
	struct pkt p;

	if (!netcfg_load(&cfg))
		return XDP_ABORTED;

	add(C_PACKETS, 1);
	add(C_BYTES, data_end - data);
	/* Straight-line code on purpose: a shared "pass" tail can make clang
	 * emit a backward jump, which kernels before 5.3 reject. */
	if (!parse_ipv4(data, data_end, &p)) {
		add(C_NON_IPV4, 1);
		add(C_PASSED, 1);
		return XDP_PASS;
	}
	if ((cfg.blocked_saddr && p.iph->saddr == cfg.blocked_saddr) ||
	    (cfg.blocked_port && p.dport == cfg.blocked_port)) {
		add(C_DROPPED, 1);
		return XDP_DROP;
	}
	add(C_PASSED, 1);
	return XDP_PASS;
}
