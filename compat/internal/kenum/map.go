package kenum

import (
	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/features"
)

// MapType is one BPF map type as the catalog knows it.
type MapType = Enum[ebpf.MapType]

// MapTypes lists every Linux map type cilium/ebpf knows. Versions: first
// mainline release (cilium/ebpf features/map.go labels, bcc).
var MapTypes = []MapType{
	{ebpf.Hash, "hash", "3.19", "hash table", ""},
	{ebpf.Array, "array", "3.19", "array", ""},
	{ebpf.ProgramArray, "prog_array", "4.2", "program array for tail calls", "inline the tail-called programs"},
	{ebpf.PerfEventArray, "perf_event_array", "4.3", "per-CPU perf event buffers (bpf_perf_event_output)", ""},
	{ebpf.PerCPUHash, "percpu_hash", "4.6", "per-CPU hash table", "use a hash map (map:hash) with atomic updates"},
	{ebpf.PerCPUArray, "percpu_array", "4.6", "per-CPU array", "use an array map (map:array) with atomic updates"},
	{ebpf.StackTrace, "stack_trace", "4.6", "stack trace storage (bpf_get_stackid)", ""},
	{ebpf.CGroupArray, "cgroup_array", "4.8", "cgroup references", ""},
	{ebpf.LRUHash, "lru_hash", "4.10", "LRU hash table", "use a hash map (map:hash) and delete entries explicitly"},
	{ebpf.LRUCPUHash, "lru_percpu_hash", "4.10", "per-CPU LRU hash table", "use an LRU hash (map:lru_hash)"},
	{ebpf.LPMTrie, "lpm_trie", "4.11", "longest-prefix-match trie", ""},
	{ebpf.ArrayOfMaps, "array_of_maps", "4.12", "array of maps", ""},
	{ebpf.HashOfMaps, "hash_of_maps", "4.12", "hash of maps", ""},
	{ebpf.DevMap, "devmap", "4.14", "net device references for XDP redirect", ""},
	{ebpf.SockMap, "sockmap", "4.14", "socket references (array)", ""},
	{ebpf.CPUMap, "cpumap", "4.15", "CPU references for XDP redirect", ""},
	{ebpf.XSKMap, "xskmap", "4.18", "AF_XDP socket references", ""},
	{ebpf.SockHash, "sockhash", "4.18", "socket references (hash)", "use a sockmap (map:sockmap)"},
	{ebpf.CGroupStorage, "cgroup_storage", "4.19", "per-cgroup, per-program local storage (legacy)", ""},
	{ebpf.ReusePortSockArray, "reuseport_sockarray", "4.19", "SO_REUSEPORT socket array", ""},
	{ebpf.PerCPUCGroupStorage, "percpu_cgroup_storage", "4.20", "per-CPU cgroup local storage (legacy)", ""},
	{ebpf.Queue, "queue", "4.20", "FIFO queue", ""},
	{ebpf.Stack, "stack", "4.20", "LIFO stack", ""},
	{ebpf.SkStorage, "sk_storage", "5.2", "socket local storage", "use a hash map keyed by socket cookie"},
	{ebpf.DevMapHash, "devmap_hash", "5.4", "net device references keyed by ifindex", "use a devmap (map:devmap)"},
	{ebpf.StructOpsMap, "struct_ops", "5.6", "struct_ops instance", ""},
	{ebpf.RingBuf, "ringbuf", "5.8", "shared ring buffer (bpf_ringbuf_*)", "use a perf event array (map:perf_event_array) fallback variant with bpf_perf_event_output"},
	{ebpf.InodeStorage, "inode_storage", "5.10", "inode local storage", "use a hash map keyed by inode number"},
	{ebpf.TaskStorage, "task_storage", "5.11", "task local storage", "use a hash map keyed by pid/tgid (map:hash) fallback variant"},
	{ebpf.BloomFilter, "bloom_filter", "5.16", "bloom filter", "use a hash map (map:hash)"},
	{ebpf.UserRingbuf, "user_ringbuf", "6.1", "user-space-to-BPF ring buffer", "pass data through an array or hash map written from user space"},
	{ebpf.CgroupStorage, "cgrp_storage", "6.2", "cgroup local storage (keyed by cgroup)", "use a hash map keyed by cgroup id"},
	{ebpf.Arena, "arena", "6.9", "sparse memory shared between BPF and user space", ""},
}

// MapFlag is one map creation flag with its own feature ID.
type MapFlag = Enum[features.MapFlags]

// MapFlags are the map flags the catalog tracks (those cilium/ebpf can probe
// plus the BTF-dependent ones the probe creates itself).
var MapFlags = []MapFlag{
	{features.BPF_F_NO_PREALLOC, "no_prealloc", "4.6", "BPF_F_NO_PREALLOC: allocate hash elements on demand", "drop the flag: the map is preallocated (uses max_entries memory up front)"},
	{features.BPF_F_RDONLY_PROG, "rdonly_prog", "5.2", "BPF_F_RDONLY_PROG: map read-only for programs (.rodata)", "drop the flag"},
	{features.BPF_F_WRONLY_PROG, "wronly_prog", "5.2", "BPF_F_WRONLY_PROG: map write-only for programs", "drop the flag"},
	{features.BPF_F_MMAPABLE, "mmapable", "5.5", "BPF_F_MMAPABLE: array maps mmap()able from user space", "read the map with lookups instead of mmap"},
	{features.BPF_F_INNER_MAP, "inner_map", "5.10", "BPF_F_INNER_MAP: inner maps of different max_entries", "give all inner maps the same max_entries"},
}
