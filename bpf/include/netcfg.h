/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Settings and counters of the test-run network programs (xdpfilter,
 * tcclass), in the two forms each one is built in:
 *
 *   global           settings are const volatile globals in .rodata, set
 *                    before load; counters are a .bss array updated
 *                    atomically (5.2: global data)
 *   maps -DUSE_MAPS  settings are one struct config in config_map, written
 *                    by user space; counters are a per-CPU array map
 *                    (4.19-safe)
 *
 * Before including this header a program defines
 *
 *   NETCFG_COUNTERS            how many counters it has
 *   NETCFG_FIELDS(FIELD, PAD)  its settings in order, FIELD(type, name) each,
 *                              PAD(type, name) for explicit padding of struct
 *                              config (the maps form only)
 *
 * and gets struct config, netcfg_load(&c) (copies the settings into c; 0
 * when config_map has no entry) and add(counter, n). */
#ifndef __RETROBPF_NETCFG_H__
#define __RETROBPF_NETCFG_H__

#include "maps.h"

#if !defined(NETCFG_COUNTERS) || !defined(NETCFG_FIELDS)
#error "define NETCFG_COUNTERS and NETCFG_FIELDS before including netcfg.h"
#endif

#define __NETCFG_MEMBER(vtype, name) vtype name;
#define __NETCFG_NONE(vtype, name)

struct config {
	NETCFG_FIELDS(__NETCFG_MEMBER, __NETCFG_MEMBER)
};

#ifdef USE_MAPS
CONFIG_MAP(struct config);

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NETCFG_COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline int netcfg_load(struct config *c)
{
	__u32 zero = 0;
	struct config *cfg = bpf_map_lookup_elem(&config_map, &zero);

	if (!cfg)
		return 0;
#define __NETCFG_COPY(vtype, name) c->name = cfg->name;
	NETCFG_FIELDS(__NETCFG_COPY, __NETCFG_NONE)
#undef __NETCFG_COPY
	return 1;
}

static __always_inline void add(__u32 which, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &which);

	if (v)
		*v += n; /* per-CPU slot: no atomics needed */
}
#else
#define __NETCFG_GLOBAL(vtype, name) const volatile vtype name = 0;
NETCFG_FIELDS(__NETCFG_GLOBAL, __NETCFG_NONE)
#undef __NETCFG_GLOBAL

__u64 counters[NETCFG_COUNTERS] = {};

static __always_inline int netcfg_load(struct config *c)
{
#define __NETCFG_COPY(vtype, name) c->name = name;
	NETCFG_FIELDS(__NETCFG_COPY, __NETCFG_NONE)
#undef __NETCFG_COPY
	return 1;
}

static __always_inline void add(__u32 which, __u64 n)
{
	__sync_fetch_and_add(&counters[which], n);
}
#endif

#endif /* __RETROBPF_NETCFG_H__ */
