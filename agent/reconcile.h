/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Keeps the pinned maps equal to the desired frontends, writing only
 * differences: backends and slots before the service entry (the library's
 * ordered upsert), removals after. Ids: a service or backend id that is
 * freed is reused only after the conntrack entries that depend on it are
 * gone (a TCP connection names its backend by address and stays).
 *
 * On start it adopts what is pinned: frontends found in the maps keep their
 * ids and backends, so a restart rewrites nothing that did not change;
 * whatever no service claims after the first full sync is swept.
 */
#ifndef BPFNET_AGENT_RECONCILE_H
#define BPFNET_AGENT_RECONCILE_H

#include "backend_table.h"
#include "conntrack.h"
#include "htab.h"
#include "maps.h"
#include "store.h"
#include "translate.h"

struct flushing_id {
	__u32 id;
	unsigned long ticket; /* the conntrack flush that frees it */
};

struct id_pool {
	__u32 next;       /* never handed out yet */
	__u32 limit;      /* largest id there is room for; 0: no limit */
	__u32 *free;      /* reusable */
	size_t n_free, cap_free;
	__u32 *pending;   /* freed, not yet queued for the conntrack flush */
	size_t n_pending, cap_pending;
	struct flushing_id *flushing; /* queued, waiting for the flush */
	size_t n_flushing, cap_flushing;
};

struct reconcile_stats {
	unsigned long service_writes, service_deletes, backend_writes, backend_deletes;
	unsigned long map_full, write_errors, conflicts;
	unsigned long ct_flushed, sock_rev_flushed;
};

struct reconciler {
	struct bpfnet_maps *maps;
	struct htab frontends; /* struct bpfnet_svc_key -> struct fe_state* */
	struct backend_table backends;
	struct htab owned;     /* "ns/name" -> struct key_list* of its frontends */
	struct id_pool svc_ids, backend_ids;
	struct reconcile_stats stats;
	size_t adopted;        /* frontends found pinned at start */
	struct bpfnet_batch *batch; /* new services staged while bulk */
	bool bulk;
	unsigned long flushes;      /* batch flushes so far */
	__u32 *stale_backends; /* pinned duplicates, deleted by the sweep */
	size_t n_stale_backends, cap_stale_backends;
	/* services refused a frontend another one holds: written again when a
	 * frontend goes (frontend_freed), so the loser takes over from a winner
	 * that left */
	struct htab conflicted; /* owner -> (void *)1 */
	bool frontend_freed;
	/* UDP backends removed since the last reconcile_freed(): their
	 * connected sockets are to be destroyed */
	struct bpfnet_backend *gone_udp;
	size_t n_gone_udp, cap_gone_udp;
};

int reconciler_init(struct reconciler *r, struct bpfnet_maps *maps);
void reconciler_free(struct reconciler *r);

/* Make service @owner's frontends exactly @want (empty: remove them all).
 * A frontend another service holds is refused (-EEXIST) and the owner is
 * remembered in @conflicted until a sync of it succeeds. */
int reconcile_service(struct reconciler *r, const char *owner, const struct frontend_set *want);
/* Between these two, new frontends are staged and written with batched
 * map updates (many at a time, flushed before any other write and at the
 * end); for syncs that touch many services. A frontend whose write fails
 * is logged, counted and forgotten as in a direct write. */
void reconcile_bulk_begin(struct reconciler *r);
void reconcile_bulk_end(struct reconciler *r);
/* Remove adopted frontends that no service claimed (after the first full sync). */
int reconcile_sweep_adopted(struct reconciler *r);
/*
 * Freed ids may be reused only once no conntrack entry that could
 * misdirect a flow names them. The agent hands them to its conntrack
 * worker: reconcile_freed() gives the ids freed since the last call
 * (sorted; valid until the next reconciler call), reconcile_freed_queued()
 * records the worker's ticket for them, and reconcile_release() makes the
 * ids of every finished ticket reusable.
 */
void reconcile_freed(struct reconciler *r, struct ct_ids *out);
void reconcile_freed_queued(struct reconciler *r, unsigned long ticket);
void reconcile_release(struct reconciler *r, unsigned long done);
/* All of it at once, the flush run here (tests). */
int reconcile_flush_freed(struct reconciler *r);

size_t reconciler_frontends(const struct reconciler *r);
size_t reconciler_backends(const struct reconciler *r);

#endif
