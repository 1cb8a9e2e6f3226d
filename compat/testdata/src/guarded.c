// A tool-style program whose newer helper sits behind a const volatile
// guard that is false by default, the way libbpf-tools guard
// bpf_get_current_task_btf() behind full_path: the verifier never reaches
// the call unless the loader sets the guard, so the helper (5.11) is a
// requirement only then. (This one is that same helper.)
#include "common.h"

struct task_struct;

const volatile _Bool use_task_btf = 0;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} stamps SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int on_getppid(void *ctx)
{
	__u32 k = 0;
	__u64 t, *v;

	if (use_task_btf)
		t = bpf_get_current_task_btf() ? 1 : 2;
	else
		t = bpf_ktime_get_ns();
	v = bpf_map_lookup_elem(&stamps, &k);
	if (v)
		*v = t;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
