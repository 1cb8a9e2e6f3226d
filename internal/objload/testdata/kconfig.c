// Every __kconfig form libbpf supports, each read by its own socket
// filter so that a test can run it and compare what it returns.
#include <linux/bpf.h>
#include <linux/types.h>
#include <stdbool.h>
#include <bpf/bpf_helpers.h>

extern __u32 LINUX_KERNEL_VERSION __kconfig;           /* typedef'd integer */
extern const bool LINUX_HAS_BPF_COOKIE __kconfig;      /* bool, virtual */
extern bool LINUX_HAS_SYSCALL_WRAPPER __kconfig __weak;
extern bool CONFIG_BPF_SYSCALL __kconfig;              /* bool from the config */
extern enum libbpf_tristate CONFIG_RETRO_TRI __kconfig __weak; /* tristate */
extern int CONFIG_HZ __kconfig __weak;                 /* int */
extern char CONFIG_RETRO_STR[8] __kconfig __weak;      /* char array */
extern char CONFIG_RETRO_CHAR __kconfig __weak;        /* char ('y', 'm', 'n') */
extern unsigned long long CONFIG_RETRO_ABSENT __kconfig __weak; /* absent: 0 */

/* A weak map, as usdt.bpf.h declares its maps. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} weak_map SEC(".maps") __weak;

SEC("socket") int version(void *ctx) { return LINUX_KERNEL_VERSION; }
SEC("socket") int cookie(void *ctx) { return LINUX_HAS_BPF_COOKIE; }
SEC("socket") int wrapper(void *ctx) { return LINUX_HAS_SYSCALL_WRAPPER; }
SEC("socket") int syscall_on(void *ctx) { return CONFIG_BPF_SYSCALL; }
SEC("socket") int tri(void *ctx) { return CONFIG_RETRO_TRI; }
SEC("socket") int hz(void *ctx) { return CONFIG_HZ; }
SEC("socket") int str(void *ctx) { return CONFIG_RETRO_STR[0] | CONFIG_RETRO_STR[1] << 8 | CONFIG_RETRO_STR[7] << 16; }
SEC("socket") int chr(void *ctx) { return CONFIG_RETRO_CHAR; }
SEC("socket") int absent(void *ctx) { return CONFIG_RETRO_ABSENT + 7; }

SEC("socket") int use_weak_map(void *ctx)
{
	__u32 k = 0, *v = bpf_map_lookup_elem(&weak_map, &k);
	return v ? *v : 0;
}

char LICENSE[] SEC("license") = "GPL";
