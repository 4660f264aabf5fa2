/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Single-element writes shared by the map library's files (not its API). */
#ifndef BPFNET_LIB_MAPS_INTERNAL_H
#define BPFNET_LIB_MAPS_INTERNAL_H

#include "maps.h"

/* 0 or -errno; a full hash map (E2BIG) is -ENOSPC; err_map names the map. */
int maps_write(struct bpfnet_maps *m, enum bpfnet_map_id id, const void *key, const void *val,
	       __u64 flags);
/* 0 also when the entry was already gone. */
int maps_remove(struct bpfnet_maps *m, enum bpfnet_map_id id, const void *key);
/* -EINVAL for a spec bpfnet_service_upsert() and the batch refuse: no id,
 * too many backends, or a backend without id or address (an all-zero
 * backend entry reads as no backend). */
int maps_spec_check(const struct bpfnet_service_spec *spec);
/* Remove slots [from, to) of @svc_id's generation @gen; the first error. */
int maps_slots_delete(struct bpfnet_maps *m, __u32 svc_id, __u8 gen, __u32 from, __u32 to);

/* Count @addr's service entries up (+1) or down (-1); at 0 it leaves the set. */
int maps_vip_ref(struct bpfnet_maps *m, __be32 addr, int delta);
/* Count @services more service entries at @addr. */
int maps_vip_add(struct bpfnet_maps *m, __be32 addr, __u32 services);

#endif
