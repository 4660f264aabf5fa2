// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* /metrics: the agent's state in the Prometheus text format 0.0.4. Nothing
 * here walks a map: counts come from the reconciler and from the conntrack
 * worker's last sweep; the datapath counters are one read of a small array. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <bpfnet/names.h>

#include "agent.h"
#include "http.h"

void bprintf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (b->n + (size_t)n < b->cap) {
			b->n += (size_t)n;
			return;
		}
		size_t cap = (b->cap + (size_t)n) * 2;
		char *p = realloc(b->p, cap);

		if (!p)
			return;
		b->p = p;
		b->cap = cap;
	}
}

const double latency_bounds[LATENCY_BUCKETS] = { 0.0001, 0.0005, 0.001, 0.002, 0.005,
						 0.01,   0.05,   0.1,   0.5,   1.0 };

static const char *const ct_state_names[BPFNET_CT_STATE_COUNT] = {
	[BPFNET_CT_STATE_SYN] = "syn",
	[BPFNET_CT_STATE_ESTABLISHED] = "established",
	[BPFNET_CT_STATE_CLOSING] = "closing",
	[BPFNET_CT_STATE_CLOSED] = "closed",
	[BPFNET_CT_STATE_UNREPLIED] = "unreplied",
	[BPFNET_CT_STATE_REPLIED] = "replied",
};

static void ct_metrics_of(const struct ct_report *ct, struct buf *b)
{
	static const char *const table[CT_TABLE_COUNT] = { "tcp", "other" };

	bprintf(b, "# HELP bpfnet_conntrack_entries Conntrack entries per table, as of the last "
		   "full sweep.\n# TYPE bpfnet_conntrack_entries gauge\n");
	for (int t = 0; t < CT_TABLE_COUNT && ct->have_last; t++)
		bprintf(b, "bpfnet_conntrack_entries{table=\"%s\"} %llu\n", table[t],
			(unsigned long long)ct->last.entries[t]);
	bprintf(b, "# HELP bpfnet_conntrack_flows Translated flows by state, as of the last full "
		   "sweep.\n# TYPE bpfnet_conntrack_flows gauge\n");
	for (int t = 0; t < CT_TABLE_COUNT && ct->have_last; t++)
		for (int s = 0; s < BPFNET_CT_STATE_COUNT; s++)
			if ((t == CT_TABLE_TCP) == (s < BPFNET_CT_STATE_UNREPLIED))
				bprintf(b, "bpfnet_conntrack_flows{table=\"%s\",state=\"%s\"} %llu\n",
					table[t], ct_state_names[s],
					(unsigned long long)ct->last.flows[t][s]);
	bprintf(b, "# HELP bpfnet_conntrack_gc_runs_total Conntrack sweeps (full and flush-only).\n"
		   "# TYPE bpfnet_conntrack_gc_runs_total counter\nbpfnet_conntrack_gc_runs_total %lu\n"
		   "# HELP bpfnet_conntrack_gc_deleted_total Conntrack entries deleted, by why.\n"
		   "# TYPE bpfnet_conntrack_gc_deleted_total counter\n"
		   "bpfnet_conntrack_gc_deleted_total{reason=\"expired\"} %llu\n"
		   "bpfnet_conntrack_gc_deleted_total{reason=\"flushed\"} %llu\n"
		   "# HELP bpfnet_conntrack_flushed_total Conntrack entries of removed services and "
		   "backends.\n# TYPE bpfnet_conntrack_flushed_total counter\n"
		   "bpfnet_conntrack_flushed_total %llu\n"
		   "# HELP bpfnet_udp_sockets_destroyed_total Connected UDP sockets ended because "
		   "their backend left (kernel 6.5+).\n# TYPE bpfnet_udp_sockets_destroyed_total "
		   "counter\nbpfnet_udp_sockets_destroyed_total %lu\n"
		   "# HELP bpfnet_udp_socket_destroy_supported 1 when the kernel lets the agent do "
		   "that.\n# TYPE bpfnet_udp_socket_destroy_supported gauge\n"
		   "bpfnet_udp_socket_destroy_supported %d\n"
		   "# HELP bpfnet_conntrack_gc_duration_seconds The last full sweep.\n"
		   "# TYPE bpfnet_conntrack_gc_duration_seconds gauge\n"
		   "bpfnet_conntrack_gc_duration_seconds %.6f\n",
		ct->runs, (unsigned long long)ct->expired_total,
		(unsigned long long)ct->flushed_total, (unsigned long long)ct->flushed_total,
		ct->sockets_destroyed, ct->destroys_sockets, ct->last_seconds);
}

/* Datapath counters, from the per-CPU array (one batched read). */
static void datapath_metrics(struct agent *a, struct buf *b)
{
	struct bpfnet_stat_value st[BPFNET_STATS_MAX];

	if (bpfnet_stats_read(&a->maps, st))
		return;
	bprintf(b, "# HELP bpfnet_datapath_packets_total Packets and socket calls by verdict.\n"
		   "# TYPE bpfnet_datapath_packets_total counter\n");
	for (int i = 0; i < BPFNET_STAT_VERDICT_COUNT; i++)
		bprintf(b, "bpfnet_datapath_packets_total{verdict=\"%s\"} %llu\n",
			bpfnet_stat_name((unsigned)i), (unsigned long long)st[i].packets);
	bprintf(b, "# HELP bpfnet_datapath_drops_total Dropped packets and refused calls by reason.\n"
		   "# TYPE bpfnet_datapath_drops_total counter\n");
	for (int i = 0; i < BPFNET_DROP_REASON_COUNT; i++)
		bprintf(b, "bpfnet_datapath_drops_total{reason=\"%s\"} %llu\n",
			bpfnet_stat_name(BPFNET_STAT_DROP_BASE + (unsigned)i),
			(unsigned long long)st[BPFNET_STAT_DROP_BASE + i].packets);
}

void metrics_render(struct agent *a, struct buf *b)
{
	const struct agent_metrics *m = &a->metrics;
	const struct reconcile_stats *r = &a->rec.stats;
	unsigned long cum = 0;
	struct ct_report ct;

	ct_worker_report(&a->ct, &ct);

	bprintf(b, "# HELP bpfnet_ready 1 after the first full sync.\n# TYPE bpfnet_ready gauge\n"
		   "bpfnet_ready %d\n", a->ready);
	bprintf(b, "# HELP bpfnet_http_requests_total HTTP connections served, and turned away.\n"
		   "# TYPE bpfnet_http_requests_total counter\nbpfnet_http_requests_total %lu\n"
		   "# HELP bpfnet_http_dropped_total HTTP connections closed unanswered: past "
		   "their deadline, or all slots busy.\n# TYPE bpfnet_http_dropped_total counter\n"
		   "bpfnet_http_dropped_total{why=\"deadline\"} %lu\n"
		   "bpfnet_http_dropped_total{why=\"busy\"} %lu\n",
		a->http.requests, a->http.timeouts, a->http.refused);
	bprintf(b, "# HELP bpfnet_endpoints_upgraded Pods moved onto this agent's datapath "
		   "program when it started.\n# TYPE bpfnet_endpoints_upgraded gauge\n"
		   "bpfnet_endpoints_upgraded %u\n", atomic_load(&a->loader.endpoints_upgraded));
	bprintf(b, "# HELP bpfnet_node_known 1 when this node's Node object is in the cache.\n"
		   "# TYPE bpfnet_node_known gauge\nbpfnet_node_known{node=\"%s\"} %d\n",
		a->cfg.node_name, htab_get_str(&a->store.nodes, a->cfg.node_name) != NULL);
	bprintf(b, "# HELP bpfnet_objects Kubernetes objects in the agent's cache.\n"
		   "# TYPE bpfnet_objects gauge\n"
		   "bpfnet_objects{kind=\"service\"} %zu\nbpfnet_objects{kind=\"endpointslice\"} %zu\n"
		   "bpfnet_objects{kind=\"node\"} %zu\n",
		a->store.services.count, a->store.slices.count, a->store.nodes.count);
	bprintf(b, "# HELP bpfnet_rejected_objects_total Objects refused as malformed.\n"
		   "# TYPE bpfnet_rejected_objects_total counter\n"
		   "bpfnet_rejected_objects_total{kind=\"service\"} %lu\n"
		   "bpfnet_rejected_objects_total{kind=\"endpointslice\"} %lu\n"
		   "bpfnet_rejected_objects_total{kind=\"other\"} %lu\n",
		m->rejected_services, m->rejected_slices, m->rejected_other);
	bprintf(b, "# HELP bpfnet_frontends Service frontends in the datapath.\n"
		   "# TYPE bpfnet_frontends gauge\nbpfnet_frontends %zu\n"
		   "# HELP bpfnet_backends Backends in the datapath.\n"
		   "# TYPE bpfnet_backends gauge\nbpfnet_backends %zu\n",
		reconciler_frontends(&a->rec), reconciler_backends(&a->rec));
	bprintf(b, "# HELP bpfnet_syncs_total Full syncs and per-service syncs.\n"
		   "# TYPE bpfnet_syncs_total counter\n"
		   "bpfnet_syncs_total{kind=\"full\"} %lu\nbpfnet_syncs_total{kind=\"service\"} %lu\n",
		m->full_syncs, m->service_syncs);
	bprintf(b, "# HELP bpfnet_map_writes_total Datapath map operations.\n"
		   "# TYPE bpfnet_map_writes_total counter\n"
		   "bpfnet_map_writes_total{op=\"service_write\"} %lu\n"
		   "bpfnet_map_writes_total{op=\"service_delete\"} %lu\n"
		   "bpfnet_map_writes_total{op=\"backend_write\"} %lu\n"
		   "bpfnet_map_writes_total{op=\"backend_delete\"} %lu\n",
		r->service_writes, r->service_deletes, r->backend_writes, r->backend_deletes);
	bprintf(b, "# HELP bpfnet_map_errors_total Failed map writes, by cause.\n"
		   "# TYPE bpfnet_map_errors_total counter\n"
		   "bpfnet_map_errors_total{cause=\"map_full\"} %lu\n"
		   "bpfnet_map_errors_total{cause=\"other\"} %lu\n"
		   "bpfnet_map_errors_total{cause=\"frontend_conflict\"} %lu\n",
		r->map_full, r->write_errors, r->conflicts);
	ct_metrics_of(&ct, b);
	bprintf(b, "# HELP bpfnet_source_errors_total Unreadable or unparsable input.\n"
		   "# TYPE bpfnet_source_errors_total counter\nbpfnet_source_errors_total %lu\n"
		   "# HELP bpfnet_api_errors_total Kubernetes API errors.\n"
		   "# TYPE bpfnet_api_errors_total counter\nbpfnet_api_errors_total %lu\n"
		   "# HELP bpfnet_api_reconnects_total Watch reconnects.\n"
		   "# TYPE bpfnet_api_reconnects_total counter\nbpfnet_api_reconnects_total %lu\n"
		   "# HELP bpfnet_api_relists_total Full lists after 410 Gone.\n"
		   "# TYPE bpfnet_api_relists_total counter\nbpfnet_api_relists_total %lu\n"
		   "# HELP bpfnet_api_watch_events_total Watch events received.\n"
		   "# TYPE bpfnet_api_watch_events_total counter\nbpfnet_api_watch_events_total %lu\n",
		m->source_errors, m->api_errors, m->api_reconnects, m->api_relists, m->api_events);

	/* counted by the conntrack worker's last full pass, never here */
	bprintf(b, "# HELP bpfnet_map_entries Entries per map, as of the last conntrack sweep.\n"
		   "# TYPE bpfnet_map_entries gauge\n");
	for (int id = 0; id < BPFNET_M_COUNT; id++)
		if (ct.map_counted[id])
			bprintf(b, "bpfnet_map_entries{map=\"%s\"} %u\n", bpfnet_map_name(id),
				ct.map_entries[id]);
	bprintf(b, "# HELP bpfnet_map_capacity Capacity per map.\n# TYPE bpfnet_map_capacity gauge\n");
	for (int id = 0; id < BPFNET_M_COUNT; id++)
		bprintf(b, "bpfnet_map_capacity{map=\"%s\"} %u\n", bpfnet_map_name(id),
			a->maps.max_entries[id]);

	datapath_metrics(a, b);
	bprintf(b, "# HELP bpfnet_event_to_map_seconds From seeing a change to its map write.\n"
		   "# TYPE bpfnet_event_to_map_seconds histogram\n");
	for (int i = 0; i < LATENCY_BUCKETS; i++) {
		cum += m->latency_count[i];
		bprintf(b, "bpfnet_event_to_map_seconds_bucket{le=\"%g\"} %lu\n", latency_bounds[i], cum);
	}
	cum += m->latency_count[LATENCY_BUCKETS];
	bprintf(b, "bpfnet_event_to_map_seconds_bucket{le=\"+Inf\"} %lu\n"
		   "bpfnet_event_to_map_seconds_sum %.9f\nbpfnet_event_to_map_seconds_count %lu\n",
		cum, m->latency_sum, m->latency_n);
}

