/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Per-packet service LB for traffic the socket hooks did not translate
 * (pods without socket LB, or socket LB switched off): DNAT to a backend with
 * conntrack, and reverse NAT of the replies, at the point where a pod's
 * packets enter the node.
 */
#ifndef BPFNET_BPF_LB_PKT_H
#define BPFNET_BPF_LB_PKT_H

#include "conntrack.h"
#include "deliver.h"
#include "frag.h"
#include "icmp.h"
#include "lb.h"
#include "nat.h"
#include "reject.h"
#include "drop.h"
#include "stats.h"

static __always_inline void lb_pkt_monitor_new(struct __sk_buff *skb, const struct pkt *p,
					       const struct bpfnet_backend *be, __u32 backend_id,
					       __u32 svc_id)
{
	__u32 mon = monitor_flags();
	struct monitor_tuple t;

	if (!(mon & (BPFNET_MON_LB | BPFNET_MON_CT_NEW)))
		return;
	pkt_tuple(p, &t);
	if (mon & BPFNET_MON_LB)
		monitor_emit(BPFNET_EV_LB, 0, skb->ifindex, &t, be->addr, be->port, svc_id,
			     backend_id);
	if (mon & BPFNET_MON_CT_NEW)
		monitor_emit(BPFNET_EV_CT_NEW, 0, skb->ifindex, &t, be->addr, be->port, svc_id,
			     backend_id);
}

/* Flow to a service VIP:port. */
static __always_inline int lb_pkt_service(struct __sk_buff *skb, struct pkt *p,
					  const struct bpfnet_svc_key *svc_key,
					  const struct bpfnet_svc_value *svc)
{
	struct bpfnet_backend *be = NULL;
	struct bpfnet_ct_value *ct;
	struct bpfnet_ct_key key;
	__u32 backend_id = 0;
	__be32 be_addr = 0;
	__be16 be_port = 0;
	__u64 now = ct_now();

	ct_key_init(&key, p->saddr, p->daddr, p->sport, p->dport, p->proto, BPFNET_CT_SERVICE);
	ct = bpf_map_lookup_elem(&ct_v1, &key);
	if (ct && ct->svc_id == svc->id) {
		if (!p->has_l4 || (!ct_expired(ct, p->proto, now) && !ct_is_reopen(ct, p))) {
			backend_id = ct->backend_id;
			be_addr = bpfnet_ct_backend(ct, p->proto, backend_lookup(backend_id),
						    &be_port);
		} else if (ct_is_reopen(ct, p)) {
			stat_verdict(BPFNET_STAT_CT_REOPEN, skb->len);
		}
	}

	if (be_addr) {
		ct_touch(ct, p, now, BPFNET_CT_F_FIN_FWD);
		stat_verdict(BPFNET_STAT_LB_CT_HIT, skb->len);
	} else {
		/* a later fragment never opens a flow: it has no ports of its
		 * own, and its first fragment's flow is gone */
		if (!p->has_l4)
			return drop_pkt(skb, p, BPFNET_DROP_FRAG_FIRST_UNSEEN);
		if (!svc->count)
			return reject_no_backend(skb, p);
		be = lb_select(svc_key, svc, &backend_id);
		if (!be)
			return drop_pkt(skb, p, BPFNET_DROP_BACKEND_MISSING);
		if (ct_create(&key, p, be->addr, be->port, backend_id, svc->id, now))
			return drop_pkt(skb, p, BPFNET_DROP_CT_CREATE);
		stat_verdict(BPFNET_STAT_LB_NEW, skb->len);
		lb_pkt_monitor_new(skb, p, be, backend_id, svc->id);
		be_addr = be->addr;
		be_port = be->port;
	}

	if (p->is_frag) {
		frag_remember(p);
		stat_verdict(BPFNET_STAT_FRAG_XLATE, skb->len);
	}
	if (nat_rewrite_dst(skb, p, be_addr, be_port))
		return drop_pkt(skb, p, BPFNET_DROP_CSUM_ERROR);
	if (be_addr != p->saddr)
		return deliver_local(skb, p, be_addr);
	/* the pod reached itself: see BPFNET_HAIRPIN_ADDR */
	if (nat_rewrite_src(skb, p, bpf_htonl(BPFNET_HAIRPIN_ADDR), p->sport))
		return drop_pkt(skb, p, BPFNET_DROP_CSUM_ERROR);
	stat_verdict(BPFNET_STAT_HAIRPIN, skb->len);
	return deliver_hairpin(skb, p, be_addr);
}

/* Mark the SERVICE entry of a flow whose first reply just went by, so it
 * graduates from the short SYN lifetime. */
static __always_inline void lb_pkt_mark_replied(const struct pkt *p, __be32 client,
						const struct bpfnet_revnat *rn)
{
	struct bpfnet_ct_value *fwd;
	struct bpfnet_ct_key key;

	ct_key_init(&key, client, rn->addr, p->dport, rn->port, p->proto, BPFNET_CT_SERVICE);
	fwd = bpf_map_lookup_elem(&ct_v1, &key);
	if (fwd)
		fwd->flags |= BPFNET_CT_F_SEEN_REPLY;
}

/* A new TCP connection straight to a pod may reuse the 4-tuple of an
 * earlier flow that went through a service (the client's kernel sees two
 * different destinations). That flow's leftover reply entry would rewrite
 * the new connection's SYN-ACK to come from the VIP: drop the entry. */
static __always_inline void lb_pkt_forget_stale_reply(const struct pkt *p)
{
	struct bpfnet_ct_key key;

	if (p->proto != IPPROTO_TCP ||
	    (p->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) != TCP_FLAG_SYN)
		return;
	ct_key_init(&key, p->daddr, p->saddr, p->dport, p->sport, p->proto, BPFNET_CT_REPLY);
	bpf_map_delete_elem(&ct_v1, &key);
}

/* A packet from a backend back to a client: reverse NAT if we translated the
 * flow. Anything else not to a service passes (to a local pod directly). */
static __always_inline int lb_pkt_reply(struct __sk_buff *skb, struct pkt *p)
{
	struct bpfnet_ct_value *ct;
	struct bpfnet_revnat *rn;
	struct bpfnet_ct_key key;
	__be32 client;
	__u32 svc_id;

	lb_pkt_forget_stale_reply(p);
	ct_key_init(&key, p->saddr, p->daddr, p->sport, p->dport, p->proto, BPFNET_CT_REPLY);
	ct = bpf_map_lookup_elem(&ct_v1, &key);
	if (!ct) {
		/* to a service address, but no service port: its later
		 * fragments must know they pass too */
		if (p->is_frag && vip_is_service_addr(p->daddr))
			frag_remember(p);
		stat_verdict(BPFNET_STAT_PASS, skb->len);
		return deliver_local(skb, p, p->daddr);
	}
	svc_id = ct->svc_id;
	rn = bpf_map_lookup_elem(&revnat_v1, &svc_id);
	if (!rn) {
		/* the service is gone: the client can no longer be answered as the VIP */
		stat_verdict(BPFNET_STAT_PASS, skb->len);
		return TC_ACT_OK;
	}
	/* a hairpinned flow's client is the backend itself */
	client = ct->flags & BPFNET_CT_F_HAIRPIN ? p->saddr : p->daddr;
	if (!(ct->flags & BPFNET_CT_F_SEEN_REPLY)) {
		ct->flags |= BPFNET_CT_F_SEEN_REPLY;
		lb_pkt_mark_replied(p, client, rn);
	}
	ct_touch(ct, p, ct_now(), BPFNET_CT_F_FIN_REV);

	if (p->is_frag) {
		frag_remember(p);
		stat_verdict(BPFNET_STAT_FRAG_XLATE, skb->len);
	}
	if (nat_rewrite_src(skb, p, rn->addr, rn->port))
		return drop_pkt(skb, p, BPFNET_DROP_CSUM_ERROR);
	stat_verdict(BPFNET_STAT_REVNAT, skb->len);
	if (client == p->daddr)
		return deliver_local(skb, p, client);
	if (nat_store_addr(skb, p, offsetof(struct iphdr, daddr), p->daddr, client))
		return drop_pkt(skb, p, BPFNET_DROP_CSUM_ERROR);
	return deliver_hairpin(skb, p, client);
}

static __always_inline int lb_pkt_icmp(struct __sk_buff *skb, const struct pkt *p)
{
	int ret = icmp_error_xlate(skb, p);

	if (ret < 0)
		return drop_pkt(skb, p, BPFNET_DROP_CSUM_ERROR);
	stat_verdict(ret ? BPFNET_STAT_ICMP_ERR_XLATE : BPFNET_STAT_PASS, skb->len);
	return TC_ACT_OK;
}

/* Entry for packets a pod sends into the node (tc ingress of the host veth). */
static __always_inline int lb_pkt_from_container(struct __sk_buff *skb)
{
	struct bpfnet_svc_value *svc;
	struct bpfnet_svc_key svc_key;
	struct pkt p = {};
	int ret;

	ret = parse_ipv4(skb, &p);
	if (ret == PARSE_NOT_IPV4)
		return TC_ACT_OK;
	if (ret != PARSE_OK)
		return drop_pkt(skb, &p, BPFNET_DROP_MALFORMED);
	if (p.ihl > sizeof(struct iphdr))
		stat_verdict(BPFNET_STAT_IP_OPTIONS, skb->len);

	if (p.proto == IPPROTO_ICMP)
		return lb_pkt_icmp(skb, &p);
	if (p.proto != IPPROTO_TCP && p.proto != IPPROTO_UDP) {
		stat_verdict(BPFNET_STAT_PASS, skb->len);
		return TC_ACT_OK;
	}
	if (!p.has_l4 && !frag_restore_ports(&p)) {
		if (vip_is_service_addr(p.daddr))
			return drop_pkt(skb, &p, BPFNET_DROP_FRAG_FIRST_UNSEEN);
		stat_verdict(BPFNET_STAT_FRAG_NO_STATE, skb->len);
		return TC_ACT_OK;
	}

	svc_key.addr = p.daddr;
	svc_key.port = p.dport;
	svc_key.proto = p.proto;
	svc_key.scope = BPFNET_SCOPE_ALL;
	svc = svc_lookup(&svc_key);
	if (svc)
		return lb_pkt_service(skb, &p, &svc_key, svc);
	return lb_pkt_reply(skb, &p);
}

#endif
