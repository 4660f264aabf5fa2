/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Everything the BPF datapath and userspace must agree on: map names, key and
 * value layouts, flags and counter ids. Included by bpf/ (clang -target bpf)
 * and by every userspace component; defined here once.
 *
 * Layout rules: all fields naturally aligned, padding explicit and zeroed by
 * writers (hash keys are compared bytewise), sizes pinned by _Static_assert.
 * A layout change bumps the map's version suffix so a new agent never reads
 * an old pin with the wrong shape.
 */
#ifndef BPFNET_DATAPATH_H
#define BPFNET_DATAPATH_H

#include <linux/bpf.h> /* struct bpf_spin_lock */
#include <linux/types.h>

#define BPFNET_PIN_DIR_DEFAULT "/sys/fs/bpf/bpfnet"

/* A constant in network byte order, usable by BPF and userspace alike. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define BPFNET_HTONL(x) __builtin_bswap32(x)
#else
#define BPFNET_HTONL(x) (x)
#endif

/* Map names: the kernel object name (< 16 bytes) and the pin file name. */
#define BPFNET_MAP_SVC      "svc_v1"
#define BPFNET_MAP_SLOT     "slot_v1"
#define BPFNET_MAP_BACKEND  "backend_v2"
#define BPFNET_MAP_REVNAT   "revnat_v1"
/* Conntrack, one table per kind so that short UDP/DNS flows can never
 * evict a TCP connection's entries (v2: v1 was one table, without the
 * reply's source in the entry). */
#define BPFNET_MAP_CT_TCP   "ct_tcp_v2"
#define BPFNET_MAP_CT_ANY   "ct_any_v2"
#define BPFNET_MAP_FRAG     "frag_v1"
#define BPFNET_MAP_SOCK_REV "sock_rev_v1"
#define BPFNET_MAP_STATS    "stats_v1"
#define BPFNET_MAP_SOCK_PEER "sock_peer_v1"
#define BPFNET_MAP_SOCK_PENDING "sock_pending_v1"
#define BPFNET_MAP_CONFIG   "config_v1"
#define BPFNET_MAP_EVENTS   "events_v1"
#define BPFNET_MAP_ENDPOINT "endpoint_v1"
#define BPFNET_MAP_SVC_NAME "svc_name_v1"
#define BPFNET_MAP_VIP      "vip_v1"

/* Program pin names (under <pin-dir>/), used by the CNI plugin to attach. */
#define BPFNET_PROG_FROM_CONTAINER "prog_from_container_v1"

/* Default capacities; every one can be overridden at load time. */
#define BPFNET_DEFAULT_SVC_MAX      65536
#define BPFNET_DEFAULT_BACKEND_MAX  65536
#define BPFNET_DEFAULT_SLOT_MAX     262144
#define BPFNET_DEFAULT_REVNAT_MAX   65536
#define BPFNET_DEFAULT_CT_TCP_MAX   131072
#define BPFNET_DEFAULT_CT_ANY_MAX   65536
#define BPFNET_DEFAULT_FRAG_MAX     8192
#define BPFNET_DEFAULT_SOCK_REV_MAX 65536
#define BPFNET_DEFAULT_SOCK_PENDING_MAX 65536
#define BPFNET_DEFAULT_ENDPOINT_MAX 4096
#define BPFNET_DEFAULT_EVENTS_BYTES (256 * 1024)

/* Largest backend set of one service: slot numbers are 16 bit. */
#define BPFNET_MAX_BACKENDS_PER_SVC 65535

/* ---- services: (VIP, port, proto, scope) -> service ---- */

enum bpfnet_svc_scope {
	BPFNET_SCOPE_ALL = 0,   /* every backend of the service */
	BPFNET_SCOPE_LOCAL = 1, /* node-local backends only (traffic policy Local) */
};

struct bpfnet_svc_key {
	__be32 addr;
	__be16 port;
	__u8 proto; /* IPPROTO_TCP / IPPROTO_UDP */
	__u8 scope; /* enum bpfnet_svc_scope */
};

enum bpfnet_svc_flags {
	BPFNET_SVC_F_CLUSTER_IP = 1 << 0,
	BPFNET_SVC_F_EXTERNAL_IP = 1 << 1,
	BPFNET_SVC_F_LOADBALANCER = 1 << 2,
	BPFNET_SVC_F_NODEPORT = 1 << 3,
	BPFNET_SVC_F_AFFINITY_CLIENT_IP = 1 << 4,
	BPFNET_SVC_F_INTERNAL_LOCAL = 1 << 5, /* internalTrafficPolicy: Local */
	BPFNET_SVC_F_EXTERNAL_LOCAL = 1 << 6, /* externalTrafficPolicy: Local */
};

/*
 * The service id doubles as the reverse-NAT id: it keys the slot map and the
 * revnat map. slot_gen selects which of two slot generations is live, so a
 * new backend set is written completely beside the old one and becomes
 * visible with the single update of this value.
 */
struct bpfnet_svc_value {
	__u32 id;
	__u16 count;   /* live slots 0..count-1; 0 = reject */
	__u8 slot_gen; /* 0 or 1 */
	__u8 pad0;
	__u32 flags; /* enum bpfnet_svc_flags */
	__u32 affinity_timeout_s;
};

struct bpfnet_slot_key {
	__u32 svc_id;
	__u16 slot;
	__u8 gen;
	__u8 pad0;
};

/* slot value: __u32 backend id */

/* ---- backends: id -> address ----
 *
 * An array indexed by backend id: ids are small and dense (the agent
 * allocates them), an array write costs a third of a hash insert, and its
 * lookup is inlined by the verifier. An all-zero entry is no backend; id 0 is
 * never one. The map has one element more than its configured capacity.
 * v2: v1 was a hash map.
 */

enum bpfnet_backend_state {
	BPFNET_BACKEND_ACTIVE = 0,
	BPFNET_BACKEND_TERMINATING = 1, /* serves existing flows, not chosen anew */
	BPFNET_BACKEND_QUARANTINED = 2,
};

struct bpfnet_backend {
	__be32 addr;
	__be16 port;
	__u8 proto;
	__u8 state; /* enum bpfnet_backend_state */
};

/* ---- reverse NAT: service id -> VIP:port ---- */

struct bpfnet_revnat {
	__be32 addr;
	__be16 port;
	__u16 pad0;
};

/* ---- conntrack for the per-packet path ---- */

enum bpfnet_ct_dir {
	BPFNET_CT_SERVICE = 0, /* key is client -> VIP tuple */
	BPFNET_CT_REPLY = 1,   /* key is backend -> client tuple */
};

struct bpfnet_ct_key {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 dir; /* enum bpfnet_ct_dir */
	__u16 pad0;
};

enum bpfnet_ct_flags {
	BPFNET_CT_F_SEEN_REPLY = 1 << 0,
	BPFNET_CT_F_FIN_FWD = 1 << 1,  /* the client sent FIN */
	BPFNET_CT_F_FIN_REV = 1 << 2,  /* the backend sent FIN */
	BPFNET_CT_F_RST = 1 << 3,      /* either side sent RST */
	/* the client is its own backend: the reply entry's client is
	 * BPFNET_HAIRPIN_ADDR, which the reverse NAT turns back into it */
	BPFNET_CT_F_HAIRPIN = 1 << 4,
	/* the client acknowledged the backend's SYN-ACK: from now on a SYN
	 * on this tuple is a new connection, not a retransmission */
	BPFNET_CT_F_ESTABLISHED = 1 << 5,
};

/*
 * Source given to a hairpinned flow (a pod reaching itself through a service
 * on the packet path). With its own address as source the pod would answer
 * itself inside its namespace, where no reverse NAT happens; from this
 * address the answer leaves through the pod's veth like any other reply.
 * Link-local, so never a pod or service address; host byte order.
 */
#define BPFNET_HAIRPIN_ADDR 0xa9fe2a01 /* 169.254.42.1 */

/*
 * Both entries of a flow carry the same value, written once when the flow
 * starts; each direction then keeps its own timer and flags, and TCP closes
 * (FIN, RST) are written into both. The reply entry names the address its
 * packets are rewritten to come from (rev_addr:rev_port, the VIP), so a
 * flow keeps being answered from the VIP after its service is deleted, as
 * conntrack keeps a NATed connection for kube-proxy.
 */
struct bpfnet_ct_value {
	__u64 created_ns;   /* bpf_ktime_get_coarse_ns() */
	__u64 last_seen_ns; /* refreshed at most once a second */
	__u32 backend_id;
	__u32 svc_id;
	__u16 flags; /* enum bpfnet_ct_flags */
	/* Where the flow was sent: it stays there after the backend leaves
	 * the service or its id serves another one. */
	__be16 backend_port;
	__be32 backend_addr;
	__be32 rev_addr; /* the VIP: replies come from it */
	__be16 rev_port;
	__u16 pad0;
};

/* Lifetimes, in seconds, after the last packet of either direction. */
#define BPFNET_CT_LIFETIME_TCP_SYN 60
#define BPFNET_CT_LIFETIME_TCP 21600
#define BPFNET_CT_LIFETIME_TCP_HALF_CLOSED 120 /* one FIN: the other side may still send */
#define BPFNET_CT_LIFETIME_TCP_CLOSED 10       /* both FINs or a RST: in-flight packets only */
#define BPFNET_CT_LIFETIME_UDP 60

/* How long an entry lives after its last packet; the datapath, the agent's
 * garbage collection and `bpfnet explain` decide expiry with this. */
static inline __u32 bpfnet_ct_lifetime_s(__u8 proto, __u16 flags)
{
	if (proto != 6 /* IPPROTO_TCP */)
		return BPFNET_CT_LIFETIME_UDP;
	if ((flags & BPFNET_CT_F_RST) ||
	    (flags & (BPFNET_CT_F_FIN_FWD | BPFNET_CT_F_FIN_REV)) ==
		    (BPFNET_CT_F_FIN_FWD | BPFNET_CT_F_FIN_REV))
		return BPFNET_CT_LIFETIME_TCP_CLOSED;
	if (flags & (BPFNET_CT_F_FIN_FWD | BPFNET_CT_F_FIN_REV))
		return BPFNET_CT_LIFETIME_TCP_HALF_CLOSED;
	if (!(flags & BPFNET_CT_F_SEEN_REPLY))
		return BPFNET_CT_LIFETIME_TCP_SYN;
	return BPFNET_CT_LIFETIME_TCP;
}

static inline int bpfnet_ct_expired(const struct bpfnet_ct_value *v, __u8 proto, __u64 now_ns)
{
	return now_ns - v->last_seen_ns > (__u64)bpfnet_ct_lifetime_s(proto, v->flags) * 1000000000ULL;
}

/* What a flow is now, for people and metrics. */
enum bpfnet_ct_state {
	BPFNET_CT_STATE_SYN = 0,      /* TCP, no answer yet */
	BPFNET_CT_STATE_ESTABLISHED,  /* TCP */
	BPFNET_CT_STATE_CLOSING,      /* TCP, one FIN */
	BPFNET_CT_STATE_CLOSED,       /* TCP, both FINs or a RST */
	BPFNET_CT_STATE_UNREPLIED,    /* not TCP, no answer yet */
	BPFNET_CT_STATE_REPLIED,      /* not TCP */
	BPFNET_CT_STATE_COUNT,
};

static inline enum bpfnet_ct_state bpfnet_ct_state(__u8 proto, __u16 flags)
{
	if (proto != 6 /* IPPROTO_TCP */)
		return flags & BPFNET_CT_F_SEEN_REPLY ? BPFNET_CT_STATE_REPLIED
						      : BPFNET_CT_STATE_UNREPLIED;
	switch (bpfnet_ct_lifetime_s(proto, flags)) {
	case BPFNET_CT_LIFETIME_TCP_CLOSED: return BPFNET_CT_STATE_CLOSED;
	case BPFNET_CT_LIFETIME_TCP_HALF_CLOSED: return BPFNET_CT_STATE_CLOSING;
	case BPFNET_CT_LIFETIME_TCP_SYN: return BPFNET_CT_STATE_SYN;
	default: return BPFNET_CT_STATE_ESTABLISHED;
	}
}

/*
 * The key of the other entry of a flow. Each direction refreshes only its
 * own timer, so a flow is gone only when both are expired (a server that
 * pushes to a silent client keeps the client's entry alive, and the
 * reverse); the datapath and the garbage collection both ask the twin.
 */
static inline void bpfnet_ct_twin_key(const struct bpfnet_ct_key *k,
				      const struct bpfnet_ct_value *v, struct bpfnet_ct_key *twin)
{
	int hairpin = v->flags & BPFNET_CT_F_HAIRPIN;

	twin->proto = k->proto;
	twin->pad0 = 0;
	if (k->dir == BPFNET_CT_SERVICE) {
		/* client -> VIP  =>  backend -> client (or the hairpin address) */
		twin->saddr = v->backend_addr;
		twin->sport = v->backend_port;
		twin->daddr = hairpin ? BPFNET_HTONL(BPFNET_HAIRPIN_ADDR) : k->saddr;
		twin->dport = k->sport;
		twin->dir = BPFNET_CT_REPLY;
	} else {
		/* backend -> client  =>  client -> VIP (a hairpinned client is the backend) */
		twin->saddr = hairpin ? k->saddr : k->daddr;
		twin->sport = k->dport;
		twin->daddr = v->rev_addr;
		twin->dport = v->rev_port;
		twin->dir = BPFNET_CT_SERVICE;
	}
}

/*
 * Where an established flow's packets go (the datapath and the CLI agree on
 * it here). A TCP connection stays with the backend it was given, whose
 * address the entry keeps, as conntrack keeps it for kube-proxy: a pod that
 * left the service may still be finishing it. Any other flow follows its
 * backend id while the id still names that backend; @be is what the id
 * names now (NULL: nothing). 0: the flow picks a backend anew.
 */
static inline __be32 bpfnet_ct_backend(const struct bpfnet_ct_value *ct, __u8 proto,
				       const struct bpfnet_backend *be, __be16 *port)
{
	if (proto == 6 /* IPPROTO_TCP */ ||
	    (be && be->addr == ct->backend_addr && be->port == ct->backend_port)) {
		*port = ct->backend_port;
		return ct->backend_addr;
	}
	return 0; /* gone, or the id serves another backend now */
}

/* ---- service addresses: address -> how many service entries use it ----
 *
 * A later IPv4 fragment carries no ports, so the service map cannot say
 * whether it belongs to a service flow; this set can say whether its
 * destination is a service address at all. The map library keeps the count
 * with every service entry it writes or removes.
 */

struct bpfnet_vip {
	__u32 services;
	__u32 pad0;
};

/* ---- IPv4 fragments: later fragments carry no ports ---- */

struct bpfnet_frag_key {
	__be32 saddr;
	__be32 daddr;
	__be16 id;
	__u8 proto;
	__u8 pad0;
};

struct bpfnet_frag_value {
	__be16 sport;
	__be16 dport;
};

/* ---- socket LB reverse translation (getpeername, recvmsg) ---- */

struct bpfnet_sock_rev_key {
	__u64 cookie;
	__be32 addr; /* backend */
	__be16 port;
	__u16 pad0;
};

struct bpfnet_sock_rev_value {
	__be32 addr; /* VIP */
	__be16 port;
	__u16 pad0;
	__u32 svc_id;
};

/* ---- socket LB peer of a connected socket (socket-local storage) ---- */

/* Lives and dies with its socket: once there, a long-lived connection never
 * loses its VIP to eviction, and closed sockets leave nothing behind. It is
 * made on the first getpeername()/recvmsg() that needs it, from the pending
 * slot below, not in connect(): creating it (two allocations charged to the
 * map's memory cgroup) and freeing it at close cost a translated connect
 * several times what the rest of socket LB does. */
struct bpfnet_sock_peer {
	__be32 backend_addr;
	__be16 backend_port;
	__u16 pad0;
	__be32 vip;
	__be16 vport;
	__u16 pad1;
	__u32 svc_id;
};

/* ---- socket LB: peers of just-connected sockets ---- */

/* An array indexed by socket cookie modulo its size: connect() writes one
 * slot, nothing is allocated or freed. Cookies come from a counter, so a
 * slot is reused only after about as many newer sockets got cookies as the
 * array has slots; a socket that first asks for its peer after that gets
 * the backend's address. The lock keeps a reader from mixing two writers'
 * fields when that happens. */
struct bpfnet_sock_pending {
	__u64 cookie; /* 0: never written */
	struct bpf_spin_lock lock;
	__u32 pad0;
	struct bpfnet_sock_peer peer;
	__u32 pad1;
};

/* ---- runtime configuration: array of one ---- */

enum bpfnet_monitor_flags {
	BPFNET_MON_DROPS = 1 << 0,  /* every drop, with its reason */
	BPFNET_MON_LB = 1 << 1,     /* backend selections (packet and socket LB) */
	BPFNET_MON_CT_NEW = 1 << 2, /* new conntrack entries */
};

struct bpfnet_config {
	__u32 monitor; /* enum bpfnet_monitor_flags; 0: the datapath emits nothing */
	__u32 pad0;
};

/* ---- monitor events (ring buffer) ---- */

enum bpfnet_event_type {
	BPFNET_EV_DROP = 1,
	BPFNET_EV_LB = 2,     /* packet path chose a backend for a new flow */
	BPFNET_EV_SOCK_LB = 3, /* socket LB chose a backend in connect/sendmsg */
	BPFNET_EV_CT_NEW = 4,
};

struct bpfnet_event {
	__u64 ts_ns;
	__u8 type;   /* enum bpfnet_event_type */
	__u8 reason; /* DROP: enum bpfnet_drop_reason */
	__u8 proto;
	__u8 pad0;
	__u32 ifindex;
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__be32 nat_addr; /* LB, SOCK_LB, CT_NEW: the backend */
	__be16 nat_port;
	__u16 pad1;
	__u32 svc_id;
	__u32 backend_id;
	__u32 pad2;
};

/* ---- endpoints: local pods, written by the CNI plugin ---- */

struct bpfnet_endpoint {
	__u32 ifindex;      /* host side of the pod's veth */
	__u32 flags;
	__u8 pod_mac[6];
	__u8 host_mac[6];
};

/* ---- service names, written by the agent for people (CLI, monitor) ---- */

#define BPFNET_SVC_NAME_LEN 96
struct bpfnet_svc_name {
	char name[BPFNET_SVC_NAME_LEN]; /* "namespace/name:port", NUL-terminated */
};

/* ---- counters: per-CPU array indexed by enum bpfnet_stat ---- */

/* Verdicts and events; X(enum suffix, CLI name). */
#define BPFNET_VERDICT_LIST(X)                                     \
	X(PASS, "pass")                       /* not a service flow */ \
	X(LB_NEW, "lb_new_flow")                                       \
	X(LB_CT_HIT, "lb_ct_hit")                                      \
	X(REVNAT, "revnat")                                            \
	X(ICMP_ERR_XLATE, "icmp_error_xlate")                          \
	X(FRAG_XLATE, "frag_xlate")                                    \
	X(FRAG_NO_STATE, "frag_no_state")                              \
	X(IP_OPTIONS, "ip_options")                                    \
	X(REJECT_TCP_RST, "reject_tcp_rst")                            \
	X(REJECT_ICMP, "reject_icmp_unreach")                          \
	X(SOCK_CONNECT_XLATE, "sock_connect_xlate")                    \
	X(SOCK_SENDMSG_XLATE, "sock_sendmsg_xlate")                    \
	X(SOCK_RECVMSG_XLATE, "sock_recvmsg_xlate")                    \
	X(SOCK_PEERNAME_XLATE, "sock_getpeername_xlate")               \
	X(SOCK_REJECT, "sock_reject_no_backend")                       \
	X(CT_REOPEN, "ct_reopen")                                      \
	X(LOCAL_DELIVERY, "local_delivery") /* also counted: to a local pod's veth */ \
	X(HAIRPIN, "hairpin")     /* a pod reached itself via a service */ \
	X(CT_LOST, "ct_lost_state") /* a TCP packet of a flow whose entries were gone: rebalanced */

/* Drop reasons; X(enum suffix, CLI name). */
#define BPFNET_DROP_LIST(X)                                          \
	X(NO_BACKEND, "no_backend")   /* service without backends */    \
	X(BACKEND_MISSING, "backend_missing") /* slot -> absent id */     \
	X(MALFORMED, "malformed")     /* headers truncated / invalid */  \
	X(CSUM_ERROR, "csum_error")   /* a rewrite helper failed */      \
	X(CT_CREATE, "ct_create_failed")                                 \
	X(REJECT_FAILED, "reject_build_failed")                          \
	X(UNSUPPORTED_L4, "unsupported_l4")                              \
	X(FRAG_FIRST_UNSEEN, "frag_first_unseen") /* later fragment to a VIP */ \
	X(INVALID_SOURCE, "invalid_source") /* a pod sent from an address not its own */

#define BPFNET_X_ENUM_VERDICT(name, str) BPFNET_STAT_##name,
#define BPFNET_X_ENUM_DROP(name, str) BPFNET_DROP_##name,

enum bpfnet_stat {
	BPFNET_VERDICT_LIST(BPFNET_X_ENUM_VERDICT)
	BPFNET_STAT_VERDICT_COUNT,
};

enum bpfnet_drop_reason {
	BPFNET_DROP_LIST(BPFNET_X_ENUM_DROP)
	BPFNET_DROP_REASON_COUNT,
};

/* Drop counters live after the verdicts in the same array. */
#define BPFNET_STAT_DROP_BASE 64
#define BPFNET_STATS_MAX 128

struct bpfnet_stat_value {
	__u64 packets;
	__u64 bytes;
};

_Static_assert(sizeof(struct bpfnet_svc_key) == 8, "svc key layout");
_Static_assert(sizeof(struct bpfnet_svc_value) == 16, "svc value layout");
_Static_assert(sizeof(struct bpfnet_slot_key) == 8, "slot key layout");
_Static_assert(sizeof(struct bpfnet_backend) == 8, "backend layout");
_Static_assert(sizeof(struct bpfnet_revnat) == 8, "revnat layout");
_Static_assert(sizeof(struct bpfnet_ct_key) == 16, "ct key layout");
_Static_assert(sizeof(struct bpfnet_ct_value) == 40, "ct value layout");
_Static_assert(sizeof(struct bpfnet_vip) == 8, "vip layout");
_Static_assert(sizeof(struct bpfnet_frag_key) == 12, "frag key layout");
_Static_assert(sizeof(struct bpfnet_frag_value) == 4, "frag value layout");
_Static_assert(sizeof(struct bpfnet_sock_rev_key) == 16, "sock rev key layout");
_Static_assert(sizeof(struct bpfnet_sock_rev_value) == 12, "sock rev value layout");
_Static_assert(sizeof(struct bpfnet_stat_value) == 16, "stat value layout");
_Static_assert(sizeof(struct bpfnet_sock_peer) == 20, "sock peer layout");
_Static_assert(sizeof(struct bpfnet_sock_pending) == 40, "sock pending layout");
_Static_assert(sizeof(struct bpfnet_config) == 8, "config layout");
_Static_assert(sizeof(struct bpfnet_event) == 48, "event layout");
_Static_assert(sizeof(struct bpfnet_endpoint) == 20, "endpoint layout");
_Static_assert(BPFNET_STAT_VERDICT_COUNT <= BPFNET_STAT_DROP_BASE, "verdicts overflow");
_Static_assert(BPFNET_STAT_DROP_BASE + BPFNET_DROP_REASON_COUNT <= BPFNET_STATS_MAX,
	       "drop reasons overflow");

#endif /* BPFNET_DATAPATH_H */
