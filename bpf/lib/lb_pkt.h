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
		monitor_emit(BPFNET_EV_LB, 0, p->ifindex, &t, be->addr, be->port, svc_id,
			     backend_id);
	if (mon & BPFNET_MON_CT_NEW)
		monitor_emit(BPFNET_EV_CT_NEW, 0, p->ifindex, &t, be->addr, be->port, svc_id,
			     backend_id);
}

/* The backend an existing flow keeps, 0 when it must pick anew. */
static __always_inline __be32 lb_pkt_ct_backend(const struct bpfnet_ct_value *ct, __u8 proto,
						__be16 *port)
{
	/* a TCP connection goes where it went, whatever its id names now */
	if (proto == IPPROTO_TCP)
		return bpfnet_ct_backend(ct, proto, NULL, port);
	return bpfnet_ct_backend(ct, proto, backend_lookup(ct->backend_id), port);
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
	__be32 be_addr = 0, avoid_addr = 0;
	__be16 be_port = 0, avoid_port = 0;
	__u64 now = ct_now();

	ct_key_init(&key, p->saddr, p->daddr, p->sport, p->dport, p->proto, BPFNET_CT_SERVICE);
	ct = ct_lookup(&key);
	if (ct && ct->svc_id == svc->id) {
		if (!p->has_l4) {
			/* a later fragment follows its first */
			be_addr = lb_pkt_ct_backend(ct, p->proto, &be_port);
		} else if (ct_is_reopen(ct, p)) {
			struct bpfnet_ct_key old_reply;

			stat_verdict(BPFNET_STAT_CT_REOPEN, skb->len);
			/* a new connection on the tuple of one whose end was not
			 * seen yet must not meet it on its backend */
			if (ct_end_unseen(ct)) {
				avoid_addr = ct->backend_addr;
				avoid_port = ct->backend_port;
			}
			/* the old connection's reply entry is garbage now (were
			 * it kept, clients reusing ports would leave one per
			 * backend behind): the old backend's last packets reach
			 * the client untranslated, and its stack resets them */
			bpfnet_ct_twin_key(&key, ct, &old_reply);
			ct_delete(&old_reply);
		} else if (ct_alive(&key, ct, now)) {
			be_addr = lb_pkt_ct_backend(ct, p->proto, &be_port);
		}
	}

	if (be_addr) {
		ct_touch(&key, ct, p, now);
		stat_verdict(BPFNET_STAT_LB_CT_HIT, skb->len);
	} else {
		/* a later fragment never opens a flow: it has no ports of its
		 * own, and its first fragment's flow is gone */
		if (!p->has_l4)
			return drop_pkt(skb, p, BPFNET_DROP_FRAG_FIRST_UNSEEN);
		if (!svc->count)
			return reject_no_backend(skb, p);
		/* a connection whose state was lost (evicted, expired or
		 * flushed) is balanced again: count it */
		if (p->proto == IPPROTO_TCP && !(p->tcp_flags & TCP_FLAG_SYN))
			stat_verdict(BPFNET_STAT_CT_LOST, skb->len);
		be = lb_select(svc_key, svc, &backend_id, avoid_addr, avoid_port);
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
	ct_delete(&key);
}

/* A packet from a backend back to a client: reverse NAT if we translated the
 * flow. Anything else not to a service passes (to a local pod directly). */
static __always_inline int lb_pkt_reply(struct __sk_buff *skb, struct pkt *p)
{
	struct bpfnet_ct_value *ct;
	struct bpfnet_ct_key key;
	__u64 now = ct_now();
	__be32 client;

	lb_pkt_forget_stale_reply(p);
	ct_key_init(&key, p->saddr, p->daddr, p->sport, p->dport, p->proto, BPFNET_CT_REPLY);
	ct = ct_lookup(&key);
	if (!ct || !ct_alive(&key, ct, now)) {
		/* to a service address, but no service port: its later
		 * fragments must know they pass too */
		if (p->is_frag && vip_is_service_addr(p->daddr))
			frag_remember(p);
		stat_verdict(BPFNET_STAT_PASS, skb->len);
		return deliver_local(skb, p, p->daddr);
	}
	/* a hairpinned flow's client is the backend itself */
	client = ct->flags & BPFNET_CT_F_HAIRPIN ? p->saddr : p->daddr;
	ct_touch(&key, ct, p, now);

	if (p->is_frag) {
		frag_remember(p);
		stat_verdict(BPFNET_STAT_FRAG_XLATE, skb->len);
	}
	if (nat_rewrite_src(skb, p, ct->rev_addr, ct->rev_port))
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
	/* A pod sends from its own address only: with a raw socket it could
	 * otherwise flood conntrack under any address, or forge a reply
	 * that rewrites or deletes another flow's entries. */
	if (!pod_owns_source(p.ifindex, p.saddr))
		return drop_pkt(skb, &p, BPFNET_DROP_INVALID_SOURCE);
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
