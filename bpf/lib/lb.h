/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Service lookup and backend selection, shared by socket and packet LB. */
#ifndef BPFNET_BPF_LB_H
#define BPFNET_BPF_LB_H

#include "maps.h"

static __always_inline struct bpfnet_svc_value *svc_lookup(const struct bpfnet_svc_key *key)
{
	return bpf_map_lookup_elem(&svc_v1, key);
}

/* The one place that turns a new flow into a slot. Random today; a Maglev
 * table lookup on a flow hash replaces only this function. */
static __always_inline __u16 lb_pick_slot(__u16 count)
{
	return bpf_get_prandom_u32() % count;
}

/* NULL for an id that names no backend: never written, or deleted (zeroed).
 * A deleted id is reused only once no conntrack entry depends on it (see
 * bpfnet_ct_backend()). */
static __always_inline struct bpfnet_backend *backend_lookup(__u32 id)
{
	struct bpfnet_backend *be = bpf_map_lookup_elem(&backend_v2, &id);

	return be && be->addr ? be : NULL;
}

static __always_inline struct bpfnet_backend *lb_slot_backend(__u32 svc_id, __u8 gen, __u16 slot,
							       __u32 *backend_id)
{
	struct bpfnet_slot_key sk = { .svc_id = svc_id, .slot = slot, .gen = gen };
	__u32 *id = bpf_map_lookup_elem(&slot_v1, &sk);

	if (!id)
		return NULL;
	*backend_id = *id;
	return backend_lookup(*id);
}

/*
 * Choose a backend for a new flow to @svc. The writer fills the other slot
 * generation, flips the service value, then deletes the old generation; a
 * packet that read the service just before the flip can find its slot gone,
 * so it reads the service once more and picks again from the live set.
 * A flow that must not land on @avoid_addr:@avoid_port (0: any will do)
 * takes the next slot when the pick is that backend and there are others.
 */
static __always_inline struct bpfnet_backend *lb_select(const struct bpfnet_svc_key *key,
							 const struct bpfnet_svc_value *svc,
							 __u32 *backend_id, __be32 avoid_addr,
							 __be16 avoid_port)
{
	struct bpfnet_backend *be, *next;
	__u16 count = svc->count, slot;
	__u8 gen = svc->slot_gen;
	__u32 id = svc->id, next_id;

	if (!count)
		return NULL;
	slot = lb_pick_slot(count);
	be = lb_slot_backend(id, gen, slot, backend_id);
	if (!be) {
		svc = bpf_map_lookup_elem(&svc_v1, key);
		if (!svc || !svc->count)
			return NULL;
		count = svc->count;
		gen = svc->slot_gen;
		id = svc->id;
		slot = lb_pick_slot(count);
		be = lb_slot_backend(id, gen, slot, backend_id);
		if (!be)
			return NULL;
	}
	if (!avoid_addr || count < 2 || be->addr != avoid_addr || be->port != avoid_port)
		return be;
	next = lb_slot_backend(id, gen, slot + 1 < count ? slot + 1 : 0, &next_id);
	if (!next)
		return be;
	*backend_id = next_id;
	return next;
}

#endif
