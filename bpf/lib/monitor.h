/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Events for `bpfnet monitor`. Emitting is switched on through config_v1;
 * only slow paths (drops, new flows, socket LB decisions) ever look at the
 * switch, so established and non-service traffic pay nothing.
 */
#ifndef BPFNET_BPF_MONITOR_H
#define BPFNET_BPF_MONITOR_H

#include "maps.h"

static __always_inline __u32 monitor_flags(void)
{
	struct bpfnet_config *cfg;
	__u32 zero = 0;

	if (!cfg_monitor_compiled)
		return 0;
	cfg = bpf_map_lookup_elem(&config_v1, &zero);
	return cfg ? cfg->monitor : 0;
}

struct monitor_tuple {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
};

static __always_inline void monitor_emit(__u8 type, __u8 reason, __u32 ifindex,
					 const struct monitor_tuple *t, __be32 nat_addr,
					 __be16 nat_port, __u32 svc_id, __u32 backend_id)
{
	struct bpfnet_event *e = bpf_ringbuf_reserve(&events_v1, sizeof(*e), 0);

	if (!e)
		return; /* no reader keeping up: events are lost, never traffic */
	e->ts_ns = bpf_ktime_get_ns();
	e->type = type;
	e->reason = reason;
	e->proto = t->proto;
	e->pad0 = 0;
	e->ifindex = ifindex;
	e->saddr = t->saddr;
	e->daddr = t->daddr;
	e->sport = t->sport;
	e->dport = t->dport;
	e->nat_addr = nat_addr;
	e->nat_port = nat_port;
	e->pad1 = 0;
	e->svc_id = svc_id;
	e->backend_id = backend_id;
	e->pad2 = 0;
	bpf_ringbuf_submit(e, 0);
}

#endif
