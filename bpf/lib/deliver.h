/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Local delivery: a packet for a pod on this node goes straight into that
 * pod, as the endpoints map (written by the CNI plugin) says, instead of
 * through the host's routing and neighbour tables. It behaves like one
 * routed hop: TTL decremented, MACs of the veth pair. Every caller runs at
 * a tc ingress hook, so the packet is handed to the pod side of the veth
 * directly (bpf_redirect_peer): no trip through the host veth's transmit
 * path and a second softirq, which a plain redirect to the host veth takes.
 */
#ifndef BPFNET_BPF_DELIVER_H
#define BPFNET_BPF_DELIVER_H

#include "csum.h"
#include "maps.h"
#include "parse.h"
#include "stats.h"

/* @saddr is registered for the pod whose veth (@ifindex) the packet entered by. */
static __always_inline int pod_owns_source(__u32 ifindex, __be32 saddr)
{
	struct bpfnet_endpoint *ep = bpf_map_lookup_elem(&endpoint_v1, &saddr);

	return ep && ep->ifindex == ifindex;
}

static __always_inline int deliver_to_pod(struct __sk_buff *skb, const struct pkt *p,
					  __be32 daddr, int hairpin)
{
	struct bpfnet_endpoint *ep = bpf_map_lookup_elem(&endpoint_v1, &daddr);
	void *data, *data_end;
	struct ethhdr *eth;
	struct iphdr *ip;
	__u16 old, new;

	/* not a local pod, or a pod's packet to itself that no service
	 * translated (its stack never sends one): the kernel decides */
	if (!ep || (ep->ifindex == p->ifindex && !hairpin))
		return TC_ACT_OK;
	/* the rewrites before may have moved the packet: fresh pointers */
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	eth = data;
	ip = data + ETH_HLEN;
	if (p->l3_off != ETH_HLEN || (void *)(ip + 1) > data_end)
		return TC_ACT_OK;
	if (ip->ttl <= 1)
		return TC_ACT_OK; /* the kernel sends the time-exceeded error */
	old = *(__u16 *)&ip->ttl; /* TTL and protocol share a 16-bit word */
	ip->ttl--;
	new = *(__u16 *)&ip->ttl;
	ip->check = csum_replace2(ip->check, old, new);
	__builtin_memcpy(eth->h_dest, ep->pod_mac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, ep->host_mac, ETH_ALEN);
	stat_verdict(BPFNET_STAT_LOCAL_DELIVERY, skb->len);
	return bpf_redirect_peer(ep->ifindex, 0);
}

static __always_inline int deliver_local(struct __sk_buff *skb, const struct pkt *p, __be32 daddr)
{
	return deliver_to_pod(skb, p, daddr, 0);
}

/* A hairpinned flow goes back out of the veth it came in on. */
static __always_inline int deliver_hairpin(struct __sk_buff *skb, const struct pkt *p,
					   __be32 daddr)
{
	return deliver_to_pod(skb, p, daddr, 1);
}

#endif
