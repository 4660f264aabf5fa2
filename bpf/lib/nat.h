/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Address and port rewrites with IPv4 and L4 checksums kept correct. */
#ifndef BPFNET_BPF_NAT_H
#define BPFNET_BPF_NAT_H

#include "parse.h"

#define IP_CSUM_OFF offsetof(struct iphdr, check)

static __always_inline int nat_store_addr(struct __sk_buff *skb, const struct pkt *p,
					  __u32 field_off, __be32 from, __be32 to)
{
	if (bpf_skb_store_bytes(skb, p->l3_off + field_off, &to, sizeof(to), 0))
		return -1;
	if (bpf_l3_csum_replace(skb, p->l3_off + IP_CSUM_OFF, from, to, sizeof(to)))
		return -1;
	/* the address is part of the TCP/UDP pseudo header */
	if (p->l4_csum_off &&
	    bpf_l4_csum_replace(skb, p->l4_csum_off, from, to,
				BPF_F_PSEUDO_HDR | sizeof(to) | p->l4_csum_flags))
		return -1;
	return 0;
}

static __always_inline int nat_store_port(struct __sk_buff *skb, const struct pkt *p,
					  __u32 field_off, __be16 from, __be16 to)
{
	if (bpf_skb_store_bytes(skb, p->l4_off + field_off, &to, sizeof(to), 0))
		return -1;
	if (p->l4_csum_off &&
	    bpf_l4_csum_replace(skb, p->l4_csum_off, from, to, sizeof(to) | p->l4_csum_flags))
		return -1;
	return 0;
}

/* DNAT: destination VIP:port -> backend. Later fragments get the address only. */
static __always_inline int nat_rewrite_dst(struct __sk_buff *skb, const struct pkt *p,
					   __be32 addr, __be16 port)
{
	if (addr != p->daddr &&
	    nat_store_addr(skb, p, offsetof(struct iphdr, daddr), p->daddr, addr))
		return -1;
	if (p->has_l4 && port != p->dport &&
	    nat_store_port(skb, p, offsetof(struct udphdr, dest), p->dport, port))
		return -1;
	return 0;
}

/* Reverse NAT: source backend -> VIP:port. */
static __always_inline int nat_rewrite_src(struct __sk_buff *skb, const struct pkt *p,
					   __be32 addr, __be16 port)
{
	if (addr != p->saddr &&
	    nat_store_addr(skb, p, offsetof(struct iphdr, saddr), p->saddr, addr))
		return -1;
	if (p->has_l4 && port != p->sport &&
	    nat_store_port(skb, p, offsetof(struct udphdr, source), p->sport, port))
		return -1;
	return 0;
}

#endif
