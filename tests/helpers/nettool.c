// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * nettool: the client and server ends of bpfnet's namespace tests.
 *
 *   nettool [--cgroup DIR] COMMAND ARGS
 *   serve-tcp ADDR:PORT ID        answer each connection with ID, then close
 *   serve-udp ADDR:PORT ID        answer each datagram with ID
 *   serve-udp-echo ADDR:PORT      send each datagram back as it came
 *   udp-echo ADDR:PORT SIZE N     N datagrams of SIZE bytes (bigger than the
 *                                 MTU: sent and answered in fragments); each
 *                                 must come back whole, from ADDR:PORT
 *   tcp-clients ADDR:PORT N       N connections in a row; print per-ID counts
 *   udp-clients ADDR:PORT N       N queries, each from a new socket; the reply
 *                                 must come from ADDR:PORT
 *   tcp-loop ADDR:PORT SECONDS [PIDFILE]
 *                                 connect continuously; print ok/fail counts (also
 *                                 when stopped early by SIGTERM: PIDFILE gets the pid)
 *   udp-from SPORT ADDR:PORT      one query from local port SPORT; print the
 *                                 replying ID (the reply must come from ADDR:PORT)
 *   dns SERVER NAME ADDR          A query to SERVER:53; the reply must come
 *                                 from SERVER:53 and answer NAME with ADDR
 *   expect-refused tcp|udp ADDR:PORT MAX_MS
 *                                 the service must refuse within MAX_MS
 *   connect-rate ADDR:PORT N [peername]
 *                                 N connect+close against a serve-tcp; conns/s;
 *                                 with peername, getpeername() after each
 *                                 connect, as Go's net package does
 *   serve-rr ADDR:PORT            answer every byte of every connection with one
 *                                 byte (epoll, one thread)
 *   crr ADDR:PORT[,ADDR:PORT...] THREADS SECONDS
 *                                 connect, 1-byte request, 1-byte answer, close with
 *                                 RST (source ports come back at once), in THREADS
 *                                 threads, each connection to the next address of
 *                                 the list; print ok/fail and the rate
 *   rr ADDR:PORT[,...] THREADS SECONDS  1-byte request/answer over one connection
 *                                 per thread
 *   udp-connected-loop ADDR:PORT SECONDS
 *                                 one connected UDP socket asking every 50 ms (as a
 *                                 DNS client does); when the socket is destroyed
 *                                 (ECONNABORTED, or a send on the disconnected
 *                                 socket) it connects again; prints the
 *                                 answering IDs, "aborted N" and "ok N fail N"
 *   tcp-hold ADDR:PORT N SECONDS  N connections (to a serve-rr) kept open for SECONDS,
 *                                 each asking for and checking one byte every 100 ms
 *   udp-spoof SRC DST:PORT N      N UDP datagrams from source address SRC, through a raw
 *                                 socket (as a pod with CAP_NET_RAW could)
 *   udp-count ADDR:PORT SECONDS   print how many datagrams arrived in SECONDS
 *   http-wait ADDR:PORT PATH MAX_S
 *                                 GET PATH every 2 ms until it answers 200;
 *                                 print the wall-clock time it did (a shell
 *                                 loop of curl would eat a core meanwhile)
 *
 * Exit status 0 only when every attempt succeeded.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_IDS 64
#define IO_TIMEOUT_MS 2000

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "nettool: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(2);
}

static struct sockaddr_in parse_addr(const char *s)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char host[64];
	const char *colon = strrchr(s, ':');

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		die("bad address %s (want A.B.C.D:PORT)", s);
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		die("bad IPv4 address in %s", s);
	sa.sin_port = htons((unsigned short)atoi(colon + 1));
	return sa;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void set_timeouts(int fd, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int bound_socket(int type, const char *addr)
{
	struct sockaddr_in sa = parse_addr(addr);
	int one = 1, fd = socket(AF_INET, type, 0);

	if (fd < 0)
		die("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
		die("bind %s", addr);
	if (type == SOCK_STREAM && listen(fd, 1024))
		die("listen: %s", strerror(errno));
	return fd;
}

__attribute__((noreturn)) static int serve_tcp(const char *addr, const char *id)
{
	int lfd = bound_socket(SOCK_STREAM, addr);

	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			continue;
		if (write(fd, id, strlen(id)) < 0)
			perror("write");
		close(fd);
	}
}

__attribute__((noreturn)) static int serve_udp(const char *addr, const char *id)
{
	int fd = bound_socket(SOCK_DGRAM, addr);
	char buf[512];

	for (;;) {
		struct sockaddr_in from;
		socklen_t len = sizeof(from);

		if (recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len) < 0)
			continue;
		sendto(fd, id, strlen(id), 0, (struct sockaddr *)&from, len);
	}
}

#define UDP_MAX 65507

__attribute__((noreturn)) static int serve_udp_echo(const char *addr)
{
	int fd = bound_socket(SOCK_DGRAM, addr);
	static char buf[UDP_MAX];

	for (;;) {
		struct sockaddr_in from;
		socklen_t len = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);

		if (n >= 0)
			sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, len);
	}
}

static int udp_echo(const char *addr, int size, int count)
{
	struct sockaddr_in sa = parse_addr(addr);
	static char out[UDP_MAX], in[UDP_MAX];
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	unsigned int ok = 0, fail = 0;

	if (size < 1 || size > UDP_MAX)
		die("udp-echo: SIZE must be 1..65507%s", "");
	set_timeouts(fd, IO_TIMEOUT_MS);
	for (int i = 0; i < count; i++) {
		struct sockaddr_in from;
		socklen_t len = sizeof(from);
		ssize_t n = -1;

		for (int b = 0; b < size; b++) /* every datagram different */
			out[b] = (char)(b * 7 + i);
		if (sendto(fd, out, (size_t)size, 0, (struct sockaddr *)&sa, sizeof(sa)) == size)
			n = recvfrom(fd, in, sizeof(in), 0, (struct sockaddr *)&from, &len);
		if (n != size || memcmp(in, out, (size_t)size)) {
			fprintf(stderr, "datagram %d: %s\n", i,
				n < 0 ? strerror(errno) : "not the datagram sent");
			fail++;
		} else if (from.sin_addr.s_addr != sa.sin_addr.s_addr ||
			   from.sin_port != sa.sin_port) {
			fprintf(stderr, "datagram %d: echo from %s:%u, not the service\n", i,
				inet_ntoa(from.sin_addr), ntohs(from.sin_port));
			fail++;
		} else {
			ok++;
		}
	}
	close(fd);
	printf("ok %u fail %u\n", ok, fail);
	return fail ? 1 : 0;
}

struct tally {
	char ids[MAX_IDS][64];
	unsigned int counts[MAX_IDS];
	int n;
	unsigned int ok, fail;
};

static void tally_add(struct tally *t, const char *id)
{
	int i;

	for (i = 0; i < t->n; i++)
		if (!strcmp(t->ids[i], id))
			break;
	if (i == t->n && t->n < MAX_IDS)
		snprintf(t->ids[t->n++], sizeof(t->ids[0]), "%s", id);
	if (i < MAX_IDS)
		t->counts[i]++;
	t->ok++;
}

static int tally_print(const struct tally *t)
{
	for (int i = 0; i < t->n; i++)
		printf("id %s %u\n", t->ids[i], t->counts[i]);
	printf("ok %u fail %u\n", t->ok, t->fail);
	return t->fail ? 1 : 0;
}

/* One connection: returns 0 and fills @id with what the server sent. */
static int tcp_once(const struct sockaddr_in *sa, char *id, size_t idlen)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ssize_t n, total = 0;

	if (fd < 0)
		return -errno;
	set_timeouts(fd, IO_TIMEOUT_MS);
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa))) {
		int err = -errno;

		close(fd);
		return err;
	}
	while ((n = read(fd, id + total, idlen - 1 - (size_t)total)) > 0)
		total += n;
	close(fd);
	if (n < 0 || total == 0)
		return n < 0 ? -errno : -ENODATA;
	id[total] = '\0';
	return 0;
}

static int tcp_clients(const char *addr, int count)
{
	struct sockaddr_in sa = parse_addr(addr);
	struct tally t = {};
	char id[64];

	for (int i = 0; i < count; i++) {
		int err = tcp_once(&sa, id, sizeof(id));

		if (err) {
			fprintf(stderr, "connection %d: %s\n", i, strerror(-err));
			t.fail++;
		} else {
			tally_add(&t, id);
		}
	}
	return tally_print(&t);
}

static volatile sig_atomic_t loop_stop;

static void on_term(int sig)
{
	(void)sig;
	loop_stop = 1;
}

/* until SECONDS are up, or SIGTERM: the tally is printed either way */
static int tcp_loop(const char *addr, double seconds, const char *pidfile)
{
	struct sockaddr_in sa = parse_addr(addr);
	double start = now_s(), end = start + seconds;
	/* SA_RESTART: the connection in progress finishes, then the loop ends */
	struct sigaction act = { .sa_handler = on_term, .sa_flags = SA_RESTART };
	struct tally t = {};
	char id[64];

	sigaction(SIGTERM, &act, NULL);
	if (pidfile) {
		FILE *f = fopen(pidfile, "w");

		if (!f || fprintf(f, "%d\n", getpid()) < 0 || fclose(f))
			die("cannot write %s", pidfile);
	}
	while (now_s() < end && !loop_stop) {
		int err = tcp_once(&sa, id, sizeof(id));

		if (err) {
			fprintf(stderr, "connection at %.3f s: %s\n", now_s() - start, strerror(-err));
			t.fail++;
		} else {
			tally_add(&t, id);
		}
	}
	return tally_print(&t);
}

static int udp_clients(const char *addr, int count)
{
	struct sockaddr_in sa = parse_addr(addr);
	struct tally t = {};

	for (int i = 0; i < count; i++) {
		struct sockaddr_in from;
		socklen_t len = sizeof(from);
		char id[64];
		ssize_t n = -1;
		int fd = socket(AF_INET, SOCK_DGRAM, 0);

		set_timeouts(fd, IO_TIMEOUT_MS);
		if (sendto(fd, "q", 1, 0, (struct sockaddr *)&sa, sizeof(sa)) == 1)
			n = recvfrom(fd, id, sizeof(id) - 1, 0, (struct sockaddr *)&from, &len);
		if (n <= 0) {
			fprintf(stderr, "query %d: %s\n", i, strerror(errno));
			t.fail++;
		} else if (from.sin_addr.s_addr != sa.sin_addr.s_addr || from.sin_port != sa.sin_port) {
			fprintf(stderr, "query %d: reply from %s:%u, not the service\n", i,
				inet_ntoa(from.sin_addr), ntohs(from.sin_port));
			t.fail++;
		} else {
			id[n] = '\0';
			tally_add(&t, id);
		}
		close(fd);
	}
	return tally_print(&t);
}

static int udp_from(int sport, const char *addr)
{
	struct sockaddr_in sa = parse_addr(addr), local = { .sin_family = AF_INET }, from;
	socklen_t len = sizeof(from);
	char id[64];
	ssize_t n = -1;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	local.sin_port = htons((unsigned short)sport);
	if (bind(fd, (struct sockaddr *)&local, sizeof(local)))
		die("bind source port: %s", strerror(errno));
	set_timeouts(fd, IO_TIMEOUT_MS);
	if (sendto(fd, "q", 1, 0, (struct sockaddr *)&sa, sizeof(sa)) == 1)
		n = recvfrom(fd, id, sizeof(id) - 1, 0, (struct sockaddr *)&from, &len);
	close(fd);
	if (n <= 0 || from.sin_addr.s_addr != sa.sin_addr.s_addr || from.sin_port != sa.sin_port) {
		printf("no reply from the service\n");
		return 1;
	}
	id[n] = '\0';
	printf("id %s\n", id);
	return 0;
}

/* A minimal DNS A query (RFC 1035 4.1). */
static size_t dns_build_query(unsigned char *buf, unsigned short qid, const char *name)
{
	size_t off = 12;
	const char *label = name;

	memset(buf, 0, 12);
	buf[0] = qid >> 8;
	buf[1] = qid & 0xff;
	buf[2] = 0x01; /* RD */
	buf[5] = 1;    /* QDCOUNT */
	while (*label) {
		const char *dot = strchr(label, '.');
		size_t len = dot ? (size_t)(dot - label) : strlen(label);

		buf[off++] = (unsigned char)len;
		memcpy(buf + off, label, len);
		off += len;
		label += len + (dot ? 1 : 0);
	}
	buf[off++] = 0;
	buf[off++] = 0;
	buf[off++] = 1; /* QTYPE A */
	buf[off++] = 0;
	buf[off++] = 1; /* QCLASS IN */
	return off;
}

/* First A record of the answer section, 0 if none. */
static int dns_first_a(const unsigned char *m, size_t len, struct in_addr *out)
{
	size_t off = 12;
	unsigned int qd = (unsigned)(m[4] << 8 | m[5]), an = (unsigned)(m[6] << 8 | m[7]);

	for (unsigned int i = 0; i < qd; i++) { /* skip questions */
		while (off < len && m[off] && (m[off] & 0xc0) != 0xc0)
			off += m[off] + 1u;
		off += off < len && (m[off] & 0xc0) == 0xc0 ? 2 : 1;
		off += 4;
	}
	for (unsigned int i = 0; i < an && off < len; i++) {
		while (off < len && m[off] && (m[off] & 0xc0) != 0xc0)
			off += m[off] + 1u;
		off += off < len && (m[off] & 0xc0) == 0xc0 ? 2 : 1;
		if (off + 10 > len)
			return 0;
		unsigned int type = (unsigned)(m[off] << 8 | m[off + 1]);
		unsigned int rdlen = (unsigned)(m[off + 8] << 8 | m[off + 9]);

		off += 10;
		if (type == 1 && rdlen == 4 && off + 4 <= len) {
			memcpy(out, m + off, 4);
			return 1;
		}
		off += rdlen;
	}
	return 0;
}

static int dns_query(const char *server, const char *name, const char *want)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53) }, from;
	socklen_t len = sizeof(from);
	unsigned char q[512], r[1500];
	struct in_addr got;
	unsigned short qid = (unsigned short)(getpid() ^ time(NULL));
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	ssize_t n;

	if (inet_pton(AF_INET, server, &sa.sin_addr) != 1)
		die("bad server %s", server);
	set_timeouts(fd, IO_TIMEOUT_MS);
	if (sendto(fd, q, dns_build_query(q, qid, name), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		printf("dns: sendto: %s\n", strerror(errno));
		return 1;
	}
	n = recvfrom(fd, r, sizeof(r), 0, (struct sockaddr *)&from, &len);
	if (n < 12) {
		printf("dns: no reply: %s\n", n < 0 ? strerror(errno) : "short");
		return 1;
	}
	if (from.sin_addr.s_addr != sa.sin_addr.s_addr || from.sin_port != sa.sin_port) {
		printf("dns: reply from unexpected source %s:%u\n", inet_ntoa(from.sin_addr),
		       ntohs(from.sin_port));
		return 1;
	}
	if ((r[0] << 8 | r[1]) != qid || (r[3] & 0x0f) != 0) {
		printf("dns: bad reply (id or rcode %d)\n", r[3] & 0x0f);
		return 1;
	}
	if (!dns_first_a(r, (size_t)n, &got) || strcmp(inet_ntoa(got), want)) {
		printf("dns: %s answered %s, want %s\n", name, inet_ntoa(got), want);
		return 1;
	}
	printf("dns: %s -> %s from %s:53\n", name, want, server);
	return 0;
}

static int expect_refused(const char *proto, const char *addr, int max_ms)
{
	struct sockaddr_in sa = parse_addr(addr);
	int udp = !strcmp(proto, "udp");
	int fd = socket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
	double t0 = now_s(), ms;
	int err = 0;
	char c;

	set_timeouts(fd, max_ms * 3);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		err = errno;
	else if (udp && (send(fd, "q", 1, 0) < 0 || recv(fd, &c, 1, 0) < 0))
		err = errno;
	ms = (now_s() - t0) * 1000;
	close(fd);
	printf("refused: %s after %.1f ms\n", err ? strerror(err) : "not refused", ms);
	return err == ECONNREFUSED && ms <= max_ms ? 0 : 1;
}

static int connect_rate(const char *addr, int count, bool peername)
{
	struct sockaddr_in sa = parse_addr(addr), peer;
	double t0 = now_s(), dt;
	int fail = 0;

	for (int i = 0; i < count; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		/* RST on close: no TIME_WAIT pile-up skews long runs */
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
			fail++;
		} else if (peername) {
			socklen_t len = sizeof(peer);

			/* the app must see what it connected to */
			if (getpeername(fd, (struct sockaddr *)&peer, &len) ||
			    peer.sin_addr.s_addr != sa.sin_addr.s_addr || peer.sin_port != sa.sin_port)
				fail++;
		}
		close(fd);
	}
	dt = now_s() - t0;
	printf("connects %d fail %d seconds %.4f rate %.0f\n", count, fail, dt, count / dt);
	return fail ? 1 : 0;
}

__attribute__((noreturn)) static int serve_rr(const char *addr)
{
	int lfd = bound_socket(SOCK_STREAM, addr), ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = lfd }, evs[64];

	signal(SIGPIPE, SIG_IGN);
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev))
		die("epoll: %s", strerror(errno));
	for (;;) {
		int n = epoll_wait(ep, evs, 64, -1);

		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			char buf[256];
			ssize_t got;

			if (fd == lfd) {
				int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);

				ev = (struct epoll_event){ .events = EPOLLIN, .data.fd = c };
				if (c >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev))
					close(c);
				continue;
			}
			got = read(fd, buf, sizeof(buf));
			if (got > 0 && write(fd, buf, (size_t)got) == got)
				continue;
			if (got < 0 && errno == EAGAIN)
				continue;
			close(fd); /* EOF, RST or a failed write */
		}
	}
}

#define RR_ADDRS_MAX 16

struct rr_job {
	struct sockaddr_in sa[RR_ADDRS_MAX];
	int n_sa, next;
	double end;
	bool reconnect; /* crr: a new connection per request */
	unsigned long ok, fail;
	pthread_t thread;
};

/* One 1-byte request and its 1-byte answer on @fd. */
static int rr_once(int fd)
{
	char c = 'q';

	if (write(fd, &c, 1) != 1)
		return -1;
	return read(fd, &c, 1) == 1 ? 0 : -1;
}

static int rr_connect(struct rr_job *j)
{
	const struct sockaddr_in *sa = &j->sa[j->next++ % j->n_sa];
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	set_timeouts(fd, IO_TIMEOUT_MS);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* RST on close: the source port is free again at once */
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

static void *rr_thread(void *arg)
{
	struct rr_job *j = arg;
	int fd = -1;

	while (now_s() < j->end) {
		if (fd < 0)
			fd = rr_connect(j);
		if (fd >= 0 && !rr_once(fd)) {
			j->ok++;
		} else {
			j->fail++;
			if (j->fail <= 5)
				fprintf(stderr, "%s failed: %s\n", fd < 0 ? "connect" : "request",
					strerror(errno));
			if (fd >= 0)
				close(fd);
			fd = -1;
			continue;
		}
		if (j->reconnect) {
			close(fd);
			fd = -1;
		}
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* crr/rr: THREADS clients for SECONDS; "ok N fail N seconds S rate R" */
static int rr_run(const char *addr, int threads, double seconds, bool reconnect)
{
	struct rr_job jobs[64];
	unsigned long ok = 0, fail = 0;
	double t0 = now_s();

	if (threads < 1 || threads > 64)
		die("THREADS must be 1..64%s", "");
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < threads; i++) {
		char list[1024], *save = NULL;

		jobs[i] = (struct rr_job){ .end = t0 + seconds, .reconnect = reconnect, .next = i };
		snprintf(list, sizeof(list), "%s", addr);
		for (char *a = strtok_r(list, ",", &save); a && jobs[i].n_sa < RR_ADDRS_MAX;
		     a = strtok_r(NULL, ",", &save))
			jobs[i].sa[jobs[i].n_sa++] = parse_addr(a);
		if (!jobs[i].n_sa)
			die("no address in %s", addr);
		if (pthread_create(&jobs[i].thread, NULL, rr_thread, &jobs[i]))
			die("pthread_create%s", "");
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(jobs[i].thread, NULL);
		ok += jobs[i].ok;
		fail += jobs[i].fail;
	}
	printf("ok %lu fail %lu seconds %.3f rate %.0f\n", ok, fail, now_s() - t0,
	       (double)ok / (now_s() - t0));
	return fail ? 1 : 0;
}

static int udp_connected_socket(const struct sockaddr_in *sa)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0)
		return -1;
	set_timeouts(fd, 500);
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

static int udp_connected_loop(const char *addr, double seconds)
{
	const struct timespec pause = { .tv_nsec = 50 * 1000 * 1000 };
	struct sockaddr_in sa = parse_addr(addr);
	double end = now_s() + seconds;
	struct tally t = {};
	unsigned int aborted = 0;
	int fd = udp_connected_socket(&sa);

	while (now_s() < end) {
		char id[64];
		ssize_t n = -1;

		if (fd >= 0 && send(fd, "q", 1, 0) == 1)
			n = recv(fd, id, sizeof(id) - 1, 0);
		if (n > 0) {
			id[n] = '\0';
			tally_add(&t, id);
		} else if (fd >= 0 && (errno == ECONNABORTED || errno == EDESTADDRREQ)) {
			/* destroyed: a blocked recv() sees ECONNABORTED, a send()
			 * the disconnected socket; a DNS client connects again */
			aborted++;
			close(fd);
			fd = udp_connected_socket(&sa);
			continue;
		} else {
			fprintf(stderr, "query: %s\n", strerror(errno));
			t.fail++;
		}
		nanosleep(&pause, NULL);
	}
	if (fd >= 0)
		close(fd);
	printf("aborted %u\n", aborted);
	return tally_print(&t);
}

/* Long-lived connections: each must keep answering on the same socket
 * (a connection moved to another backend gets a RST, one whose replies
 * are not translated any more gets nothing). */
static int tcp_hold(const char *addr, int n, double seconds)
{
	struct rr_job j = { .n_sa = 1 };
	unsigned long ok = 0, fail = 0;
	double end = now_s() + seconds;
	int fds[256];

	if (n < 1 || n > 256)
		die("N must be 1..256%s", "");
	signal(SIGPIPE, SIG_IGN);
	j.sa[0] = parse_addr(addr);
	for (int i = 0; i < n; i++) {
		fds[i] = rr_connect(&j);
		if (fds[i] < 0)
			die("connect %s", addr);
	}
	while (now_s() < end) {
		const struct timespec pause = { .tv_nsec = 100 * 1000 * 1000 };

		for (int i = 0; i < n; i++) {
			if (fds[i] < 0)
				continue;
			if (!rr_once(fds[i])) {
				ok++;
				continue;
			}
			fprintf(stderr, "connection %d broke at %.1f s before the end: %s\n", i,
				end - now_s(), strerror(errno));
			fail++;
			close(fds[i]);
			fds[i] = -1;
		}
		nanosleep(&pause, NULL);
	}
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	printf("ok %lu fail %lu\n", ok, fail);
	return fail ? 1 : 0;
}

static uint16_t ip_csum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* IPv4 + UDP (checksum 0: allowed for UDP over IPv4) with any source. */
static int udp_spoof(const char *src, const char *dst, int count)
{
	struct sockaddr_in to = parse_addr(dst);
	struct {
		uint8_t vihl, tos;
		uint16_t len, id, frag;
		uint8_t ttl, proto;
		uint16_t csum;
		uint32_t saddr, daddr;
		uint16_t sport, dport, ulen, ucsum;
		char payload[4];
	} __attribute__((packed)) pkt = {
		.vihl = 0x45, .len = htons(sizeof(pkt)), .ttl = 64, .proto = IPPROTO_UDP,
		.daddr = to.sin_addr.s_addr, .sport = htons(40404), .dport = to.sin_port,
		.ulen = htons(8 + 4), .payload = "spf",
	};
	int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW), sent = 0;

	if (fd < 0 || inet_pton(AF_INET, src, &pkt.saddr) != 1)
		die("raw socket or source %s", src);
	for (int i = 0; i < count; i++) {
		pkt.id = htons((uint16_t)(i + 1));
		pkt.csum = 0;
		pkt.csum = ip_csum(&pkt, 20);
		if (sendto(fd, &pkt, sizeof(pkt), 0, (struct sockaddr *)&to, sizeof(to)) ==
		    (ssize_t)sizeof(pkt))
			sent++;
	}
	close(fd);
	printf("sent %d\n", sent);
	return sent == count ? 0 : 1;
}

static int udp_count(const char *addr, double seconds)
{
	int fd = bound_socket(SOCK_DGRAM, addr), n = 0;
	double end = now_s() + seconds;
	char buf[512];

	while (now_s() < end) {
		double left = end - now_s();

		set_timeouts(fd, left > 0.01 ? (int)(left * 1000) : 10);
		if (recv(fd, buf, sizeof(buf), 0) >= 0)
			n++;
	}
	printf("received %d\n", n);
	return 0;
}

/* One GET over a fresh connection; true when the status line says 200. */
static int http_get_ok(const struct sockaddr_in *sa, const char *path)
{
	char req[512], resp[64];
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok = 0;
	ssize_t n;

	set_timeouts(fd, IO_TIMEOUT_MS);
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: bench\r\n\r\n", path);
	if (!connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) &&
	    write(fd, req, strlen(req)) == (ssize_t)strlen(req)) {
		n = recv(fd, resp, sizeof(resp) - 1, MSG_WAITALL);
		if (n > 0) {
			resp[n] = '\0';
			ok = !strncmp(resp, "HTTP/1.", 7) && !strncmp(resp + 8, " 200", 4);
		}
	}
	close(fd);
	return ok;
}

static int http_wait(const char *addr, const char *path, double max_s)
{
	struct sockaddr_in sa = parse_addr(addr);
	const struct timespec pause = { .tv_nsec = 2 * 1000 * 1000 };
	double deadline = now_s() + max_s;
	struct timespec wall;

	while (!http_get_ok(&sa, path)) {
		if (now_s() > deadline) {
			printf("http-wait: %s%s not ready after %.1f s\n", addr, path, max_s);
			return 1;
		}
		nanosleep(&pause, NULL);
	}
	clock_gettime(CLOCK_REALTIME, &wall);
	printf("%ld.%09ld\n", (long)wall.tv_sec, wall.tv_nsec);
	return 0;
}

static void join_cgroup(const char *dir)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, "0", 1) != 1)
		die("join cgroup %s", dir);
	close(fd);
}

int main(int argc, char **argv)
{
	int a = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (a + 1 < argc && !strcmp(argv[a], "--cgroup")) {
		join_cgroup(argv[a + 1]);
		a += 2;
	}
	if (a >= argc)
		die("usage: nettool [--cgroup DIR] COMMAND ... (see source header)%s", "");
	const char *cmd = argv[a];
	int n = argc - a - 1;
	char **arg = argv + a + 1;

	if (!strcmp(cmd, "serve-tcp") && n == 2)
		return serve_tcp(arg[0], arg[1]);
	if (!strcmp(cmd, "serve-udp") && n == 2)
		return serve_udp(arg[0], arg[1]);
	if (!strcmp(cmd, "serve-udp-echo") && n == 1)
		return serve_udp_echo(arg[0]);
	if (!strcmp(cmd, "udp-echo") && n == 3)
		return udp_echo(arg[0], atoi(arg[1]), atoi(arg[2]));
	if (!strcmp(cmd, "tcp-clients") && n == 2)
		return tcp_clients(arg[0], atoi(arg[1]));
	if (!strcmp(cmd, "udp-clients") && n == 2)
		return udp_clients(arg[0], atoi(arg[1]));
	if (!strcmp(cmd, "tcp-loop") && (n == 2 || n == 3))
		return tcp_loop(arg[0], atof(arg[1]), n == 3 ? arg[2] : NULL);
	if (!strcmp(cmd, "udp-from") && n == 2)
		return udp_from(atoi(arg[0]), arg[1]);
	if (!strcmp(cmd, "dns") && n == 3)
		return dns_query(arg[0], arg[1], arg[2]);
	if (!strcmp(cmd, "expect-refused") && n == 3)
		return expect_refused(arg[0], arg[1], atoi(arg[2]));
	if (!strcmp(cmd, "connect-rate") && n == 2)
		return connect_rate(arg[0], atoi(arg[1]), false);
	if (!strcmp(cmd, "connect-rate") && n == 3 && !strcmp(arg[2], "peername"))
		return connect_rate(arg[0], atoi(arg[1]), true);
	if (!strcmp(cmd, "udp-connected-loop") && n == 2)
		return udp_connected_loop(arg[0], atof(arg[1]));
	if (!strcmp(cmd, "tcp-hold") && n == 3)
		return tcp_hold(arg[0], atoi(arg[1]), atof(arg[2]));
	if (!strcmp(cmd, "udp-spoof") && n == 3)
		return udp_spoof(arg[0], arg[1], atoi(arg[2]));
	if (!strcmp(cmd, "udp-count") && n == 2)
		return udp_count(arg[0], atof(arg[1]));
	if (!strcmp(cmd, "serve-rr") && n == 1)
		return serve_rr(arg[0]);
	if ((!strcmp(cmd, "crr") || !strcmp(cmd, "rr")) && n == 3)
		return rr_run(arg[0], atoi(arg[1]), atof(arg[2]), !strcmp(cmd, "crr"));
	if (!strcmp(cmd, "http-wait") && n == 3)
		return http_wait(arg[0], arg[1], atof(arg[2]));
	die("unknown command or wrong arguments: %s", cmd);
	return 2;
}
