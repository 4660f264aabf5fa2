/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Address and port rewrites with IPv4 and L4 checksums kept correct. */
#ifndef BPFNET_BPF_NAT_H
#define BPFNET_BPF_NAT_H

#include "csum.h"
#include "parse.h"

#define IP_CSUM_OFF offsetof(struct iphdr, check)

/* The IPv4 header checksum is always complete (never offloaded), and it
 * sits right before saddr and daddr: one store writes the new address with
 * its checksum, computed here. Only the L4 checksum needs the kernel helper,
 * which knows whether the skb carries a partial checksum. */
struct ip_csum_addrs {
	__u16 check;
	__be32 saddr;
	__be32 daddr;
} __attribute__((packed));

static __always_inline int nat_store_addr(struct __sk_buff *skb, const struct pkt *p,
					  __u32 field_off, __be32 from, __be32 to)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ip_csum_addrs v;
	struct iphdr *ip = data + ETH_HLEN;

	if (p->l3_off != ETH_HLEN || (void *)(ip + 1) > data_end)
		return -1;
	v.check = csum_replace4(ip->check, from, to);
	v.saddr = field_off == offsetof(struct iphdr, saddr) ? to : ip->saddr;
	v.daddr = field_off == offsetof(struct iphdr, daddr) ? to : ip->daddr;
	if (bpf_skb_store_bytes(skb, ETH_HLEN + IP_CSUM_OFF, &v, sizeof(v), 0))
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
