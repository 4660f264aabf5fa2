// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Socket LB (bpf_sock.c) with real connect()/sendto()/recvfrom()/
 * getpeername() from a process in the test cgroup. The process runs in a
 * fresh network namespace with only loopback, so backends are loopback
 * addresses and an untranslated VIP is unreachable rather than routed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "testutil.h"
#include "bpfnet_sock.skel.h"

#define LO_BACKEND(n) IP4(127, 0, 0, 10 + (n))

static struct sockaddr_in sin_of(uint32_t addr, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(addr) };
	return sa;
}

static void svc_set_lo(struct fixture *f, uint16_t port, uint8_t proto, unsigned int n,
		       uint16_t bport)
{
	struct bpfnet_backend_entry be[8];
	struct bpfnet_service_spec spec = { .id = 5, .n_backends = n, .backends = be };
	struct bpfnet_svc_key key = svc_key(VIP, port, proto);

	for (unsigned int i = 0; i < n; i++) {
		be[i].id = 50 + i;
		be[i].be.addr = htonl(LO_BACKEND(i));
		be[i].be.port = htons(bport);
		be[i].be.proto = proto;
		be[i].be.state = BPFNET_BACKEND_ACTIVE;
	}
	ASSERT_OK(bpfnet_service_upsert(&f->maps, &key, &spec), "service upsert");
}

static int listen_on(uint32_t addr, uint16_t port, int type)
{
	struct sockaddr_in sa = sin_of(addr, port);
	int one = 1, fd = socket(AF_INET, type, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    (type == SOCK_STREAM && listen(fd, 64))) {
		close(fd);
		return -1;
	}
	return fd;
}

#define CHILD_CHECK(cond, ...)                                       \
	do {                                                         \
		if (!(cond)) {                                       \
			snprintf(msg, msglen, __VA_ARGS__);          \
			return 1;                                    \
		}                                                    \
	} while (0)

static int child_tcp_connect(void *arg, char *msg, size_t msglen)
{
	struct sockaddr_in vip = sin_of(VIP, 80), peer;
	socklen_t len = sizeof(peer);
	int lfd, cfd, afd;

	(void)arg;
	lfd = listen_on(LO_BACKEND(0), 8080, SOCK_STREAM);
	CHILD_CHECK(lfd >= 0, "listen: %s", strerror(errno));
	cfd = socket(AF_INET, SOCK_STREAM, 0);
	CHILD_CHECK(!connect(cfd, (struct sockaddr *)&vip, sizeof(vip)), "connect to VIP: %s",
		    strerror(errno));
	afd = accept(lfd, NULL, NULL);
	CHILD_CHECK(afd >= 0, "accept: %s", strerror(errno));
	CHILD_CHECK(!getpeername(cfd, (struct sockaddr *)&peer, &len), "getpeername: %s",
		    strerror(errno));
	CHILD_CHECK(peer.sin_addr.s_addr == htonl(VIP) && peer.sin_port == htons(80),
		    "getpeername returned %s:%u, want the VIP", inet_ntoa(peer.sin_addr),
		    ntohs(peer.sin_port));
	CHILD_CHECK(write(cfd, "ping", 4) == 4, "write");
	char buf[8];
	CHILD_CHECK(read(afd, buf, sizeof(buf)) == 4 && !memcmp(buf, "ping", 4),
		    "backend did not receive the data");
	close(afd);
	close(cfd);
	close(lfd);
	return 0;
}

TEST(sock_tcp_connect_to_vip_reaches_backend)
{
	svc_set_lo(f, 80, IPPROTO_TCP, 1, 8080);
	run_in_cgroup_netns(f, child_tcp_connect, NULL);
	ASSERT_EQ(stat_packets(f, BPFNET_STAT_SOCK_CONNECT_XLATE), 1, "connect counter");
	ASSERT_EQ(stat_packets(f, BPFNET_STAT_SOCK_PEERNAME_XLATE), 1, "getpeername counter");
	/* the peer lives in the socket's storage, not in the shared LRU */
	ASSERT_EQ(map_entries(f, BPFNET_M_SOCK_REV), f->features.sk_storage ? 0 : 1,
		  "socket reverse LRU entries");
}

/* Kernels without socket storage for sock_addr hooks use the LRU: the
 * same behaviour must hold with the feature switched off. */
TEST(sock_tcp_connect_without_sk_storage_uses_lru)
{
	struct bpfnet_features no_storage = f->features;
	int err;

	no_storage.sk_storage = false;
	bpfnet_sock_skel__destroy(f->sock);
	f->sock = bpfnet_sock_load(&f->maps, &no_storage, &err);
	ASSERT_TRUE(f->sock != NULL, "load socket LB without socket storage");
	svc_set_lo(f, 80, IPPROTO_TCP, 1, 8080);
	run_in_cgroup_netns(f, child_tcp_connect, NULL);
	ASSERT_EQ(stat_packets(f, BPFNET_STAT_SOCK_PEERNAME_XLATE), 1, "getpeername counter");
	ASSERT_EQ(map_entries(f, BPFNET_M_SOCK_REV), 1, "peer kept in the LRU");
}

static bool peer_is_vip(int fd, uint16_t vport)
{
	struct sockaddr_in peer;
	socklen_t len = sizeof(peer);

	return !getpeername(fd, (struct sockaddr *)&peer, &len) &&
	       peer.sin_addr.s_addr == htonl(VIP) && peer.sin_port == htons(vport);
}

static uint64_t cookie_of(int fd)
{
	uint64_t cookie = 0;
	socklen_t len = sizeof(cookie);

	getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &len);
	return cookie;
}

/* The peer kept in @fd's socket storage; -ENOENT when there is none. */
static int peer_stored(struct fixture *f, int fd, struct bpfnet_sock_peer *peer)
{
	return bpf_map_lookup_elem(f->maps.fd[BPFNET_M_SOCK_PEER], &fd, peer) ? -errno : 0;
}

static uint64_t pending_cookie(struct fixture *f, uint64_t cookie)
{
	struct bpfnet_sock_pending p = {};
	__u32 slot = (__u32)(cookie % f->maps.max_entries[BPFNET_M_SOCK_PENDING]);

	bpf_map_lookup_elem(f->maps.fd[BPFNET_M_SOCK_PENDING], &slot, &p);
	return p.cookie;
}

static int connect_vip(uint16_t vport)
{
	struct sockaddr_in vip = sin_of(VIP, vport);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd >= 0 && connect(fd, (struct sockaddr *)&vip, sizeof(vip))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* With one pending slot, socket B's connect() takes A's slot: A keeps its
 * VIP because its first getpeername() moved the peer to its storage. */
static int child_peer_outlives_slot(void *arg, char *msg, size_t msglen)
{
	struct fixture *f = arg;
	struct bpfnet_sock_peer peer;
	int lfd, a, b;

	lfd = listen_on(LO_BACKEND(0), 8080, SOCK_STREAM);
	CHILD_CHECK(lfd >= 0, "listen: %s", strerror(errno));
	a = connect_vip(80);
	CHILD_CHECK(a >= 0, "connect A: %s", strerror(errno));
	CHILD_CHECK(pending_cookie(f, cookie_of(a)) == cookie_of(a), "A is not in the slot");
	CHILD_CHECK(peer_stored(f, a, &peer) == -ENOENT, "connect() made socket storage");
	CHILD_CHECK(peer_is_vip(a, 80), "A's first getpeername is not the VIP");
	CHILD_CHECK(!peer_stored(f, a, &peer) && peer.vip == htonl(VIP) &&
			    peer.vport == htons(80) && peer.backend_addr == htonl(LO_BACKEND(0)) &&
			    peer.backend_port == htons(8080),
		    "getpeername did not move A's peer to its storage");
	b = connect_vip(80);
	CHILD_CHECK(b >= 0, "connect B: %s", strerror(errno));
	CHILD_CHECK(pending_cookie(f, cookie_of(b)) == cookie_of(b), "B did not take the slot");
	CHILD_CHECK(peer_is_vip(a, 80), "A lost its VIP with its slot");
	CHILD_CHECK(peer_is_vip(b, 80), "B's getpeername is not the VIP");
	close(b);
	close(a);
	close(lfd);
	return 0;
}

TEST(sock_peer_moves_from_pending_slot_to_storage_on_first_use)
{
	struct bpfnet_maps one_slot;
	int err;

	if (!f->features.sk_storage)
		test_skip("kernel has no socket storage for sock_addr programs");
	small_maps_open(f, &one_slot, "one_slot", BPFNET_M_SOCK_PENDING, 1);
	bpfnet_maps_close(&f->maps);
	f->maps = one_slot;
	bpfnet_sock_skel__destroy(f->sock);
	f->sock = bpfnet_sock_load(&f->maps, &f->features, &err);
	ASSERT_TRUE(f->sock != NULL, "load socket LB on a one-slot pending array");
	svc_set_lo(f, 80, IPPROTO_TCP, 1, 8080);
	run_in_cgroup_netns(f, child_peer_outlives_slot, f);
	ASSERT_EQ(stat_packets(f, BPFNET_STAT_SOCK_PEERNAME_XLATE), 3, "getpeername counter");
	/* connected sockets never reach the (cookie, backend) LRU */
	ASSERT_EQ(map_entries(f, BPFNET_M_SOCK_REV), 0, "socket reverse LRU entries");
}

/* Unconnected UDP: the reply read by recvfrom() comes from the VIP. */
static int child_udp_sendto(void *arg, char *msg, size_t msglen)
{
	struct sockaddr_in vip = sin_of(VIP, 53), from;
	socklen_t len = sizeof(from);
	struct timeval tv = { .tv_sec = 2 };
	char buf[16];
	int sfd, cfd;
	ssize_t n;

	(void)arg;
	sfd = listen_on(LO_BACKEND(0), 5353, SOCK_DGRAM);
	CHILD_CHECK(sfd >= 0, "bind: %s", strerror(errno));
	cfd = socket(AF_INET, SOCK_DGRAM, 0);
	setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(sfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	CHILD_CHECK(sendto(cfd, "q", 1, 0, (struct sockaddr *)&vip, sizeof(vip)) == 1,
		    "sendto VIP: %s", strerror(errno));
	n = recvfrom(sfd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);
	CHILD_CHECK(n == 1, "backend recvfrom: %s", strerror(errno));
	CHILD_CHECK(sendto(sfd, "a", 1, 0, (struct sockaddr *)&from, len) == 1, "reply: %s",
		    strerror(errno));
	len = sizeof(from);
	n = recvfrom(cfd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);
	CHILD_CHECK(n == 1, "client recvfrom: %s", strerror(errno));
	CHILD_CHECK(from.sin_addr.s_addr == htonl(VIP) && from.sin_port == htons(53),
		    "reply appears from %s:%u, want the VIP", inet_ntoa(from.sin_addr),
		    ntohs(from.sin_port));
	close(cfd);
	close(sfd);
	return 0;
}

TEST(sock_udp_reply_appears_from_vip)
{
	svc_set_lo(f, 53, IPPROTO_UDP, 1, 5353);
	run_in_cgroup_netns(f, child_udp_sendto, NULL);
	ASSERT_EQ(stat_packets(f, BPFNET_STAT_SOCK_SENDMSG_XLATE), 1, "sendmsg counter");
	ASSERT_TRUE(stat_packets(f, BPFNET_STAT_SOCK_RECVMSG_XLATE) >= 1, "recvmsg counter");
}

/* Connected UDP (what glibc's resolver does): connect() picks the backend. */
static int child_udp_connected(void *arg, char *msg, size_t msglen)
{
	struct sockaddr_in vip = sin_of(VIP, 53), from, peer;
	socklen_t len = sizeof(from);
	struct timeval tv = { .tv_sec = 2 };
	struct fixture *f = arg;
	struct bpfnet_sock_peer stored;
	char buf[16];
	int sfd, cfd;

	sfd = listen_on(LO_BACKEND(0), 5353, SOCK_DGRAM);
	CHILD_CHECK(sfd >= 0, "bind: %s", strerror(errno));
	cfd = socket(AF_INET, SOCK_DGRAM, 0);
	setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	CHILD_CHECK(!connect(cfd, (struct sockaddr *)&vip, sizeof(vip)), "connect: %s",
		    strerror(errno));
	CHILD_CHECK(send(cfd, "q", 1, 0) == 1, "send: %s", strerror(errno));
	CHILD_CHECK(recvfrom(sfd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len) == 1,
		    "backend recv");
	CHILD_CHECK(sendto(sfd, "a", 1, 0, (struct sockaddr *)&from, len) == 1, "reply");
	len = sizeof(from);
	CHILD_CHECK(recvfrom(cfd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len) == 1,
		    "connected socket got the reply: %s", strerror(errno));
	CHILD_CHECK(from.sin_addr.s_addr == htonl(VIP) && from.sin_port == htons(53),
		    "reply appears from %s:%u, want the VIP", inet_ntoa(from.sin_addr),
		    ntohs(from.sin_port));
	/* recvfrom() asked for the peer: from now on it is the socket's own */
	CHILD_CHECK(!f->features.sk_storage ||
			    (!peer_stored(f, cfd, &stored) && stored.vip == htonl(VIP)),
		    "recv() did not keep the peer in the socket's storage");
	len = sizeof(peer);
	CHILD_CHECK(!getpeername(cfd, (struct sockaddr *)&peer, &len) &&
			    peer.sin_addr.s_addr == htonl(VIP) && peer.sin_port == htons(53),
		    "getpeername is not the VIP");
	close(cfd);
	close(sfd);
	return 0;
}

TEST(sock_connected_udp_talks_to_backend_as_vip)
{
	svc_set_lo(f, 53, IPPROTO_UDP, 1, 5353);
	run_in_cgroup_netns(f, child_udp_connected, f);
}

static int child_no_backend(void *arg, char *msg, size_t msglen)
{
	struct sockaddr_in vip = sin_of(VIP, 80), dns = sin_of(VIP, 53);
	int want = *(int *)arg;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	CHILD_CHECK(connect(fd, (struct sockaddr *)&vip, sizeof(vip)) == -1 && errno == want,
		    "TCP connect: %s, want %s", strerror(errno), strerror(want));
	close(fd);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	CHILD_CHECK(sendto(fd, "q", 1, 0, (struct sockaddr *)&dns, sizeof(dns)) == -1 &&
			    errno == want,
		    "UDP sendto: %s, want %s", strerror(errno), strerror(want));
	close(fd);
	return 0;
}

TEST(sock_no_backend_is_refused_at_once)
{
	int want = f->features.set_retval ? ECONNREFUSED : EPERM;

	svc_set_lo(f, 80, IPPROTO_TCP, 0, 0);
	struct bpfnet_svc_key k = svc_key(VIP, 53, IPPROTO_UDP);
	struct bpfnet_service_spec spec = { .id = 6 };
	ASSERT_OK(bpfnet_service_upsert(&f->maps, &k, &spec), "empty UDP service");
	run_in_cgroup_netns(f, child_no_backend, &want);
	ASSERT_EQ(stat_packets(f, BPFNET_STAT_SOCK_REJECT), 2, "rejections counted");
	ASSERT_EQ(drop_packets(f, BPFNET_DROP_NO_BACKEND), 2, "no_backend counter");
}

/* Before 5.18 there is no bpf_set_retval: the refusal is EPERM then. The
 * loader's fallback variant is exercised here on every kernel. */
TEST(sock_no_backend_without_set_retval_is_eperm)
{
	struct bpfnet_features old_kernel = f->features;
	int want = EPERM, err;

	old_kernel.set_retval = false;
	bpfnet_sock_skel__destroy(f->sock);
	f->sock = bpfnet_sock_load(&f->maps, &old_kernel, &err);
	ASSERT_TRUE(f->sock != NULL, "load socket LB without bpf_set_retval");
	svc_set_lo(f, 80, IPPROTO_TCP, 0, 0);
	struct bpfnet_svc_key k = svc_key(VIP, 53, IPPROTO_UDP);
	struct bpfnet_service_spec spec = { .id = 6 };
	ASSERT_OK(bpfnet_service_upsert(&f->maps, &k, &spec), "empty UDP service");
	run_in_cgroup_netns(f, child_no_backend, &want);
}

static int child_direct(void *arg, char *msg, size_t msglen)
{
	struct sockaddr_in dst = sin_of(LO_BACKEND(0), 8080), peer;
	socklen_t len = sizeof(peer);
	int lfd, cfd;

	(void)arg;
	lfd = listen_on(LO_BACKEND(0), 8080, SOCK_STREAM);
	CHILD_CHECK(lfd >= 0, "listen");
	cfd = socket(AF_INET, SOCK_STREAM, 0);
	CHILD_CHECK(!connect(cfd, (struct sockaddr *)&dst, sizeof(dst)), "direct connect: %s",
		    strerror(errno));
	CHILD_CHECK(!getpeername(cfd, (struct sockaddr *)&peer, &len) &&
			    peer.sin_addr.s_addr == dst.sin_addr.s_addr,
		    "peer changed");
	close(cfd);
	close(lfd);
	return 0;
}

TEST(sock_non_service_connect_is_untouched)
{
	svc_set_lo(f, 80, IPPROTO_TCP, 1, 8080);
	run_in_cgroup_netns(f, child_direct, NULL);
	ASSERT_EQ(stat_packets(f, BPFNET_STAT_SOCK_CONNECT_XLATE), 0, "no translation");
	ASSERT_EQ(map_entries(f, BPFNET_M_SOCK_REV), 0, "no reverse entry");
}

/* 3 backends, 600 connections: every backend gets a fair share. */
static int child_spread(void *arg, char *msg, size_t msglen)
{
	struct sockaddr_in vip = sin_of(VIP, 80);
	unsigned int hits[3] = {};
	int lfd[3];

	(void)arg;
	for (int i = 0; i < 3; i++) {
		lfd[i] = listen_on(LO_BACKEND(i), 8080, SOCK_STREAM);
		CHILD_CHECK(lfd[i] >= 0, "listen");
	}
	for (int n = 0; n < 600; n++) {
		struct sockaddr_in local;
		socklen_t len = sizeof(local);
		int cfd = socket(AF_INET, SOCK_STREAM, 0);

		CHILD_CHECK(!connect(cfd, (struct sockaddr *)&vip, sizeof(vip)), "connect %d: %s", n,
			    strerror(errno));
		/* the kernel's view of the destination is the backend */
		struct sockaddr_in real;
		len = sizeof(local);
		getsockname(cfd, (struct sockaddr *)&local, &len);
		int afd = -1;
		for (int i = 0; i < 3 && afd < 0; i++) {
			struct timeval tv = { 0 };
			fd_set rf;

			FD_ZERO(&rf);
			FD_SET(lfd[i], &rf);
			if (select(lfd[i] + 1, &rf, NULL, NULL, &tv) == 1) {
				len = sizeof(real);
				afd = accept(lfd[i], (struct sockaddr *)&real, &len);
				hits[i]++;
			}
		}
		CHILD_CHECK(afd >= 0, "no backend accepted connection %d", n);
		close(afd);
		close(cfd);
	}
	for (int i = 0; i < 3; i++) /* sigma = sqrt(600/3*2/3) = 11.5 */
		CHILD_CHECK(hits[i] > 140 && hits[i] < 260, "backend %d got %u of 600", i, hits[i]);
	return 0;
}

TEST(sock_connections_spread_over_backends)
{
	svc_set_lo(f, 80, IPPROTO_TCP, 3, 8080);
	run_in_cgroup_netns(f, child_spread, NULL);
}

/* ---- AF_INET6 sockets reaching IPv4 services (v4-mapped) ---- */

static struct sockaddr_in6 sin6_mapped(uint32_t addr, uint16_t port)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons(port) };

	sa.sin6_addr.s6_addr[10] = sa.sin6_addr.s6_addr[11] = 0xff;
	memcpy(&sa.sin6_addr.s6_addr[12], &(uint32_t){ htonl(addr) }, 4);
	return sa;
}

static bool is_mapped(const struct sockaddr_in6 *sa, uint32_t addr, uint16_t port)
{
	struct sockaddr_in6 want = sin6_mapped(addr, port);

	return sa->sin6_family == AF_INET6 && sa->sin6_port == want.sin6_port &&
	       !memcmp(&sa->sin6_addr, &want.sin6_addr, sizeof(want.sin6_addr));
}

static int child_tcp6_connect(void *arg, char *msg, size_t msglen)
{
	struct sockaddr_in6 vip = sin6_mapped(VIP, 80), peer;
	socklen_t len = sizeof(peer);
	int lfd, cfd, afd;
	char buf[8];

	(void)arg;
	lfd = listen_on(LO_BACKEND(0), 8080, SOCK_STREAM); /* an IPv4 backend */
	CHILD_CHECK(lfd >= 0, "listen: %s", strerror(errno));
	cfd = socket(AF_INET6, SOCK_STREAM, 0);
	CHILD_CHECK(!connect(cfd, (struct sockaddr *)&vip, sizeof(vip)),
		    "AF_INET6 connect to ::ffff:VIP: %s", strerror(errno));
	afd = accept(lfd, NULL, NULL);
	CHILD_CHECK(afd >= 0, "accept: %s", strerror(errno));
	CHILD_CHECK(!getpeername(cfd, (struct sockaddr *)&peer, &len), "getpeername: %s",
		    strerror(errno));
	CHILD_CHECK(is_mapped(&peer, VIP, 80), "getpeername is not ::ffff:VIP:80");
	CHILD_CHECK(write(cfd, "ping", 4) == 4 && read(afd, buf, sizeof(buf)) == 4,
		    "data did not reach the backend");
	close(afd);
	close(cfd);
	close(lfd);
	return 0;
}

TEST(sock6_v4_mapped_tcp_connect_is_translated)
{
	svc_set_lo(f, 80, IPPROTO_TCP, 1, 8080);
	run_in_cgroup_netns(f, child_tcp6_connect, NULL);
	ASSERT_EQ(stat_packets(f, BPFNET_STAT_SOCK_CONNECT_XLATE), 1, "connect6 translated");
	ASSERT_EQ(stat_packets(f, BPFNET_STAT_SOCK_PEERNAME_XLATE), 1, "getpeername6 translated");
}

/* UDP both ways: connected (recvfrom and getpeername) and unconnected
 * (sendto/recvfrom, as a DNS client does). */
static int child_udp6(void *arg, char *msg, size_t msglen)
{
	struct sockaddr_in6 vip = sin6_mapped(VIP, 53), from6, peer;
	struct sockaddr_in from;
	socklen_t len;
	struct timeval tv = { .tv_sec = 2 };
	char buf[16];
	int sfd, cfd;

	(void)arg;
	sfd = listen_on(LO_BACKEND(0), 5353, SOCK_DGRAM);
	CHILD_CHECK(sfd >= 0, "bind: %s", strerror(errno));
	for (int connected = 0; connected < 2; connected++) {
		cfd = socket(AF_INET6, SOCK_DGRAM, 0);
		setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (connected) {
			CHILD_CHECK(!connect(cfd, (struct sockaddr *)&vip, sizeof(vip)), "connect6");
			CHILD_CHECK(send(cfd, "q", 1, 0) == 1, "send: %s", strerror(errno));
		} else {
			CHILD_CHECK(sendto(cfd, "q", 1, 0, (struct sockaddr *)&vip, sizeof(vip)) == 1,
				    "sendto6: %s", strerror(errno));
		}
		len = sizeof(from);
		CHILD_CHECK(recvfrom(sfd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len) == 1,
			    "the backend got nothing");
		CHILD_CHECK(sendto(sfd, "a", 1, 0, (struct sockaddr *)&from, len) == 1, "reply");
		len = sizeof(from6);
		CHILD_CHECK(recvfrom(cfd, buf, sizeof(buf), 0, (struct sockaddr *)&from6, &len) == 1,
			    "no reply: %s", strerror(errno));
		CHILD_CHECK(is_mapped(&from6, VIP, 53), "%s reply is not from ::ffff:VIP:53",
			    connected ? "connected" : "unconnected");
		len = sizeof(peer);
		CHILD_CHECK(!connected || (!getpeername(cfd, (struct sockaddr *)&peer, &len) &&
					   is_mapped(&peer, VIP, 53)),
			    "getpeername of the connected socket is not ::ffff:VIP:53");
		close(cfd);
	}
	close(sfd);
	return 0;
}

TEST(sock6_v4_mapped_udp_replies_come_from_the_vip)
{
	svc_set_lo(f, 53, IPPROTO_UDP, 1, 5353);
	run_in_cgroup_netns(f, child_udp6, NULL);
	ASSERT_EQ(stat_packets(f, BPFNET_STAT_SOCK_RECVMSG_XLATE), 2, "recvmsg6 translated twice");
}

/* ---- a UDP socket that connects again ---- */

/* query @cfd's peer through a backend at @backend:5353, the reply's source */
static int udp_exchange(int cfd, int sfd, struct sockaddr_in *reply_from)
{
	struct sockaddr_in from;
	socklen_t len = sizeof(from);
	char buf[16];

	if (send(cfd, "q", 1, 0) != 1 ||
	    recvfrom(sfd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len) != 1 ||
	    sendto(sfd, "a", 1, 0, (struct sockaddr *)&from, len) != 1)
		return -1;
	len = sizeof(*reply_from);
	return recvfrom(cfd, buf, sizeof(buf), 0, (struct sockaddr *)reply_from, &len) == 1 ? 0 : -1;
}

/* Connect to VIP A, read (the peer moves into the socket's storage),
 * connect to VIP B, read: each reply from the VIP asked. Then straight to
 * the backend: its own address, not the last VIP's. */
static int child_udp_reconnect(void *arg, char *msg, size_t msglen)
{
	struct sockaddr_in a = sin_of(VIP, 53), b = sin_of(VIP + 1, 53),
			   direct = sin_of(LO_BACKEND(0), 5353), from;
	struct timeval tv = { .tv_sec = 2 };
	int sfd, cfd;

	(void)arg;
	sfd = listen_on(LO_BACKEND(0), 5353, SOCK_DGRAM);
	CHILD_CHECK(sfd >= 0, "bind: %s", strerror(errno));
	cfd = socket(AF_INET, SOCK_DGRAM, 0);
	setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	CHILD_CHECK(!connect(cfd, (struct sockaddr *)&a, sizeof(a)), "connect A");
	CHILD_CHECK(!udp_exchange(cfd, sfd, &from), "exchange via A");
	CHILD_CHECK(from.sin_addr.s_addr == a.sin_addr.s_addr, "first reply not from A");
	CHILD_CHECK(!connect(cfd, (struct sockaddr *)&b, sizeof(b)), "connect B");
	CHILD_CHECK(!udp_exchange(cfd, sfd, &from), "exchange via B");
	CHILD_CHECK(from.sin_addr.s_addr == b.sin_addr.s_addr && from.sin_port == htons(53),
		    "after connecting to B the reply came from %s:%u", inet_ntoa(from.sin_addr),
		    ntohs(from.sin_port));
	CHILD_CHECK(!connect(cfd, (struct sockaddr *)&direct, sizeof(direct)), "connect direct");
	CHILD_CHECK(!udp_exchange(cfd, sfd, &from), "exchange direct");
	CHILD_CHECK(from.sin_addr.s_addr == direct.sin_addr.s_addr &&
			    from.sin_port == direct.sin_port,
		    "a direct reply reads as %s:%u", inet_ntoa(from.sin_addr), ntohs(from.sin_port));
	close(cfd);
	close(sfd);
	return 0;
}

TEST(sock_udp_socket_connecting_again_reports_its_new_peer)
{
	struct bpfnet_backend_entry be = { 60, { htonl(LO_BACKEND(0)), htons(5353), IPPROTO_UDP, 0 } };
	struct bpfnet_service_spec a = { .id = 5, .n_backends = 1, .backends = &be };
	struct bpfnet_service_spec b = { .id = 6, .n_backends = 1, .backends = &be };
	struct bpfnet_svc_key ka = svc_key(VIP, 53, IPPROTO_UDP), kb = svc_key(VIP + 1, 53, IPPROTO_UDP);

	ASSERT_OK(bpfnet_service_upsert(&f->maps, &ka, &a), "VIP A");
	ASSERT_OK(bpfnet_service_upsert(&f->maps, &kb, &b), "VIP B, same backend");
	run_in_cgroup_netns(f, child_udp_reconnect, NULL);
}
