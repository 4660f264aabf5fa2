/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The agent's HTTP side: /healthz, /readyz, /metrics. Served from the
 * agent's one loop with non-blocking sockets, a bounded number of
 * connections and a deadline each, so a slow or idle client can neither
 * delay an event nor keep others out for long.
 */
#ifndef BPFNET_AGENT_HTTP_H
#define BPFNET_AGENT_HTTP_H

#include <poll.h>
#include <stddef.h>

struct agent;

#define HTTP_CONNS_MAX 32
#define HTTP_REQUEST_MAX 2048

struct http_conn {
	int fd; /* -1: free */
	double deadline;
	char req[HTTP_REQUEST_MAX];
	size_t req_len;
	char *resp; /* being written */
	size_t resp_len, resp_off;
};

struct http_server {
	int listen_fd;
	struct http_conn conns[HTTP_CONNS_MAX];
	unsigned long requests, timeouts, refused;
};

/* Listen on HOST:PORT (IPv4). 0 or a negative errno. */
int http_server_open(struct http_server *h, const char *addr);
void http_server_close(struct http_server *h);
/* The sockets to wait on now: fills up to @max entries, returns how many. */
size_t http_server_pollfds(const struct http_server *h, struct pollfd *fds, size_t max);
/* After the wait: accept, read, answer and write whatever is ready, and
 * close connections past their deadline. @fds as filled, with revents. */
void http_server_step(struct agent *a, struct http_server *h, const struct pollfd *fds, size_t n);

/* A growing text buffer for responses. */
struct buf {
	char *p;
	size_t n, cap;
};
void bprintf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The /metrics body. */
void metrics_render(struct agent *a, struct buf *b);

#endif
