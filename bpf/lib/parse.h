/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#ifndef BPFNET_BPF_PARSE_H
#define BPFNET_BPF_PARSE_H

#include "common.h"

/* What the datapath knows about one IPv4 packet. Offsets are from skb->data. */
struct pkt {
	__u32 ifindex; /* where it arrived; skb->ifindex read once (the verifier
			* refuses a ctx pointer the compiler kept and moved) */
	__u32 l3_off;
	__u32 l4_off;
	__u32 l4_csum_off;   /* 0: no L4 checksum to fix (ICMP, later fragment) */
	__u32 l4_csum_flags; /* extra flags for bpf_l4_csum_replace */
	__u32 ihl;           /* IPv4 header length in bytes, 20..60 */
	__u32 l4_len;        /* bytes from l4_off to the end of the IP datagram */
	__be32 saddr;
	__be32 daddr;
	__be16 sport; /* ICMP: 0 */
	__be16 dport;
	__be16 ip_id;
	__u8 proto;
	__u8 has_l4;  /* L4 header is in this packet (not a later fragment) */
	__u8 is_frag; /* MF set or non-zero offset */
	__u8 tcp_flags;
	__u8 icmp_type;
	__u8 pad0;
};

enum parse_result {
	PARSE_OK = 0,
	PARSE_NOT_IPV4 = 1,  /* not ours: pass untouched */
	PARSE_MALFORMED = -1, /* IPv4 with truncated or invalid headers */
};

#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_RST 0x04
#define TCP_FLAG_ACK 0x10

/* byte 13 of the TCP header holds the flags */
#define TCP_FLAGS_OFF 13

/* Headers are read in place when they are in the linear area (the common
 * case) and copied out with bpf_skb_load_bytes only when they are not. */
static __always_inline int load_l4_head(struct __sk_buff *skb, const struct pkt *p, void *dst,
					__u32 len)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u32 off = p->l4_off;

	if (off <= ETH_HLEN + 60 && data + off + TCP_FLAGS_OFF + 1 <= data_end) {
		__builtin_memcpy(dst, data + off, TCP_FLAGS_OFF + 1);
		return 0;
	}
	return bpf_skb_load_bytes(skb, off, dst, len);
}

static __always_inline int parse_l4(struct __sk_buff *skb, struct pkt *p)
{
	__u8 hdr[TCP_FLAGS_OFF + 1];

	switch (p->proto) {
	case IPPROTO_TCP:
		if (p->l4_len < sizeof(struct tcphdr))
			return PARSE_MALFORMED;
		if (load_l4_head(skb, p, hdr, sizeof(hdr)))
			return PARSE_MALFORMED;
		if ((hdr[12] >> 4) < 5) /* data offset */
			return PARSE_MALFORMED;
		p->tcp_flags = hdr[TCP_FLAGS_OFF];
		p->l4_csum_off = p->l4_off + offsetof(struct tcphdr, check);
		break;
	case IPPROTO_UDP:
		if (p->l4_len < sizeof(struct udphdr))
			return PARSE_MALFORMED;
		if (load_l4_head(skb, p, hdr, sizeof(struct udphdr)))
			return PARSE_MALFORMED;
		p->l4_csum_off = p->l4_off + offsetof(struct udphdr, check);
		p->l4_csum_flags = BPF_F_MARK_MANGLED_0; /* zero = "no checksum" stays zero */
		break;
	case IPPROTO_ICMP:
		if (p->l4_len < sizeof(struct icmphdr))
			return PARSE_MALFORMED;
		if (load_l4_head(skb, p, hdr, sizeof(struct icmphdr)))
			return PARSE_MALFORMED;
		p->icmp_type = hdr[0];
		return PARSE_OK;
	default:
		return PARSE_OK;
	}
	__builtin_memcpy(&p->sport, &hdr[0], 2);
	__builtin_memcpy(&p->dport, &hdr[2], 2);
	return PARSE_OK;
}

/*
 * Parse Ethernet + IPv4 + the L4 ports. Headers are validated against the
 * packet's real length, so a truncated or lying packet is never translated.
 */
static __always_inline int parse_ipv4(struct __sk_buff *skb, struct pkt *p)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	__u32 tot_len, frag_off;

	p->ifindex = skb->ifindex;
	if ((void *)(eth + 1) > data_end)
		return PARSE_NOT_IPV4;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return PARSE_NOT_IPV4;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return PARSE_MALFORMED;
	if (ip->version != 4 || ip->ihl < 5)
		return PARSE_MALFORMED;

	p->l3_off = ETH_HLEN;
	p->ihl = ip->ihl * 4;
	p->l4_off = ETH_HLEN + p->ihl;
	tot_len = bpf_ntohs(ip->tot_len);
	/* BIG TCP GSO packets carry tot_len 0 */
	if (tot_len == 0 && skb->gso_segs > 1)
		tot_len = skb->len - ETH_HLEN;
	if (tot_len < p->ihl || ETH_HLEN + tot_len > skb->len)
		return PARSE_MALFORMED;
	p->l4_len = tot_len - p->ihl;

	p->saddr = ip->saddr;
	p->daddr = ip->daddr;
	p->proto = ip->protocol;
	p->ip_id = ip->id;
	frag_off = bpf_ntohs(ip->frag_off);
	p->is_frag = (frag_off & (IP_MF | IP_OFFSET)) != 0;
	p->has_l4 = (frag_off & IP_OFFSET) == 0;
	if (!p->has_l4)
		return PARSE_OK;
	return parse_l4(skb, p);
}

#endif
