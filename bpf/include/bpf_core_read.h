/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* CO-RE reads. Every field access goes through
 * __builtin_preserve_access_index, so clang records a relocation that the
 * loader resolves against the target kernel's BTF.
 *
 * BPF_CORE_READ(src, a, b, c) reads src->a->b->c with one probe read per
 * pointer hop, using CORE_PROBE_READ: bpf_probe_read_kernel by default
 * (5.5+), or bpf_probe_read when the program defines RETRO_LEGACY_READ
 * before including this header (4.19: one helper for kernel and user). */
#ifndef __RETROBPF_BPF_CORE_READ_H__
#define __RETROBPF_BPF_CORE_READ_H__

#ifdef RETRO_LEGACY_READ
#define CORE_PROBE_READ bpf_probe_read
#else
#define CORE_PROBE_READ bpf_probe_read_kernel
#endif

/* Field-existence check, resolved at load time (0 if the target lacks it). */
#define BPF_FIELD_EXISTS 2
#define bpf_core_field_exists(field) \
	__builtin_preserve_field_info(field, BPF_FIELD_EXISTS)

/* Read one field of *src into dst (relocated). */
#define BPF_CORE_READ_INTO(dst, src, a) \
	CORE_PROBE_READ((void *)(dst), sizeof(*(dst)), \
			(const void *)__builtin_preserve_access_index(&(src)->a))

#define __core_read1(src, a) ({ \
	typeof((src)->a) __r; \
	CORE_PROBE_READ(&__r, sizeof(__r), \
			(const void *)__builtin_preserve_access_index(&(src)->a)); \
	__r; })
/* Each hop lands in a temporary: clang cannot nest preserve_access_index. */
#define __core_read2(src, a, b) ({ \
	typeof((src)->a) __p2 = __core_read1(src, a); __core_read1(__p2, b); })
#define __core_read3(src, a, b, c) ({ \
	typeof((src)->a) __p3 = __core_read1(src, a); __core_read2(__p3, b, c); })
#define __core_read4(src, a, b, c, d) ({ \
	typeof((src)->a) __p4 = __core_read1(src, a); __core_read3(__p4, b, c, d); })

#define __core_pick(_1, _2, _3, _4, name, ...) name
/* BPF_CORE_READ(src, f1[, f2[, f3[, f4]]]): each fN is one member name
 * (dotted access into embedded structs is fine: __sk_common.skc_daddr). */
#define BPF_CORE_READ(src, ...) \
	__core_pick(__VA_ARGS__, __core_read4, __core_read3, __core_read2, \
		    __core_read1)(src, __VA_ARGS__)

#endif /* __RETROBPF_BPF_CORE_READ_H__ */
