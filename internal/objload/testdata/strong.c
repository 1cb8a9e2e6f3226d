// A non-weak CONFIG_ extern that no kernel has: libbpf refuses the object
// ("extern CONFIG_RETRO_REQUIRED (strong) not resolved").
#include <linux/bpf.h>
#include <stdbool.h>
#include <bpf/bpf_helpers.h>

extern bool CONFIG_RETRO_REQUIRED __kconfig;

SEC("socket") int needs_config(void *ctx) { return CONFIG_RETRO_REQUIRED; }

char LICENSE[] SEC("license") = "GPL";
