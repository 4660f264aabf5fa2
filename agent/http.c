// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* /healthz, /readyz and /metrics (Prometheus text format 0.0.4). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "agent.h"

int http_listen(const char *addr)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char host[64];
	const char *colon = strrchr(addr, ':');
	int fd, one = 1;

	if (!colon || (size_t)(colon - addr) >= sizeof(host))
		return -EINVAL;
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -EINVAL;
	sa.sin_port = htons((unsigned short)atoi(colon + 1));
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 16)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

struct buf {
	char *p;
	size_t n, cap;
};

static void bprintf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void bprintf(struct buf *b, const char *fmt, ...)
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

static void metrics(struct agent *a, struct buf *b)
{
	const struct agent_metrics *m = &a->metrics;
	const struct reconcile_stats *r = &a->rec.stats;
	unsigned long cum = 0;

	bprintf(b, "# HELP bpfnet_ready 1 after the first full sync.\n# TYPE bpfnet_ready gauge\n"
		   "bpfnet_ready %d\n", a->ready);
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
	bprintf(b, "# HELP bpfnet_conntrack_flushed_total Conntrack entries of removed backends.\n"
		   "# TYPE bpfnet_conntrack_flushed_total counter\n"
		   "bpfnet_conntrack_flushed_total %lu\n", r->ct_flushed);
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

	bprintf(b, "# HELP bpfnet_map_entries Entries per map.\n# TYPE bpfnet_map_entries gauge\n");
	for (int id = 0; id < BPFNET_M_COUNT; id++) {
		__u32 n = 0;

		if (bpfnet_map_iterable(id) && !bpfnet_map_count(&a->maps, id, &n))
			bprintf(b, "bpfnet_map_entries{map=\"%s\"} %u\n", bpfnet_map_name(id), n);
	}
	bprintf(b, "# HELP bpfnet_map_capacity Capacity per map.\n# TYPE bpfnet_map_capacity gauge\n");
	for (int id = 0; id < BPFNET_M_COUNT; id++)
		bprintf(b, "bpfnet_map_capacity{map=\"%s\"} %u\n", bpfnet_map_name(id),
			a->maps.max_entries[id]);

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

static void respond(int fd, int code, const char *type, const char *body, size_t len)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n",
			 code, code == 200 ? "OK" : code == 503 ? "Service Unavailable" : "Not Found",
			 type, len);

	if (write(fd, head, (size_t)n) == n && len)
		(void)!write(fd, body, len);
}

/* One request per connection; a client gets 1 s to send its request line. */
void http_serve_one(struct agent *a)
{
	struct timeval tv = { .tv_sec = 1 };
	char req[2048], path[256];
	ssize_t n;
	int fd = accept4(a->http_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	n = read(fd, req, sizeof(req) - 1);
	if (n <= 0 || sscanf((req[n] = '\0', req), "GET %255s", path) != 1) {
		close(fd);
		return;
	}
	if (!strcmp(path, "/healthz")) {
		respond(fd, 200, "text/plain", "ok\n", 3);
	} else if (!strcmp(path, "/readyz")) {
		if (a->ready)
			respond(fd, 200, "text/plain", "ready\n", 6);
		else
			respond(fd, 503, "text/plain", "not synced yet\n", 15);
	} else if (!strcmp(path, "/metrics")) {
		struct buf b = { .cap = 8192 };

		b.p = malloc(b.cap);
		if (b.p) {
			b.p[0] = '\0';
			metrics(a, &b);
			respond(fd, 200, "text/plain; version=0.0.4", b.p, b.n);
			free(b.p);
		}
	} else {
		respond(fd, 404, "text/plain", "not found\n", 10);
	}
	close(fd);
}
