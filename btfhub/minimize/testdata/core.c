// core.c exercises every CO-RE relocation kind against kernel types, for the
// minimizer's equivalence tests and the CO-RE error classifier. The socket
// programs return relocated constants, so BPF_PROG_TEST_RUN shows what the
// relocations resolved to; the kprobe program really reads kernel memory.
//
// type_matches needs clang >= 15 and is not exercised here.
// Regenerate: go generate ./btfhub/minimize (needs clang and libbpf-dev).
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#define __pai __attribute__((preserve_access_index))

struct list_head { struct list_head *next, *prev; } __pai;

struct task_struct {
	int pid;
	int tgid;
	struct task_struct *real_parent;
	char comm[16];
	unsigned int flags;
	struct list_head children;
	int retrobpf_no_such_field;
} __pai;

struct task_struct___old { long state; } __pai;
struct task_struct___new { unsigned int __state; } __pai;
struct retrobpf_no_such_type { int x; } __pai;

enum pid_type { PIDTYPE_PID, PIDTYPE_TGID, PIDTYPE_PGID, PIDTYPE_SID, PIDTYPE_MAX };
enum retrobpf_flavoured___x { PIDTYPE_RETROBPF_NONE = 7 };

struct sk_buff {
	__u8 pkt_type:3;
	__u32 len;
	__u16 protocol;
} __pai;

struct pt_regs { unsigned long di; } __pai;

SEC("socket") int field_offset(void *ctx)
{
	return bpf_core_field_offset(struct task_struct, real_parent) * 1000 +
	       bpf_core_field_offset(struct task_struct, tgid);
}

SEC("socket") int field_size(void *ctx)
{
	return bpf_core_field_size(struct task_struct, comm) * 100 +
	       bpf_core_field_size(struct sk_buff, protocol);
}

SEC("socket") int field_exists(void *ctx)
{
	return bpf_core_field_exists(struct task_struct, retrobpf_no_such_field) * 10 +
	       bpf_core_field_exists(struct task_struct, pid);
}

SEC("socket") int nested(void *ctx)
{
	return bpf_core_field_offset(struct task_struct, children.prev);
}

SEC("socket") int bitfield(void *ctx)
{
	return __builtin_preserve_field_info(((struct sk_buff *)0)->pkt_type, BPF_FIELD_LSHIFT_U64) * 100 +
	       __builtin_preserve_field_info(((struct sk_buff *)0)->pkt_type, BPF_FIELD_RSHIFT_U64) * 10 +
	       __builtin_preserve_field_info(((struct sk_buff *)0)->len, BPF_FIELD_SIGNED);
}

SEC("socket") int types(void *ctx)
{
	return bpf_core_type_size(struct task_struct) * 10 +
	       bpf_core_type_exists(struct task_struct___old) * 4 +
	       bpf_core_type_exists(struct retrobpf_no_such_type) * 2;
}

SEC("socket") int enums(void *ctx)
{
	return bpf_core_enum_value(enum pid_type, PIDTYPE_SID) * 100 +
	       bpf_core_enum_value_exists(enum pid_type, PIDTYPE_MAX) * 10 +
	       bpf_core_enum_value_exists(enum retrobpf_flavoured___x, PIDTYPE_RETROBPF_NONE);
}

SEC("socket") int flavours(void *ctx)
{
	if (bpf_core_field_exists(struct task_struct___new, __state))
		return 10000 + bpf_core_field_offset(struct task_struct___new, __state);
	return bpf_core_field_offset(struct task_struct___old, state);
}

SEC("socket") int type_id(void *ctx)
{
	return bpf_core_type_id_kernel(struct task_struct) != 0;
}

SEC("kprobe/do_nanosleep") int read_parent(struct pt_regs *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	return BPF_CORE_READ(task, real_parent, tgid);
}

char LICENSE[] SEC("license") = "GPL";
