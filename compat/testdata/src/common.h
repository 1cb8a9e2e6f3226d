/* Minimal declarations shared by the test objects (no vmlinux.h needed). */
#ifndef RETROBPF_TEST_COMMON_H
#define RETROBPF_TEST_COMMON_H

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef int __s32;
typedef long long __s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#endif
