/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Conntrack for flows the packet path translated. Each flow has two entries:
 * SERVICE (client -> VIP tuple, holds the chosen backend) and REPLY
 * (backend -> client tuple, holds the service id for reverse NAT).
 */
#ifndef BPFNET_BPF_CONNTRACK_H
#define BPFNET_BPF_CONNTRACK_H

#include "maps.h"
#include "parse.h"

static __always_inline void ct_key_init(struct bpfnet_ct_key *k, __be32 saddr, __be32 daddr,
					__be16 sport, __be16 dport, __u8 proto, __u8 dir)
{
	k->saddr = saddr;
	k->daddr = daddr;
	k->sport = sport;
	k->dport = dport;
	k->proto = proto;
	k->dir = dir;
	k->pad0 = 0;
}

static __always_inline __u64 ct_lifetime_ns(__u8 proto, __u16 flags)
{
	return (__u64)bpfnet_ct_lifetime_s(proto, flags) * NSEC_PER_SEC;
}

static __always_inline int ct_expired(const struct bpfnet_ct_value *ct, __u8 proto, __u64 now)
{
	return now - ct->last_seen_ns > ct_lifetime_ns(proto, ct->flags);
}

/* A SYN on a closing entry is the client reusing its port: a new flow. */
static __always_inline int ct_is_reopen(const struct bpfnet_ct_value *ct, const struct pkt *p)
{
	return p->proto == IPPROTO_TCP &&
	       (p->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN &&
	       (ct->flags & (BPFNET_CT_F_RST | BPFNET_CT_F_FIN_FWD | BPFNET_CT_F_FIN_REV));
}

/* Refresh timers and TCP state. Writes only when something changed, so a
 * busy flow does not bounce the entry's cache line on every packet. */
static __always_inline void ct_touch(struct bpfnet_ct_value *ct, const struct pkt *p, __u64 now,
				     __u16 fin_flag)
{
	__u16 flags = ct->flags;

	if (p->proto == IPPROTO_TCP) {
		if (p->tcp_flags & TCP_FLAG_RST)
			flags |= BPFNET_CT_F_RST;
		if (p->tcp_flags & TCP_FLAG_FIN)
			flags |= fin_flag;
	}
	if (flags != ct->flags)
		ct->flags = flags;
	if (now - ct->last_seen_ns > NSEC_PER_SEC)
		ct->last_seen_ns = now;
}

/* Insert both entries of a new flow; the reply entry first, so a reply can
 * never arrive for a SERVICE entry without its twin. A hairpinned flow's
 * replies are addressed to BPFNET_HAIRPIN_ADDR, and its reply entry says so. */
static __always_inline int ct_create(const struct bpfnet_ct_key *fwd, const struct pkt *p,
				     __be32 backend_addr, __be16 backend_port, __u32 backend_id,
				     __u32 svc_id, __u64 now)
{
	int hairpin = backend_addr == fwd->saddr;
	struct bpfnet_ct_value v = {
		.created_ns = now,
		.last_seen_ns = now,
		.backend_id = backend_id,
		.svc_id = svc_id,
		.backend_port = backend_port,
		.backend_addr = backend_addr,
	};
	struct bpfnet_ct_key rev;

	if (p->proto == IPPROTO_TCP && (p->tcp_flags & TCP_FLAG_RST))
		v.flags |= BPFNET_CT_F_RST;
	if (hairpin)
		v.flags |= BPFNET_CT_F_HAIRPIN;
	ct_key_init(&rev, backend_addr, hairpin ? bpf_htonl(BPFNET_HAIRPIN_ADDR) : fwd->saddr,
		    backend_port, fwd->sport, fwd->proto, BPFNET_CT_REPLY);
	if (bpf_map_update_elem(&ct_v1, &rev, &v, BPF_ANY))
		return -1;
	return bpf_map_update_elem(&ct_v1, fwd, &v, BPF_ANY);
}

#endif
