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

#ifdef USE_MAPS
struct config {
	__u32 blocked_saddr; /* network order; 0: none */
	__u16 blocked_port;  /* host order; 0: none */
	__u16 pad;
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
		*v += n; /* per-CPU slot: no atomics needed */
}
#else
const volatile __u32 blocked_saddr = 0;
const volatile __u16 blocked_port = 0;

__u64 counters[C_MAX] = {};

#define add(which, n) __sync_fetch_and_add(&counters[which], (n))
#endif

SEC("xdp")
int xdp_filter(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 saddr_block, port_block;
	struct pkt p;

#ifdef USE_MAPS
	__u32 zero = 0;
	struct config *cfg = bpf_map_lookup_elem(&config_map, &zero);

	if (!cfg)
		return XDP_ABORTED;
	saddr_block = cfg->blocked_saddr;
	port_block = cfg->blocked_port;
#else
	saddr_block = blocked_saddr;
	port_block = blocked_port;
#endif

	add(C_PACKETS, 1);
	add(C_BYTES, data_end - data);
	/* Straight-line code on purpose: a shared "pass" tail can make clang
	 * emit a backward jump, which kernels before 5.3 reject. */
	if (!parse_ipv4(data, data_end, &p)) {
		add(C_NON_IPV4, 1);
		add(C_PASSED, 1);
		return XDP_PASS;
	}
	if ((saddr_block && p.iph->saddr == saddr_block) ||
	    (port_block && p.dport == port_block)) {
		add(C_DROPPED, 1);
		return XDP_DROP;
	}
	add(C_PASSED, 1);
	return XDP_PASS;
}
