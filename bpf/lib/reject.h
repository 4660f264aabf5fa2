/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A service without backends answers at once instead of letting the client
 * time out: the packet is turned in place into a TCP RST or an ICMP port
 * unreachable and sent back out of the interface it came from.
 */
#ifndef BPFNET_BPF_REJECT_H
#define BPFNET_BPF_REJECT_H

#include "csum.h"
#include "parse.h"
#include "drop.h"

#define REJECT_TTL 64
#define IP_DF 0x4000

static __always_inline void reject_ip_header(struct iphdr *ip, __u8 proto, __u16 tot_len,
					     __be32 saddr, __be32 daddr)
{
	__builtin_memset(ip, 0, sizeof(*ip));
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = bpf_htons(tot_len);
	ip->frag_off = bpf_htons(IP_DF);
	ip->ttl = REJECT_TTL;
	ip->protocol = proto;
	ip->saddr = saddr;
	ip->daddr = daddr;
	ip->check = csum_buf(ip, sizeof(*ip), 0);
}

/* Swap source and destination MAC so the packet goes back where it came from. */
static __always_inline int reject_swap_macs(struct __sk_buff *skb)
{
	__u8 macs[2 * ETH_ALEN], swapped[2 * ETH_ALEN];

	if (bpf_skb_load_bytes(skb, 0, macs, sizeof(macs)))
		return -1;
	__builtin_memcpy(swapped, macs + ETH_ALEN, ETH_ALEN);
	__builtin_memcpy(swapped + ETH_ALEN, macs, ETH_ALEN);
	return bpf_skb_store_bytes(skb, 0, swapped, sizeof(swapped), 0);
}

struct tcp_pseudo {
	__be32 saddr;
	__be32 daddr;
	__u8 zero;
	__u8 proto;
	__be16 len;
};

/* RFC 9293 3.10.7.1: reset for a segment to a port that has no listener. */
static __always_inline int reject_tcp_rst(struct __sk_buff *skb, const struct pkt *p)
{
	struct tcp_pseudo ph = {};
	struct tcphdr in, out = {};
	struct iphdr ip;
	__u32 seg_len, ack;
	__u32 doff;

	if (p->tcp_flags & TCP_FLAG_RST)
		return TC_ACT_SHOT; /* never answer a reset; already counted */
	if (bpf_skb_load_bytes(skb, p->l4_off, &in, sizeof(in)))
		return drop_pkt(skb, p, BPFNET_DROP_REJECT_FAILED);
	doff = in.doff * 4;
	if (doff > p->l4_len)
		return drop_pkt(skb, p, BPFNET_DROP_MALFORMED);
	seg_len = p->l4_len - doff;
	if (p->tcp_flags & TCP_FLAG_SYN)
		seg_len++;
	if (p->tcp_flags & TCP_FLAG_FIN)
		seg_len++;

	out.source = p->dport;
	out.dest = p->sport;
	out.doff = 5;
	out.rst = 1;
	if (in.ack) {
		out.seq = in.ack_seq;
	} else {
		ack = bpf_ntohl(in.seq) + seg_len;
		out.ack_seq = bpf_htonl(ack);
		out.ack = 1;
	}
	ph.saddr = p->daddr;
	ph.daddr = p->saddr;
	ph.proto = IPPROTO_TCP;
	ph.len = bpf_htons(sizeof(out));
	out.check = csum_buf(&out, sizeof(out), bpf_csum_diff(NULL, 0, (void *)&ph, sizeof(ph), 0));
	reject_ip_header(&ip, IPPROTO_TCP, sizeof(ip) + sizeof(out), p->daddr, p->saddr);

	if (bpf_skb_change_tail(skb, ETH_HLEN + sizeof(ip) + sizeof(out), 0) ||
	    reject_swap_macs(skb) ||
	    bpf_skb_store_bytes(skb, ETH_HLEN, &ip, sizeof(ip), 0) ||
	    bpf_skb_store_bytes(skb, ETH_HLEN + sizeof(ip), &out, sizeof(out), 0))
		return drop_pkt(skb, p, BPFNET_DROP_REJECT_FAILED);
	stat_verdict(BPFNET_STAT_REJECT_TCP_RST, skb->len);
	return bpf_redirect(p->ifindex, 0);
}

#define ICMP_QUOTE_L4 8

/* RFC 1122 3.2.2.1: port unreachable quoting the IP header and 8 bytes. */
static __always_inline int reject_icmp_unreach(struct __sk_buff *skb, const struct pkt *p)
{
	__u8 quote[60 + ICMP_QUOTE_L4];
	struct icmphdr icmp = {};
	struct iphdr ip;
	__u32 ihl = p->ihl;
	__u32 quote_len, sum;

	if (ihl < 20 || ihl > 60 || p->l4_len < ICMP_QUOTE_L4)
		return drop_pkt(skb, p, BPFNET_DROP_MALFORMED);
	quote_len = ihl + ICMP_QUOTE_L4;
	if (bpf_skb_load_bytes(skb, p->l3_off, quote, quote_len))
		return drop_pkt(skb, p, BPFNET_DROP_REJECT_FAILED);

	icmp.type = ICMP_DEST_UNREACH;
	icmp.code = ICMP_PORT_UNREACH;
	sum = bpf_csum_diff(NULL, 0, (void *)&icmp, sizeof(icmp), 0);
	icmp.checksum = csum_buf(quote, quote_len, sum);
	reject_ip_header(&ip, IPPROTO_ICMP, sizeof(ip) + sizeof(icmp) + quote_len, p->daddr,
			 p->saddr);

	/* Room for the new IP+ICMP headers goes in after the first 20 bytes
	 * of the original IP header; the quote is then written over the
	 * shifted original header, and the rest is cut. */
	if (bpf_skb_adjust_room(skb, sizeof(ip) + sizeof(icmp), BPF_ADJ_ROOM_NET, 0) ||
	    bpf_skb_change_tail(skb, ETH_HLEN + sizeof(ip) + sizeof(icmp) + quote_len, 0) ||
	    reject_swap_macs(skb) ||
	    bpf_skb_store_bytes(skb, ETH_HLEN, &ip, sizeof(ip), 0) ||
	    bpf_skb_store_bytes(skb, ETH_HLEN + sizeof(ip), &icmp, sizeof(icmp), 0) ||
	    bpf_skb_store_bytes(skb, ETH_HLEN + sizeof(ip) + sizeof(icmp), quote, quote_len, 0))
		return drop_pkt(skb, p, BPFNET_DROP_REJECT_FAILED);
	stat_verdict(BPFNET_STAT_REJECT_ICMP, skb->len);
	return bpf_redirect(p->ifindex, 0);
}

static __always_inline int reject_no_backend(struct __sk_buff *skb, const struct pkt *p)
{
	drop_note(skb, p, BPFNET_DROP_NO_BACKEND);
	if (!p->has_l4)
		return TC_ACT_SHOT;
	if (p->proto == IPPROTO_TCP)
		return reject_tcp_rst(skb, p);
	return reject_icmp_unreach(skb, p);
}

#endif
