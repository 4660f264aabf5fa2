/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Conntrack upkeep: garbage collection of flows whose two entries have
 * both expired, the flush of flows that name freed service or backend ids
 * (before the ids are reused), and counts of what the tables hold. One
 * sweep does all three. The agent runs sweeps in a worker thread, so that
 * no walk of a table (131,072 entries and more) ever delays an event or an
 * HTTP answer; every other part of the agent stays single-threaded.
 */
#ifndef BPFNET_AGENT_CONNTRACK_H
#define BPFNET_AGENT_CONNTRACK_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <bpfnet/datapath.h>

#include "maps.h"
#include "udp_reaper.h"

/* Freed ids whose flows must go; each array sorted ascending. And the
 * UDP backends that left, whose connected sockets are to be destroyed. */
struct ct_ids {
	const __u32 *svc, *be;
	size_t n_svc, n_be;
	const struct bpfnet_backend *gone_udp;
	size_t n_gone_udp;
};

enum ct_table { CT_TABLE_TCP, CT_TABLE_OTHER, CT_TABLE_COUNT };
#define CT_SWEEP_TCP (1u << CT_TABLE_TCP)
#define CT_SWEEP_OTHER (1u << CT_TABLE_OTHER)
#define CT_SWEEP_ALL (CT_SWEEP_TCP | CT_SWEEP_OTHER)

struct ct_sweep_stats {
	__u64 entries[CT_TABLE_COUNT]; /* left in each table */
	/* flows left, by state (each counted once, by its reply entry: the
	 * entry every flow has from its first packet, which sees the answers) */
	__u64 flows[CT_TABLE_COUNT][BPFNET_CT_STATE_COUNT];
	__u64 expired; /* deleted: both entries of their flow had expired */
	__u64 flushed; /* deleted: a non-TCP flow naming a freed id */
};

/*
 * One pass over the tables in @tables at @now_ns (CLOCK_MONOTONIC_COARSE).
 * Deletes entries whose flow is gone (its twin expired too, or missing),
 * and non-TCP entries naming an id in @freed (may be NULL): their next
 * datagram must find a live backend, and the ids may then be reused. TCP
 * connections keep their entries: they name their backend and VIP by
 * address, as conntrack keeps a NATed connection for kube-proxy. Every
 * entry is read again right before it is deleted, so one the datapath
 * refreshed or reused meanwhile stays.
 */
int ct_sweep(struct bpfnet_maps *m, unsigned int tables, const struct ct_ids *freed,
	     __u64 now_ns, struct ct_sweep_stats *st);

__u64 ct_clock_ns(void); /* the datapath's clock */

/* What the worker reports (a consistent copy). */
struct ct_report {
	struct ct_sweep_stats last; /* of the last pass over both tables */
	bool have_last;
	unsigned long runs;         /* passes, full or flush-only */
	__u64 expired_total, flushed_total;
	double last_seconds;        /* duration of the last full pass */
	__u32 map_entries[BPFNET_M_COUNT];
	bool map_counted[BPFNET_M_COUNT];
	int last_error;
	unsigned long sockets_destroyed; /* connected UDP sockets to gone backends */
	bool destroys_sockets;           /* the kernel lets us */
};

struct ct_worker {
	struct bpfnet_maps maps; /* a copy: the same fds, its own error state */
	double interval_s;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool running, stop;
	struct udp_reaper reaper; /* used by the worker thread only */
	/* under lock: ids waiting for a flush, and tickets */
	__u32 *svc, *be;
	size_t n_svc, n_be, cap_svc, cap_be;
	struct bpfnet_backend *gone;
	size_t n_gone, cap_gone;
	unsigned long requested, done;
	struct ct_report report;
};

/* Start sweeping @m's tables every @interval_s, and on request; with
 * @destroy_sockets, connected UDP sockets to gone backends are destroyed
 * too (pods' namespaces listed under @state_dir). */
int ct_worker_start(struct ct_worker *w, const struct bpfnet_maps *m, double interval_s,
		    const char *state_dir, bool destroy_sockets);
void ct_worker_stop(struct ct_worker *w);
/* Queue the flush of freed ids; returns the ticket a finished pass reports
 * through ct_worker_done() once their flows are gone, 0 when they could not
 * be queued (no memory: the caller keeps them and tries again). */
unsigned long ct_worker_flush(struct ct_worker *w, const struct ct_ids *ids);
unsigned long ct_worker_done(struct ct_worker *w);
void ct_worker_report(struct ct_worker *w, struct ct_report *out);

#endif
