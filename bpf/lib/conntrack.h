/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Conntrack for flows the packet path translated. Each flow has two entries:
 * SERVICE (client -> VIP tuple, holds the chosen backend) and REPLY
 * (backend -> client tuple, holds the VIP replies come from). TCP flows
 * live in their own table, so that a burst of short UDP flows can never
 * evict an idle connection's entries. Expired entries are removed by the
 * agent's garbage collection; until then the datapath treats a flow whose
 * two entries have both expired as gone.
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

static __always_inline struct bpfnet_ct_value *ct_lookup(const struct bpfnet_ct_key *k)
{
	if (k->proto == IPPROTO_TCP)
		return bpf_map_lookup_elem(&ct_tcp_v2, k);
	return bpf_map_lookup_elem(&ct_any_v2, k);
}

static __always_inline int ct_update(const struct bpfnet_ct_key *k,
				     const struct bpfnet_ct_value *v)
{
	if (k->proto == IPPROTO_TCP)
		return bpf_map_update_elem(&ct_tcp_v2, k, v, BPF_ANY);
	return bpf_map_update_elem(&ct_any_v2, k, v, BPF_ANY);
}

static __always_inline void ct_delete(const struct bpfnet_ct_key *k)
{
	if (k->proto == IPPROTO_TCP)
		bpf_map_delete_elem(&ct_tcp_v2, k);
	else
		bpf_map_delete_elem(&ct_any_v2, k);
}

/* The other entry of @k's flow, or NULL. */
static __always_inline struct bpfnet_ct_value *ct_twin(const struct bpfnet_ct_key *k,
							const struct bpfnet_ct_value *ct)
{
	struct bpfnet_ct_key twin;

	bpfnet_ct_twin_key(k, ct, &twin);
	return ct_lookup(&twin);
}

/* A flow lives while either of its entries does: each direction refreshes
 * only its own timer (a server pushing to a silent client keeps it alive). */
static __always_inline int ct_alive(const struct bpfnet_ct_key *k,
				    const struct bpfnet_ct_value *ct, __u64 now)
{
	struct bpfnet_ct_value *t;

	if (!bpfnet_ct_expired(ct, k->proto, now))
		return 1;
	t = ct_twin(k, ct);
	return t && !bpfnet_ct_expired(t, k->proto, now);
}

/* A SYN on a service entry whose connection was established or closed is
 * the client reusing its port for a new connection; a SYN before the
 * client acknowledged the SYN-ACK is a retransmission of the same one. */
static __always_inline int ct_is_reopen(const struct bpfnet_ct_value *ct, const struct pkt *p)
{
	return p->proto == IPPROTO_TCP &&
	       (p->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN &&
	       (ct->flags & (BPFNET_CT_F_ESTABLISHED | BPFNET_CT_F_RST | BPFNET_CT_F_FIN_FWD |
			     BPFNET_CT_F_FIN_REV));
}

/* The reopened connection's predecessor never showed its end (its RST may
 * still be queued on another CPU): it may be open on its backend still. */
static __always_inline int ct_end_unseen(const struct bpfnet_ct_value *ct)
{
	return !(ct->flags & (BPFNET_CT_F_RST | BPFNET_CT_F_FIN_FWD | BPFNET_CT_F_FIN_REV));
}

#define CT_CLOSE_FLAGS (BPFNET_CT_F_RST | BPFNET_CT_F_FIN_FWD | BPFNET_CT_F_FIN_REV)

/*
 * Refresh @ct (the entry of the packet's own direction) with the packet:
 * timer and TCP state. Writes only when something changed, so a busy flow
 * does not bounce the entry's cache line on every packet. A close (FIN,
 * RST) is written into the twin as well, so that both entries agree on how
 * long the flow lives. The service entry learns of the reply from the
 * client itself: a TCP client sends a segment without SYN only once it has
 * the SYN-ACK.
 */
static __always_inline void ct_touch(const struct bpfnet_ct_key *k, struct bpfnet_ct_value *ct,
				     const struct pkt *p, __u64 now)
{
	__u16 flags = ct->flags, closed;
	struct bpfnet_ct_value *t;

	if (p->proto == IPPROTO_TCP) {
		if (p->tcp_flags & TCP_FLAG_RST)
			flags |= BPFNET_CT_F_RST;
		if (p->tcp_flags & TCP_FLAG_FIN)
			flags |= k->dir == BPFNET_CT_SERVICE ? BPFNET_CT_F_FIN_FWD
							     : BPFNET_CT_F_FIN_REV;
		if (k->dir == BPFNET_CT_SERVICE && (p->tcp_flags & TCP_FLAG_ACK) &&
		    !(p->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_RST)))
			flags |= BPFNET_CT_F_ESTABLISHED | BPFNET_CT_F_SEEN_REPLY;
	}
	if (k->dir == BPFNET_CT_REPLY)
		flags |= BPFNET_CT_F_SEEN_REPLY;
	if (now - ct->last_seen_ns > NSEC_PER_SEC)
		ct->last_seen_ns = now;
	if (flags == ct->flags)
		return;
	closed = (flags ^ ct->flags) & CT_CLOSE_FLAGS;
	ct->flags = flags;
	if (!closed)
		return;
	t = ct_twin(k, ct);
	if (t && (t->flags & closed) != closed)
		t->flags |= closed;
}

/* Insert both entries of a new flow; the reply entry first, so a reply can
 * never arrive for a SERVICE entry without its twin. A hairpinned flow's
 * replies are addressed to BPFNET_HAIRPIN_ADDR, and its reply entry says so. */
static __always_inline int ct_create(const struct bpfnet_ct_key *fwd, const struct pkt *p,
				     __be32 backend_addr, __be16 backend_port, __u32 backend_id,
				     __u32 svc_id, __u64 now)
{
	struct bpfnet_ct_value v = {
		.created_ns = now,
		.last_seen_ns = now,
		.backend_id = backend_id,
		.svc_id = svc_id,
		.backend_port = backend_port,
		.backend_addr = backend_addr,
		.rev_addr = fwd->daddr,
		.rev_port = fwd->dport,
	};
	struct bpfnet_ct_key rev;

	if (p->proto == IPPROTO_TCP && (p->tcp_flags & TCP_FLAG_RST))
		v.flags |= BPFNET_CT_F_RST;
	if (backend_addr == fwd->saddr)
		v.flags |= BPFNET_CT_F_HAIRPIN;
	bpfnet_ct_twin_key(fwd, &v, &rev);
	if (ct_update(&rev, &v))
		return -1;
	return ct_update(fwd, &v);
}

#endif
