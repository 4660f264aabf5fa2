/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Socket LB: translate VIP:port to a backend in connect()/sendmsg() before
 * any packet exists, and translate the backend back to the VIP where the
 * application reads a peer address (getpeername(), recvmsg() source).
 */
#ifndef BPFNET_BPF_SOCK_H
#define BPFNET_BPF_SOCK_H

#include "lb.h"
#include "monitor.h"
#include "stats.h"

/* sock_addr programs: 1 lets the call proceed, 0 fails it */
#define SOCK_ALLOW 1
#define SOCK_REJECT 0

static __always_inline void sock_stat(enum bpfnet_stat idx)
{
	stat_add(idx, 0);
}

static __always_inline void sock_monitor(struct bpf_sock_addr *ctx, __u8 type, __u8 reason,
					 const struct bpfnet_svc_key *key,
					 const struct bpfnet_backend *be, __u32 backend_id,
					 __u32 svc_id)
{
	__u32 want = type == BPFNET_EV_DROP ? BPFNET_MON_DROPS : BPFNET_MON_LB;
	struct monitor_tuple t = {};

	if (!(monitor_flags() & want))
		return;
	t.daddr = key->addr;
	t.dport = key->port;
	t.proto = key->proto;
	/* the local address is not chosen yet in connect()/sendmsg(): 0 */
	monitor_emit(type, reason, 0, &t, be ? be->addr : 0, be ? be->port : 0, svc_id,
		     backend_id);
}

static __always_inline struct bpfnet_sock_pending *sock_pending_slot(__u64 cookie)
{
	__u32 slot = (__u32)(cookie % cfg_sock_pending_slots);

	return bpf_map_lookup_elem(&sock_pending_v1, &slot);
}

/*
 * Remember VIP <-> backend for the reverse hooks. A connect()ed socket has
 * one peer: its socket storage, when it has one (it asked for its peer
 * before, and this is a later connect() to somewhere else), else its
 * pending slot. An unconnected UDP socket may talk to several backends, so
 * those go to the (cookie, backend) LRU.
 */
static __always_inline void sock_remember(struct bpf_sock_addr *ctx, int connected,
					  const struct bpfnet_backend *be,
					  const struct bpfnet_svc_key *key, __u32 svc_id)
{
	struct bpfnet_sock_rev_value rev_val = {};
	struct bpfnet_sock_rev_key rev_key = {};
	__u64 cookie = bpf_get_socket_cookie(ctx);

	if (connected && cfg_has_sk_storage) {
		struct bpfnet_sock_pending *p;
		struct bpfnet_sock_peer *peer = ctx->sk ?
			bpf_sk_storage_get(&sock_peer_v1, ctx->sk, NULL, 0) : NULL;

		if (peer) {
			peer->backend_addr = be->addr;
			peer->backend_port = be->port;
			peer->vip = key->addr;
			peer->vport = key->port;
			peer->svc_id = svc_id;
			return;
		}
		p = sock_pending_slot(cookie);
		if (!p) /* not with the size the loader set */
			return;
		bpf_spin_lock(&p->lock);
		p->cookie = cookie;
		p->peer.backend_addr = be->addr;
		p->peer.backend_port = be->port;
		p->peer.vip = key->addr;
		p->peer.vport = key->port;
		p->peer.svc_id = svc_id;
		bpf_spin_unlock(&p->lock);
		return;
	}
	rev_key.cookie = cookie;
	rev_key.addr = be->addr;
	rev_key.port = be->port;
	rev_val.addr = key->addr;
	rev_val.port = key->port;
	rev_val.svc_id = svc_id;
	/* A full LRU evicts; failure here only loses the peer-name rewrite. */
	bpf_map_update_elem(&sock_rev_v1, &rev_key, &rev_val, BPF_ANY);
}

/* A connect() that no service translated: a socket that talked to a VIP
 * before (a UDP socket connects again and again) must not keep reporting
 * it. Only sockets that asked for their peer have storage; for every other
 * socket this is one empty lookup. */
static __always_inline void sock_forget_peer(struct bpf_sock_addr *ctx)
{
	struct bpfnet_sock_peer *peer;

	if (!cfg_has_sk_storage || !ctx->sk)
		return;
	peer = bpf_sk_storage_get(&sock_peer_v1, ctx->sk, NULL, 0);
	if (peer)
		peer->backend_addr = 0; /* matches no peer address */
}

/*
 * connect()/sendmsg() to @addr:@port (network order): 1 when it is a
 * service, with the backend to go to in *addr and *port; 0 when it is not; -1
 * when the call must fail (no backend). Shared by the IPv4 hooks and the
 * IPv6 ones, which see IPv4 services as v4-mapped addresses.
 */
static __always_inline int sock_fwd(struct bpf_sock_addr *ctx, int connected, __u8 proto,
				    __be32 *addr, __be16 *port)
{
	struct bpfnet_svc_value *svc;
	struct bpfnet_svc_key key;
	struct bpfnet_backend *be;
	__u32 backend_id;

	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return 0;
	key.addr = *addr;
	key.port = *port;
	key.proto = proto;
	key.scope = BPFNET_SCOPE_ALL;
	svc = svc_lookup(&key);
	if (!svc) {
		if (connected)
			sock_forget_peer(ctx);
		return 0;
	}

	be = lb_select(&key, svc, &backend_id, 0, 0);
	if (!be) {
		sock_stat(BPFNET_STAT_SOCK_REJECT);
		stat_add(BPFNET_STAT_DROP_BASE + BPFNET_DROP_NO_BACKEND, 0);
		sock_monitor(ctx, BPFNET_EV_DROP, BPFNET_DROP_NO_BACKEND, &key, NULL, 0, svc->id);
		/* Without bpf_set_retval (< 5.18) the caller sees EPERM. */
		if (cfg_has_set_retval)
			bpf_set_retval(-ECONNREFUSED);
		return -1;
	}
	sock_remember(ctx, connected, be, &key, svc->id);
	sock_monitor(ctx, BPFNET_EV_SOCK_LB, 0, &key, be, backend_id, svc->id);
	*addr = be->addr;
	*port = be->port;
	return 1;
}

static __always_inline int sock_xlate_fwd(struct bpf_sock_addr *ctx, int connected,
					  enum bpfnet_stat verdict)
{
	__be32 addr = ctx->user_ip4;
	__be16 port = (__be16)ctx->user_port;
	int ret = sock_fwd(ctx, connected, (__u8)ctx->protocol, &addr, &port);

	if (ret < 0)
		return SOCK_REJECT;
	if (ret) {
		ctx->user_ip4 = addr;
		ctx->user_port = (__u32)port;
		sock_stat(verdict);
	}
	return SOCK_ALLOW;
}

/* ::ffff:a.b.c.d, the IPv4 address an AF_INET6 socket reaches it by */
static __always_inline int sock_v4_mapped(const struct bpf_sock_addr *ctx)
{
	return ctx->user_ip6[0] == 0 && ctx->user_ip6[1] == 0 &&
	       ctx->user_ip6[2] == bpf_htonl(0x0000ffff);
}

/* Dual-stack programs (Java, Node.js, many servers) use AF_INET6 sockets
 * and reach IPv4 services at v4-mapped addresses: translated exactly as
 * the IPv4 hooks translate, the mapped prefix kept. */
static __always_inline int sock6_xlate_fwd(struct bpf_sock_addr *ctx, int connected,
					   enum bpfnet_stat verdict)
{
	__be32 addr;
	__be16 port;
	int ret;

	if (!sock_v4_mapped(ctx)) {
		if (connected)
			sock_forget_peer(ctx);
		return SOCK_ALLOW; /* native IPv6 services come with dual-stack */
	}
	addr = ctx->user_ip6[3];
	port = (__be16)ctx->user_port;
	ret = sock_fwd(ctx, connected, (__u8)ctx->protocol, &addr, &port);
	if (ret < 0)
		return SOCK_REJECT;
	if (ret) {
		ctx->user_ip6[3] = addr;
		ctx->user_port = (__u32)port;
		sock_stat(verdict);
	}
	return SOCK_ALLOW;
}

/* The peer of a connected socket that connect() translated: from its
 * storage, or moved there from its pending slot on first use, so that it
 * outlives the slot. Without storage (allocation failed) the answer comes
 * from a copy. */
static __always_inline int sock_peer_get(struct bpf_sock_addr *ctx, struct bpf_sock *sk,
					 struct bpfnet_sock_peer *out)
{
	struct bpfnet_sock_pending *p;
	struct bpfnet_sock_peer *peer;
	__u64 cookie;
	int found = 0;

	peer = bpf_sk_storage_get(&sock_peer_v1, sk, NULL, 0);
	if (peer) {
		*out = *peer;
		return 1;
	}
	cookie = bpf_get_socket_cookie(ctx);
	p = sock_pending_slot(cookie);
	/* the unlocked read turns away other sockets (nearly every caller)
	 * without writing the slot's cache line */
	if (!p || p->cookie != cookie)
		return 0;
	bpf_spin_lock(&p->lock);
	if (p->cookie == cookie) {
		*out = p->peer;
		found = 1;
	}
	bpf_spin_unlock(&p->lock);
	if (!found)
		return 0;
	peer = bpf_sk_storage_get(&sock_peer_v1, sk, NULL, BPF_SK_STORAGE_GET_F_CREATE);
	if (peer)
		*peer = *out;
	return 1;
}

/* A TCP socket has a peer here only when connected (getpeername() fails
 * before the hook otherwise); a UDP socket when connect() gave it one. */
static __always_inline int sock_is_connected(const struct bpf_sock *sk)
{
	return sk->protocol == IPPROTO_TCP || sk->state == BPF_TCP_ESTABLISHED;
}

/* The peer @addr:@port the application is about to read: the VIP instead,
 * when it is the backend connect()/sendmsg() chose. 1 when rewritten. */
static __always_inline int sock_rev(struct bpf_sock_addr *ctx, __be32 *addr, __be16 *port)
{
	struct bpfnet_sock_rev_key key = {};
	struct bpfnet_sock_rev_value *v;
	struct bpf_sock *sk = ctx->sk;

	/* With socket storage a connected socket's peer is never in the LRU:
	 * a direct connection (most getpeername() calls) skips its lookup,
	 * and an unconnected UDP socket (a DNS server's) skips the slot. */
	if (cfg_has_sk_storage && sk && sock_is_connected(sk)) {
		struct bpfnet_sock_peer peer;

		if (sock_peer_get(ctx, sk, &peer) && peer.backend_addr == *addr &&
		    peer.backend_port == *port) {
			*addr = peer.vip;
			*port = peer.vport;
			return 1;
		}
		return 0;
	}
	key.cookie = bpf_get_socket_cookie(ctx);
	key.addr = *addr;
	key.port = *port;
	v = bpf_map_lookup_elem(&sock_rev_v1, &key);
	if (!v)
		return 0;
	*addr = v->addr;
	*port = v->port;
	return 1;
}

static __always_inline int sock_xlate_rev(struct bpf_sock_addr *ctx, enum bpfnet_stat verdict)
{
	__be32 addr = ctx->user_ip4;
	__be16 port = (__be16)ctx->user_port;

	if (sock_rev(ctx, &addr, &port)) {
		ctx->user_ip4 = addr;
		ctx->user_port = (__u32)port;
		sock_stat(verdict);
	}
	return SOCK_ALLOW;
}

static __always_inline int sock6_xlate_rev(struct bpf_sock_addr *ctx, enum bpfnet_stat verdict)
{
	__be32 addr;
	__be16 port;

	if (!sock_v4_mapped(ctx))
		return SOCK_ALLOW;
	addr = ctx->user_ip6[3];
	port = (__be16)ctx->user_port;
	if (sock_rev(ctx, &addr, &port)) {
		ctx->user_ip6[3] = addr;
		ctx->user_port = (__u32)port;
		sock_stat(verdict);
	}
	return SOCK_ALLOW;
}

#endif
