/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* BTF map definitions the suite repeats. Each macro defines one map under the
 * name it is given, so map names (and the bpf2go bindings) stay what the
 * program says. Parameters are not named type/key/value: those are the
 * member names of a map definition. */
#ifndef __RETROBPF_MAPS_H__
#define __RETROBPF_MAPS_H__

/* CONFIG_MAP(vtype): config_map, a single vtype at key 0 that user space
 * writes before attaching. The 4.19 stand-in for .rodata settings (global
 * data needs 5.2). */
#define CONFIG_MAP(vtype) \
	struct { \
		__uint(type, BPF_MAP_TYPE_ARRAY); \
		__uint(max_entries, 1); \
		__type(key, __u32); \
		__type(value, vtype); \
	} config_map SEC(".maps")

/* PERF_EVENTS_MAP(name): a perf event array; the reader sizes one buffer per
 * CPU. */
#define PERF_EVENTS_MAP(name) \
	struct { \
		__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY); \
		__uint(key_size, sizeof(__u32)); \
		__uint(value_size, sizeof(__u32)); \
	} name SEC(".maps")

/* SCRATCH_MAP(name, vtype): one vtype per CPU at key 0, to build an event
 * larger than a comfortable 512-byte stack frame. */
#define SCRATCH_MAP(name, vtype) \
	struct { \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); \
		__uint(max_entries, 1); \
		__type(key, __u32); \
		__type(value, vtype); \
	} name SEC(".maps")

/* INFLIGHT_MAP(name, ktype, vtype): what one hook stashes for a later one
 * (a thread between kprobe and kretprobe, a request between issue and
 * completion), keyed by ktype; up to 10240 in flight. */
#define INFLIGHT_MAP(name, ktype, vtype) \
	struct { \
		__uint(type, BPF_MAP_TYPE_HASH); \
		__uint(max_entries, 10240); \
		__type(key, ktype); \
		__type(value, vtype); \
	} name SEC(".maps")

#endif /* __RETROBPF_MAPS_H__ */
