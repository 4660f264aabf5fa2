/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Incremental internet checksum arithmetic (RFC 1624) for fields the kernel
 * helpers cannot reach directly, e.g. headers quoted inside ICMP errors. */
#ifndef BPFNET_BPF_CSUM_H
#define BPFNET_BPF_CSUM_H

#include "common.h"

static __always_inline __u16 csum_fold32(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* HC' = ~(~HC + ~m + m') for one 32-bit field */
static __always_inline __u16 csum_replace4(__u16 check, __u32 from, __u32 to)
{
	__u32 sum = (__u16)~check;

	sum += (~from & 0xffff) + (~from >> 16);
	sum += (to & 0xffff) + (to >> 16);
	return (__u16)~csum_fold32(sum);
}

static __always_inline __u16 csum_replace2(__u16 check, __u16 from, __u16 to)
{
	__u32 sum = (__u16)~check;

	sum += (__u16)~from;
	sum += to;
	return (__u16)~csum_fold32(sum);
}

/* Checksum of a buffer whose length is a multiple of 4, seeded with @seed. */
static __always_inline __u16 csum_buf(void *buf, __u32 len, __u32 seed)
{
	__s64 sum = bpf_csum_diff(NULL, 0, buf, len, seed);

	return (__u16)~csum_fold32((__u32)sum);
}

#endif
