/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Byte order helpers for the little-endian (bpfel) target only. */
#ifndef __RETROBPF_BPF_ENDIAN_H__
#define __RETROBPF_BPF_ENDIAN_H__

#define bpf_htons(x) ((__be16)__builtin_bswap16((__u16)(x)))
#define bpf_ntohs(x) ((__u16)__builtin_bswap16((__u16)(x)))
#define bpf_htonl(x) ((__be32)__builtin_bswap32((__u32)(x)))
#define bpf_ntohl(x) ((__u32)__builtin_bswap32((__u32)(x)))

#endif /* __RETROBPF_BPF_ENDIAN_H__ */
