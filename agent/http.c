// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* /healthz, /readyz and /metrics over non-blocking sockets. */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent.h"

/* From accept to the last byte of the answer; a client that takes longer
 * (or never sends its request) is dropped. */
#define HTTP_DEADLINE_S 2.0

int http_server_open(struct http_server *h, const char *addr)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char host[64], *end;
	const char *colon = strrchr(addr, ':');
	unsigned long port;
	int fd, one = 1;

	memset(h, 0, sizeof(*h));
	h->listen_fd = -1;
	for (int i = 0; i < HTTP_CONNS_MAX; i++)
		h->conns[i].fd = -1;
	if (!colon || (size_t)(colon - addr) >= sizeof(host))
		return -EINVAL;
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	port = strtoul(colon + 1, &end, 10);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1 || !colon[1] || *end || port > 65535)
		return -EINVAL;
	sa.sin_port = htons((unsigned short)port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 64)) {
		int err = -errno;

		close(fd);
		return err;
	}
	h->listen_fd = fd;
	return 0;
}

static void conn_close(struct http_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->resp);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

void http_server_close(struct http_server *h)
{
	for (int i = 0; i < HTTP_CONNS_MAX; i++)
		conn_close(&h->conns[i]);
	if (h->listen_fd >= 0)
		close(h->listen_fd);
	h->listen_fd = -1;
}

size_t http_server_pollfds(const struct http_server *h, struct pollfd *fds, size_t max)
{
	size_t n = 0;

	if (h->listen_fd >= 0 && n < max)
		fds[n++] = (struct pollfd){ .fd = h->listen_fd, .events = POLLIN };
	for (int i = 0; i < HTTP_CONNS_MAX && n < max; i++) {
		const struct http_conn *c = &h->conns[i];

		if (c->fd >= 0)
			fds[n++] = (struct pollfd){ .fd = c->fd, .events = c->resp ? POLLOUT : POLLIN };
	}
	return n;
}

static void respond(struct http_conn *c, int code, const char *type, const char *body, size_t len)
{
	const char *reason = code == 200 ? "OK" : code == 503 ? "Service Unavailable" :
			     code == 400 ? "Bad Request" : code == 405 ? "Method Not Allowed" :
			     "Not Found";
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n", code, reason, type, len);

	c->resp = malloc((size_t)n + len);
	if (!c->resp) {
		conn_close(c);
		return;
	}
	memcpy(c->resp, head, (size_t)n);
	memcpy(c->resp + n, body, len);
	c->resp_len = (size_t)n + len;
	c->resp_off = 0;
}

static void answer(struct agent *a, struct http_conn *c)
{
	char method[8], path[256];

	if (sscanf(c->req, "%7s %255s", method, path) != 2) {
		respond(c, 400, "text/plain", "bad request\n", 12);
		return;
	}
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		respond(c, 405, "text/plain", "only GET\n", 9);
		return;
	}
	if (!strcmp(path, "/healthz")) {
		respond(c, 200, "text/plain", "ok\n", 3);
	} else if (!strcmp(path, "/readyz")) {
		if (a->ready)
			respond(c, 200, "text/plain", "ready\n", 6);
		else
			respond(c, 503, "text/plain", "not synced yet\n", 15);
	} else if (!strcmp(path, "/metrics")) {
		struct buf b = { .cap = 16384 };

		b.p = malloc(b.cap);
		if (!b.p) {
			conn_close(c);
			return;
		}
		b.p[0] = '\0';
		metrics_render(a, &b);
		respond(c, 200, "text/plain; version=0.0.4", b.p, b.n);
		free(b.p);
	} else {
		respond(c, 404, "text/plain", "not found\n", 10);
	}
}

/* Read what has arrived; answer once the request line and headers are in. */
static void conn_read(struct agent *a, struct http_conn *c)
{
	ssize_t n = read(c->fd, c->req + c->req_len, sizeof(c->req) - 1 - c->req_len);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(c);
		return;
	}
	c->req_len += (size_t)n;
	c->req[c->req_len] = '\0';
	/* the request line is all we use; a client that sends headers
	 * without an end still gets its answer when the buffer is full */
	if (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n") ||
	    c->req_len == sizeof(c->req) - 1)
		answer(a, c);
}

static void conn_write(struct http_conn *c)
{
	ssize_t n = send(c->fd, c->resp + c->resp_off, c->resp_len - c->resp_off, MSG_NOSIGNAL);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(c);
		return;
	}
	c->resp_off += (size_t)n;
	if (c->resp_off == c->resp_len)
		conn_close(c);
}

static void accept_all(struct http_server *h, double now)
{
	for (;;) {
		struct http_conn *slot = NULL;
		int fd = accept4(h->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		for (int i = 0; i < HTTP_CONNS_MAX && !slot; i++)
			if (h->conns[i].fd < 0)
				slot = &h->conns[i];
		if (!slot) {
			/* all busy: the newcomer is turned away, the others keep going */
			h->refused++;
			close(fd);
			continue;
		}
		slot->fd = fd;
		slot->deadline = now + HTTP_DEADLINE_S;
		slot->req_len = 0;
		h->requests++;
	}
}

void http_server_step(struct agent *a, struct http_server *h, const struct pollfd *fds, size_t n)
{
	double now = agent_now();

	for (size_t i = 0; i < n; i++) {
		struct http_conn *c = NULL;

		if (!fds[i].revents)
			continue;
		if (fds[i].fd == h->listen_fd) {
			accept_all(h, now);
			continue;
		}
		for (int j = 0; j < HTTP_CONNS_MAX && !c; j++)
			if (h->conns[j].fd == fds[i].fd)
				c = &h->conns[j];
		if (!c)
			continue; /* closed meanwhile */
		if (fds[i].revents & (POLLERR | POLLNVAL)) {
			conn_close(c);
			continue;
		}
		if (c->resp)
			conn_write(c);
		else
			conn_read(a, c);
		/* a small answer usually goes out at once */
		if (c->fd >= 0 && c->resp && c->resp_off == 0)
			conn_write(c);
	}
	for (int j = 0; j < HTTP_CONNS_MAX; j++)
		if (h->conns[j].fd >= 0 && now > h->conns[j].deadline) {
			h->timeouts++;
			conn_close(&h->conns[j]);
		}
}
