/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* x86_64 argument access for kprobes and BTF-typed (fentry/fexit/tp_btf)
 * programs. */
#ifndef __RETROBPF_BPF_TRACING_H__
#define __RETROBPF_BPF_TRACING_H__

/* kprobe/kretprobe: struct pt_regs is the context; its layout is x86_64 ABI
 * and read without CO-RE, so kprobe programs need no kernel BTF. */
#define PT_REGS_PARM1(x) ((x)->di)
#define PT_REGS_PARM2(x) ((x)->si)
#define PT_REGS_PARM3(x) ((x)->dx)
#define PT_REGS_PARM4(x) ((x)->cx)
#define PT_REGS_PARM5(x) ((x)->r8)
#define PT_REGS_RC(x) ((x)->ax)

/* fentry/fexit/tp_btf: the context is an array of u64 arguments (for fexit,
 * the return value follows the arguments). BTF_ARG(ctx, n, type) casts
 * argument n. */
#define BTF_ARG(ctx, n, type) ((type)(((__u64 *)(ctx))[n]))

#endif /* __RETROBPF_BPF_TRACING_H__ */
