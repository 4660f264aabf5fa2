/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Every drop of the packet path goes through here: counted by reason and,
 * when monitoring drops, reported with its flow. */
#ifndef BPFNET_BPF_DROP_H
#define BPFNET_BPF_DROP_H

#include "monitor.h"
#include "parse.h"
#include "stats.h"

static __always_inline void pkt_tuple(const struct pkt *p, struct monitor_tuple *t)
{
	t->saddr = p->saddr;
	t->daddr = p->daddr;
	t->sport = p->sport;
	t->dport = p->dport;
	t->proto = p->proto;
}

/* Count (and report) a drop; the caller decides what happens to the packet. */
static __always_inline void drop_note(struct __sk_buff *skb, const struct pkt *p,
				      enum bpfnet_drop_reason reason)
{
	struct monitor_tuple t;

	stat_add(BPFNET_STAT_DROP_BASE + reason, skb->len);
	if (monitor_flags() & BPFNET_MON_DROPS) {
		pkt_tuple(p, &t);
		monitor_emit(BPFNET_EV_DROP, reason, p->ifindex, &t, 0, 0, 0, 0);
	}
}

static __always_inline int drop_pkt(struct __sk_buff *skb, const struct pkt *p,
				    enum bpfnet_drop_reason reason)
{
	drop_note(skb, p, reason);
	return TC_ACT_SHOT;
}

#endif
