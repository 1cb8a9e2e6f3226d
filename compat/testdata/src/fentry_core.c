// fentry with CO-RE relocations, global data, a bounded loop and a
// BPF-to-BPF call: 5.5 for fentry, 5.3 for the loop, 5.2 for globals.
#include "common.h"
#include <bpf/bpf_core_read.h>

struct task_struct {
	int pid;
	int tgid;
} __attribute__((preserve_access_index));

const volatile int target_tgid = 0;
__u64 hits = 0;

static __attribute__((noinline)) int sum_to(int n)
{
	int s = 0;

	for (int i = 0; i < n && i < 64; i++)
		s = s * 33 + i; /* no closed form: stays a loop */
	return s;
}

SEC("fentry/do_unlinkat")
int on_unlink(__u64 *ctx)
{
	struct task_struct *t = (void *)bpf_get_current_task();
	int tgid = BPF_CORE_READ(t, tgid);

	if (target_tgid && tgid != target_tgid)
		return 0;
	hits += sum_to(tgid & 31);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
