/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * IPv4 fragments. Only the first fragment carries ports, so the first
 * fragment of a translated flow, and of any other flow to a service address,
 * leaves its (src, dst, id, proto) with the ports; later fragments look them
 * up and take the same path as their first.
 * A later fragment seen before its first (reordered, or its state evicted)
 * cannot be placed. To a service address it is dropped (frag_first_unseen):
 * passed on untranslated it would leave for the VIP, which is nowhere.
 * To any other address it passes untouched (frag_no_state), as it always
 * could: only service flows are translated.
 */
#ifndef BPFNET_BPF_FRAG_H
#define BPFNET_BPF_FRAG_H

#include "maps.h"
#include "parse.h"

static __always_inline int vip_is_service_addr(__be32 addr)
{
	return bpf_map_lookup_elem(&vip_v1, &addr) != NULL;
}

static __always_inline void frag_key_init(struct bpfnet_frag_key *k, const struct pkt *p)
{
	k->saddr = p->saddr;
	k->daddr = p->daddr;
	k->id = p->ip_id;
	k->proto = p->proto;
	k->pad0 = 0;
}

static __always_inline void frag_remember(const struct pkt *p)
{
	struct bpfnet_frag_key k;
	struct bpfnet_frag_value v = { .sport = p->sport, .dport = p->dport };

	if (!p->is_frag || !p->has_l4)
		return;
	frag_key_init(&k, p);
	bpf_map_update_elem(&frag_v1, &k, &v, BPF_ANY);
}

/* Fill in the ports of a later fragment; 0 when its first was not seen. */
static __always_inline int frag_restore_ports(struct pkt *p)
{
	struct bpfnet_frag_key k;
	struct bpfnet_frag_value *v;

	frag_key_init(&k, p);
	v = bpf_map_lookup_elem(&frag_v1, &k);
	if (!v)
		return 0;
	p->sport = v->sport;
	p->dport = v->dport;
	return 1;
}

#endif
