/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ICMP errors about translated flows. An error quotes the packet that caused
 * it; when that packet belongs to a translated flow the quote and the outer
 * header are translated the same way as the flow, so the client's stack
 * matches the error to its socket (e.g. port unreachable from a UDP backend
 * reaches the client as coming from the VIP).
 */
#ifndef BPFNET_BPF_ICMP_H
#define BPFNET_BPF_ICMP_H

#include "conntrack.h"
#include "csum.h"
#include "lb.h"
#include "nat.h"

struct icmp_quote {
	__u32 l3_off;  /* quoted IPv4 header */
	__u32 l4_off;  /* quoted L4 header */
	__u32 l4_csum_off; /* 0: quoted L4 checksum not in the packet, or UDP's zero */
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
};

static __always_inline int icmp_is_error(__u8 type)
{
	return type == ICMP_DEST_UNREACH || type == ICMP_TIME_EXCEEDED ||
	       type == ICMP_PARAMETERPROB;
}

static __always_inline int icmp_parse_quote(struct __sk_buff *skb, const struct pkt *p,
					    struct icmp_quote *q)
{
	struct iphdr ip;
	__u16 csum;
	__u32 ihl;

	__u32 end = p->l4_off + p->l4_len; /* end of the ICMP message */

	q->l3_off = p->l4_off + sizeof(struct icmphdr);
	if (bpf_skb_load_bytes(skb, q->l3_off, &ip, sizeof(ip)))
		return -1;
	ihl = ip.ihl * 4;
	if (ip.version != 4 || ihl < sizeof(ip))
		return -1;
	/* RFC 792: the quote holds the IP header and at least 8 L4 bytes */
	if (q->l3_off + ihl + 8 > end)
		return -1;
	if (ip.protocol != IPPROTO_TCP && ip.protocol != IPPROTO_UDP)
		return -1;
	q->l4_off = q->l3_off + ihl;
	if (bpf_skb_load_bytes(skb, q->l4_off, &q->sport, sizeof(q->sport)) ||
	    bpf_skb_load_bytes(skb, q->l4_off + 2, &q->dport, sizeof(q->dport)))
		return -1;
	q->saddr = ip.saddr;
	q->daddr = ip.daddr;
	q->proto = ip.protocol;
	q->l4_csum_off = q->l4_off + (ip.protocol == IPPROTO_TCP ? offsetof(struct tcphdr, check)
								  : offsetof(struct udphdr, check));
	/* the quote holds at least 8 L4 bytes; TCP's checksum may be cut off */
	if (q->l4_csum_off + sizeof(csum) > end ||
	    bpf_skb_load_bytes(skb, q->l4_csum_off, &csum, sizeof(csum)) ||
	    (ip.protocol == IPPROTO_UDP && csum == 0))
		q->l4_csum_off = 0;
	return 0;
}

/* Store @to over @from inside the ICMP payload and fold the change into the
 * ICMP checksum (which has no pseudo header). */
static __always_inline int icmp_payload_store(struct __sk_buff *skb, const struct pkt *p,
					      __u32 off, __u32 from, __u32 to, __u32 size)
{
	if (bpf_skb_store_bytes(skb, off, &to, size, 0))
		return -1;
	return bpf_l4_csum_replace(skb, p->l4_off + offsetof(struct icmphdr, checksum), from, to,
				   size);
}

/* Rewrite one quoted address+port, keeping the quoted IP and L4 checksums
 * and the ICMP checksum consistent. */
static __always_inline int icmp_quote_rewrite(struct __sk_buff *skb, const struct pkt *p,
					      const struct icmp_quote *q, int dst,
					      __be32 addr, __be16 port)
{
	__u32 addr_off = q->l3_off + (dst ? offsetof(struct iphdr, daddr) : offsetof(struct iphdr, saddr));
	__u32 port_off = q->l4_off + (dst ? 2 : 0);
	__be32 old_addr = dst ? q->daddr : q->saddr;
	__be16 old_port = dst ? q->dport : q->sport;
	__u16 old_csum, new_csum;

	if (icmp_payload_store(skb, p, addr_off, old_addr, addr, 4))
		return -1;
	if (bpf_skb_load_bytes(skb, q->l3_off + IP_CSUM_OFF, &old_csum, 2))
		return -1;
	new_csum = csum_replace4(old_csum, old_addr, addr);
	if (icmp_payload_store(skb, p, q->l3_off + IP_CSUM_OFF, old_csum, new_csum, 2))
		return -1;
	if (icmp_payload_store(skb, p, port_off, old_port, port, 2))
		return -1;
	if (!q->l4_csum_off)
		return 0;
	if (bpf_skb_load_bytes(skb, q->l4_csum_off, &old_csum, 2))
		return -1;
	new_csum = csum_replace4(old_csum, old_addr, addr);
	new_csum = csum_replace2(new_csum, old_port, port);
	if (q->proto == IPPROTO_UDP && new_csum == 0)
		new_csum = 0xffff;
	return icmp_payload_store(skb, p, q->l4_csum_off, old_csum, new_csum, 2);
}

/* Outer header: only the IPv4 checksum covers addresses (ICMP has no
 * pseudo header), so the L4 checksum must not be touched here. */
static __always_inline int icmp_outer_addr(struct __sk_buff *skb, const struct pkt *p, int dst,
					   __be32 addr)
{
	__u32 off = p->l3_off + (dst ? offsetof(struct iphdr, daddr) : offsetof(struct iphdr, saddr));
	__be32 from = dst ? p->daddr : p->saddr;

	if (bpf_skb_store_bytes(skb, off, &addr, 4, 0))
		return -1;
	return bpf_l3_csum_replace(skb, p->l3_off + IP_CSUM_OFF, from, addr, 4);
}

/*
 * Returns 1 when the error belonged to a translated flow and was rewritten,
 * 0 when it is not ours, -1 when a rewrite failed.
 */
static __always_inline int icmp_error_xlate(struct __sk_buff *skb, const struct pkt *p)
{
	struct bpfnet_ct_value *ct;
	struct bpfnet_ct_key key;
	struct icmp_quote q = {};

	if (!p->has_l4 || p->is_frag || !icmp_is_error(p->icmp_type))
		return 0;
	if (icmp_parse_quote(skb, p, &q))
		return 0;

	/* Error about client -> backend (sent by the backend or a router on
	 * the way): make the quote read client -> VIP again. */
	ct_key_init(&key, q.daddr, q.saddr, q.dport, q.sport, q.proto, BPFNET_CT_REPLY);
	ct = ct_lookup(&key);
	if (ct) {
		if (icmp_quote_rewrite(skb, p, &q, 1, ct->rev_addr, ct->rev_port))
			return -1;
		if (p->saddr == q.daddr && icmp_outer_addr(skb, p, 0, ct->rev_addr))
			return -1;
		/* hairpin: the quoted source was the hairpin address, the
		 * client's own address before */
		if (ct->flags & BPFNET_CT_F_HAIRPIN) {
			if (icmp_quote_rewrite(skb, p, &q, 0, q.daddr, q.sport))
				return -1;
			if (p->daddr == q.saddr && icmp_outer_addr(skb, p, 1, q.daddr))
				return -1;
		}
		return 1;
	}

	/* Error from the client about VIP -> client (a reverse-NATed reply):
	 * send it to the backend that really sent that reply. */
	ct_key_init(&key, q.daddr, q.saddr, q.dport, q.sport, q.proto, BPFNET_CT_SERVICE);
	ct = ct_lookup(&key);
	if (ct) {
		__be32 be_addr = ct->backend_addr;
		__be16 be_port = ct->backend_port;

		if (icmp_quote_rewrite(skb, p, &q, 0, be_addr, be_port))
			return -1;
		if (p->daddr == q.saddr && icmp_outer_addr(skb, p, 1, be_addr))
			return -1;
		/* hairpin: the backend saw the flow come from the hairpin address */
		if (ct->flags & BPFNET_CT_F_HAIRPIN) {
			__be32 hairpin = bpf_htonl(BPFNET_HAIRPIN_ADDR);

			if (icmp_quote_rewrite(skb, p, &q, 1, hairpin, q.dport))
				return -1;
			if (p->saddr == q.daddr && icmp_outer_addr(skb, p, 0, hairpin))
				return -1;
		}
		return 1;
	}
	return 0;
}

#endif
