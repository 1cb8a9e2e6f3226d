// Package objload prepares a BPF ELF object for cilium/ebpf the way libbpf
// prepares it before load, so that objects built for libbpf (the
// libbpf-tools, anything using usdt.bpf.h or __kconfig externs) load
// through retrobpf as they do under their own loader.
//
// cilium/ebpf v0.22.0 differs from libbpf in three ways that matter here:
//
//   - it refuses STB_WEAK map definitions (usdt.bpf.h declares its maps
//     __weak) and weak __kconfig externs: Read rewrites those symbols'
//     binding to STB_GLOBAL in memory and remembers which were weak;
//   - it resolves .kconfig from the running kernel only and accepts a
//     plain 32-bit int for LINUX_KERNEL_VERSION (not the __u32 typedef every
//     libbpf object uses), no tristate, no char arrays, no weak defaults:
//     Prepare builds the .kconfig map itself, for a target kernel that need
//     not be the running one;
//   - it resolves typed __ksym variables (extern struct rq runqueues
//     __ksym) to a kallsyms address, which the verifier does not take as a
//     pointer: Prepare resolves them to the variable's BTF ID, as libbpf
//     does. Untyped ksyms and kfuncs are left to cilium/ebpf, which already
//     handles them like libbpf.
//
// Read also bounds what it hands the ELF and BTF decoders (object size,
// BTF graph, section sizes) and turns a decoder panic into an error.
//
// Where it still differs from libbpf: typed ksyms are looked up in vmlinux
// BTF only (libbpf also searches module BTF), and the local and kernel
// types of a typed ksym are not compared.
package objload
