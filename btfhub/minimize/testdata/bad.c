// bad.c accesses a field no kernel has, unguarded: the relocation is
// poisoned and the verifier rejects the program ("bad CO-RE relocation").
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct task_struct {
	int pid;
	int retrobpf_no_such_field;
} __attribute__((preserve_access_index));

SEC("kprobe/do_nanosleep") int bad_field(void *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	return BPF_CORE_READ(task, retrobpf_no_such_field) + BPF_CORE_READ(task, pid);
}

char LICENSE[] SEC("license") = "GPL";
