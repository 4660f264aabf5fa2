/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#ifndef BPFNET_BPF_COMMON_H
#define BPFNET_BPF_COMMON_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include <bpfnet/datapath.h>

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* linux/icmp.h drags in libc headers, which do not build for -target bpf */
struct icmphdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be32 rest; /* echo id+sequence, or unused in errors */
};

#define ICMP_DEST_UNREACH 3
#define ICMP_PORT_UNREACH 3
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAMETERPROB 12

#define IP_MF 0x2000
#define IP_OFFSET 0x1fff

#define NSEC_PER_SEC 1000000000ULL

/* Conntrack timers need about a second of precision; the jiffies-based
 * clock costs a fraction of bpf_ktime_get_ns() (5.11+, Debian 12 has 6.1). */
static __always_inline __u64 ct_now(void)
{
	return bpf_ktime_get_coarse_ns();
}

#ifndef ECONNREFUSED
#define ECONNREFUSED 111
#endif

/* Kernel features the loader probed; fixed before load so the verifier
 * prunes the branch an older kernel cannot take. */
volatile const __u32 cfg_has_set_retval = 1;
volatile const __u32 cfg_has_sk_storage = 1; /* bpf_sk_storage_get in sock_addr */
/* sock_pending_v1's size, which the agent chooses when it creates the map */
volatile const __u32 cfg_sock_pending_slots = BPFNET_DEFAULT_SOCK_PENDING_MAX;
/* 0 removes the monitor code entirely; only benchmarks use that, to show
 * what the switched-off monitor costs. */
volatile const __u32 cfg_monitor_compiled = 1;

#endif
