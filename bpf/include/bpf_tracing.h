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

/* Typed program definitions, up to five arguments:
 *
 *   SEC("kprobe/tcp_v4_connect")
 *   int BPF_KPROBE(handle, struct sock *sk) { ... }
 *   SEC("kretprobe/tcp_v4_connect")
 *   int BPF_KRETPROBE(handle_ret, int ret) { ... }
 *   SEC("fexit/tcp_v4_connect")
 *   int BPF_PROG(handle_exit, struct sock *sk, void *uaddr, int len, int ret) { ... }
 *
 * The body sees the arguments by name and ctx as the raw context. Each
 * argument arrives as a u64 (a register, or a slot of the BTF context
 * array); -Wint-conversion is silenced for the conversion to its type. */
#define ___nth(_, _1, _2, _3, _4, _5, N, ...) N
#define ___narg(...) ___nth(_, ##__VA_ARGS__, 5, 4, 3, 2, 1, 0)
#define ___cat(a, b) a##b
#define ___apply(fn, n) ___cat(fn, n)

#define ___kp_args0() ctx
#define ___kp_args1(x) ___kp_args0(), (__u64)PT_REGS_PARM1(ctx)
#define ___kp_args2(x, args...) ___kp_args1(args), (__u64)PT_REGS_PARM2(ctx)
#define ___kp_args3(x, args...) ___kp_args2(args), (__u64)PT_REGS_PARM3(ctx)
#define ___kp_args4(x, args...) ___kp_args3(args), (__u64)PT_REGS_PARM4(ctx)
#define ___kp_args5(x, args...) ___kp_args4(args), (__u64)PT_REGS_PARM5(ctx)
#define ___kp_args(args...) ___apply(___kp_args, ___narg(args))(args)

#define ___ctx_args0() ctx
#define ___ctx_args1(x) ___ctx_args0(), ctx[0]
#define ___ctx_args2(x, args...) ___ctx_args1(args), ctx[1]
#define ___ctx_args3(x, args...) ___ctx_args2(args), ctx[2]
#define ___ctx_args4(x, args...) ___ctx_args3(args), ctx[3]
#define ___ctx_args5(x, args...) ___ctx_args4(args), ctx[4]
#define ___ctx_args(args...) ___apply(___ctx_args, ___narg(args))(args)

#define ___typed_prog(name, ctxtype, call, args...) \
	name(ctxtype ctx); \
	static __always_inline int ____##name(ctxtype ctx, ##args); \
	int name(ctxtype ctx) \
	{ \
		_Pragma("GCC diagnostic push") \
		_Pragma("GCC diagnostic ignored \"-Wint-conversion\"") \
		return ____##name(call); \
		_Pragma("GCC diagnostic pop") \
	} \
	static __always_inline int ____##name(ctxtype ctx, ##args)

#define BPF_KPROBE(name, args...) ___typed_prog(name, struct pt_regs *, ___kp_args(args), ##args)
#define BPF_KRETPROBE(name, args...) ___typed_prog(name, struct pt_regs *, ___kp_args0() ___kret_arg(args), ##args)
#define ___kret_arg(args...) ___apply(___kret_arg, ___narg(args))
#define ___kret_arg0
#define ___kret_arg1 , (__u64)PT_REGS_RC(ctx)
#define BPF_PROG(name, args...) ___typed_prog(name, __u64 *, ___ctx_args(args), ##args)

#endif /* __RETROBPF_BPF_TRACING_H__ */
