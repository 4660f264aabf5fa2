// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Conntrack: the datapath's flow lifetimes and TCP state (from_container
 * with BPF_PROG_TEST_RUN), and the agent's sweep of the tables.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>

#include "bpfnet_lxc.skel.h"
#include "conntrack.h"
#include "testutil.h"

static void send_pkt(struct fixture *f, struct pkt_spec s, struct tc_result *r)
{
	struct pkt_buf in;

	pkt_build(&in, &s);
	run_tc(f, &in, r);
	ASSERT_EQ(r->retval, TC_ACT_OK, "verdict");
}

/* SYN, SYN-ACK, ACK through the service; returns the backend chosen. */
static uint32_t handshake(struct fixture *f, uint16_t sport)
{
	struct tc_result r;
	uint32_t be;

	send_pkt(f, tcp_spec(CLIENT, sport, VIP, 80, TCP_SYN), &r);
	be = pkt_daddr(&r.out);
	send_pkt(f, tcp_spec(be, 8080, CLIENT, sport, TCP_SYN | TCP_ACK), &r);
	send_pkt(f, tcp_spec(CLIENT, sport, VIP, 80, TCP_ACK), &r);
	ASSERT_EQ(pkt_daddr(&r.out), be, "the ACK goes where the SYN went");
	return be;
}

static struct bpfnet_ct_key ct_key(uint32_t saddr, uint16_t sport, uint32_t daddr, uint16_t dport,
				   uint8_t proto, uint8_t dir)
{
	struct bpfnet_ct_key k = { .saddr = htonl(saddr), .daddr = htonl(daddr),
				   .sport = htons(sport), .dport = htons(dport), .proto = proto,
				   .dir = dir };
	return k;
}

/* Make an entry look idle for @s seconds. */
static void age_entry(struct fixture *f, struct bpfnet_ct_key k, __u64 s)
{
	struct bpfnet_ct_value v;

	ASSERT_OK(bpfnet_ct_lookup(&f->maps, &k, &v), "entry to age");
	v.last_seen_ns = ct_clock_ns() - s * 1000000000ull;
	ASSERT_OK(bpfnet_ct_update(&f->maps, &k, &v), "aged");
}

TEST(both_entries_carry_the_vip_and_the_backend)
{
	struct bpfnet_ct_value fwd, rev;
	uint32_t be;

	svc_set(f, VIP, 80, IPPROTO_TCP, 7, 1, 8080, 100);
	be = handshake(f, 41000);
	ASSERT_OK(ct_get(f, CLIENT, VIP, 41000, 80, IPPROTO_TCP, BPFNET_CT_SERVICE, &fwd), "fwd");
	ASSERT_OK(ct_get(f, be, CLIENT, 8080, 41000, IPPROTO_TCP, BPFNET_CT_REPLY, &rev), "rev");
	ASSERT_EQ(rev.rev_addr, htonl(VIP), "reply entry names the VIP");
	ASSERT_EQ(rev.rev_port, htons(80), "and its port");
	ASSERT_EQ(fwd.backend_addr, htonl(be), "service entry names the backend");
	ASSERT_TRUE(fwd.flags & BPFNET_CT_F_SEEN_REPLY, "the reply was seen");
	ASSERT_TRUE(fwd.flags & BPFNET_CT_F_ESTABLISHED, "the client's ACK established it");
	ASSERT_EQ(map_entries(f, BPFNET_M_CT_TCP), 2, "TCP flows in the TCP table");
	ASSERT_EQ(map_entries(f, BPFNET_M_CT_ANY), 0, "none in the other");
}

/* A service deleted under a connection: replies still come from the VIP,
 * read from the flow's own entry. */
TEST(replies_keep_their_vip_after_the_service_is_deleted)
{
	struct bpfnet_svc_key k = svc_key(VIP, 80, IPPROTO_TCP);
	struct tc_result r;
	uint32_t be;

	svc_set(f, VIP, 80, IPPROTO_TCP, 7, 1, 8080, 100);
	be = handshake(f, 41001);
	ASSERT_OK(bpfnet_service_delete(&f->maps, &k), "service deleted");
	send_pkt(f, tcp_spec(be, 8080, CLIENT, 41001, TCP_ACK), &r);
	ASSERT_EQ(pkt_saddr(&r.out), VIP, "still from the VIP");
	ASSERT_EQ(pkt_sport(&r.out), 80, "and its port");
	ASSERT_CSUMS(&r.out, "reply");
}

/* Each direction refreshes its own entry; a flow is alive while either is. */
TEST(a_flow_lives_while_either_entry_does)
{
	struct bpfnet_ct_key fwd = ct_key(CLIENT, 5300, VIP, 53, IPPROTO_UDP, BPFNET_CT_SERVICE);
	struct bpfnet_ct_key rev;
	struct bpfnet_ct_value v;
	struct tc_result r;
	uint32_t be;

	svc_set(f, VIP, 53, IPPROTO_UDP, 9, 8, 53, 200);
	send_pkt(f, udp_spec(CLIENT, 5300, VIP, 53, (const uint8_t *)"q", 1), &r);
	be = pkt_daddr(&r.out);
	rev = ct_key(be, 53, CLIENT, 5300, IPPROTO_UDP, BPFNET_CT_REPLY);

	/* the client went quiet; the server keeps sending */
	age_entry(f, fwd, BPFNET_CT_LIFETIME_UDP + 5);
	send_pkt(f, udp_spec(be, 53, CLIENT, 5300, (const uint8_t *)"a", 1), &r);
	ASSERT_EQ(pkt_saddr(&r.out), VIP, "a reply with an expired service entry: still the VIP");
	send_pkt(f, udp_spec(CLIENT, 5300, VIP, 53, (const uint8_t *)"q", 1), &r);
	ASSERT_EQ(pkt_daddr(&r.out), be, "the client's next datagram keeps its backend");
	ASSERT_EQ(stat_packets(f, BPFNET_STAT_LB_NEW), 1, "no new flow");

	/* the server went quiet; the client keeps sending */
	age_entry(f, rev, BPFNET_CT_LIFETIME_UDP + 5);
	send_pkt(f, udp_spec(CLIENT, 5300, VIP, 53, (const uint8_t *)"q", 1), &r);
	ASSERT_EQ(pkt_daddr(&r.out), be, "an expired reply entry: the flow still lives");

	/* both quiet: the flow is gone in both directions */
	age_entry(f, fwd, BPFNET_CT_LIFETIME_UDP + 5);
	age_entry(f, rev, BPFNET_CT_LIFETIME_UDP + 5);
	send_pkt(f, udp_spec(be, 53, CLIENT, 5300, (const uint8_t *)"a", 1), &r);
	ASSERT_EQ(pkt_saddr(&r.out), be, "a reply of a dead flow is not translated");
	ASSERT_OK(bpfnet_ct_lookup(&f->maps, &rev, &v), "(the entry is still there)");
	send_pkt(f, udp_spec(CLIENT, 5300, VIP, 53, (const uint8_t *)"q", 1), &r);
	ASSERT_EQ(stat_packets(f, BPFNET_STAT_LB_NEW), 2, "the client's next datagram opens a new flow");
}

/* A RST or FIN from the backend shortens the client's entry too. */
TEST(close_from_the_backend_is_written_into_both_entries)
{
	struct bpfnet_ct_value fwd, rev;
	struct tc_result r;
	uint32_t be;

	svc_set(f, VIP, 80, IPPROTO_TCP, 7, 1, 8080, 100);
	be = handshake(f, 41002);
	send_pkt(f, tcp_spec(be, 8080, CLIENT, 41002, TCP_FIN | TCP_ACK), &r);
	ASSERT_OK(ct_get(f, CLIENT, VIP, 41002, 80, IPPROTO_TCP, BPFNET_CT_SERVICE, &fwd), "fwd");
	ASSERT_TRUE(fwd.flags & BPFNET_CT_F_FIN_REV, "the backend's FIN is in the service entry");
	ASSERT_EQ(bpfnet_ct_lifetime_s(IPPROTO_TCP, fwd.flags), BPFNET_CT_LIFETIME_TCP_HALF_CLOSED,
		  "half closed");

	be = handshake(f, 41003);
	send_pkt(f, tcp_spec(be, 8080, CLIENT, 41003, TCP_RST), &r);
	ASSERT_OK(ct_get(f, CLIENT, VIP, 41003, 80, IPPROTO_TCP, BPFNET_CT_SERVICE, &fwd), "fwd");
	ASSERT_OK(ct_get(f, be, CLIENT, 8080, 41003, IPPROTO_TCP, BPFNET_CT_REPLY, &rev), "rev");
	ASSERT_TRUE(fwd.flags & BPFNET_CT_F_RST, "the backend's RST is in the service entry");
	ASSERT_EQ(bpfnet_ct_lifetime_s(IPPROTO_TCP, fwd.flags), BPFNET_CT_LIFETIME_TCP_CLOSED,
		  "the service entry lives only for in-flight packets now");
	ASSERT_EQ(bpfnet_ct_lifetime_s(IPPROTO_TCP, rev.flags), BPFNET_CT_LIFETIME_TCP_CLOSED,
		  "so does the reply entry");
}

/* A client's SYN retransmitted before it saw the SYN-ACK is the same
 * connection: same backend, no reopen. */
TEST(syn_retransmission_keeps_its_backend)
{
	struct tc_result r;

	svc_set(f, VIP, 80, IPPROTO_TCP, 7, 8, 8080, 100);
	for (uint16_t port = 42000; port < 42020; port++) {
		uint32_t be;

		send_pkt(f, tcp_spec(CLIENT, port, VIP, 80, TCP_SYN), &r);
		be = pkt_daddr(&r.out);
		/* the SYN-ACK went by but was lost before the client */
		send_pkt(f, tcp_spec(be, 8080, CLIENT, port, TCP_SYN | TCP_ACK), &r);
		send_pkt(f, tcp_spec(CLIENT, port, VIP, 80, TCP_SYN), &r);
		ASSERT_EQ(pkt_daddr(&r.out), be, "the retransmitted SYN goes to the same backend");
	}
	ASSERT_EQ(stat_packets(f, BPFNET_STAT_CT_REOPEN), 0, "no reopen");
}

/*
 * A SYN on the tuple of an established connection whose end was not seen
 * (its RST still queued on another CPU) is a new connection: it must not
 * land on the old connection's backend, which still holds that tuple open
 * and would answer with a challenge ACK.
 */
TEST(syn_on_an_unclosed_established_tuple_avoids_its_backend)
{
	struct tc_result r;

	svc_set(f, VIP, 80, IPPROTO_TCP, 7, 2, 8080, 100);
	for (uint16_t port = 43000; port < 43040; port++) {
		uint32_t old = handshake(f, port);

		send_pkt(f, tcp_spec(CLIENT, port, VIP, 80, TCP_SYN), &r);
		ASSERT_TRUE(pkt_daddr(&r.out) != old, "the new connection goes to the other backend");
	}
	ASSERT_EQ(stat_packets(f, BPFNET_STAT_CT_REOPEN), 40, "each counted as a reopen");
}

/* A TCP segment of a flow whose state is gone is balanced again, and counted. */
TEST(tcp_segment_without_state_is_counted_lost)
{
	struct tc_result r;

	svc_set(f, VIP, 80, IPPROTO_TCP, 7, 1, 8080, 100);
	send_pkt(f, tcp_spec(CLIENT, 44000, VIP, 80, TCP_ACK), &r);
	ASSERT_EQ(stat_packets(f, BPFNET_STAT_CT_LOST), 1, "lost state counted");
	send_pkt(f, tcp_spec(CLIENT, 44001, VIP, 80, TCP_SYN), &r);
	ASSERT_EQ(stat_packets(f, BPFNET_STAT_CT_LOST), 1, "a SYN is just new");
}

/* Short UDP flows fill their table; an idle TCP connection's entries live
 * in their own and keep the connection on its backend. */
TEST(udp_flows_cannot_evict_an_idle_tcp_connection)
{
	struct bpfnet_maps small;
	struct bpfnet_lxc_skel *lxc;
	struct bpfnet_svc_key tk = svc_key(VIP, 80, IPPROTO_TCP), uk = svc_key(VIP, 53, IPPROTO_UDP);
	struct bpfnet_backend_entry be[2] = {
		{ 1, { htonl(BACKEND(1)), htons(8080), IPPROTO_TCP, 0 } },
		{ 2, { htonl(BACKEND(2)), htons(8080), IPPROTO_TCP, 0 } },
	};
	struct bpfnet_backend_entry dns = { 3, { htonl(BACKEND(3)), htons(53), IPPROTO_UDP, 0 } };
	struct bpfnet_service_spec web = { .id = 1, .n_backends = 2, .backends = be };
	struct bpfnet_service_spec udp = { .id = 2, .n_backends = 1, .backends = &dns };
	struct pkt_buf in;
	struct tc_result r;
	uint32_t first;
	int err, fd;

	struct bpfnet_endpoint pod = { .ifindex = 1 }; /* test runs are on lo */

	small_maps_open(f, &small, "small_ct", BPFNET_M_CT_ANY, 64);
	ASSERT_OK(bpfnet_endpoint_upsert(&small, htonl(CLIENT), &pod), "client pod");
	for (int b = 1; b <= 3; b++)
		ASSERT_OK(bpfnet_endpoint_upsert(&small, htonl(BACKEND(b)), &pod), "backend pod");
	lxc = bpfnet_lxc_load(&small, &err);
	ASSERT_TRUE(lxc, "datapath on small tables");
	fd = bpf_program__fd(lxc->progs.from_container);
	ASSERT_OK(bpfnet_service_upsert(&small, &tk, &web), "web");
	ASSERT_OK(bpfnet_service_upsert(&small, &uk, &udp), "dns");

	struct pkt_spec s = tcp_spec(CLIENT, 45000, VIP, 80, TCP_SYN);
	pkt_build(&in, &s);
	run_tc_prog(fd, &in, &r);
	first = pkt_daddr(&r.out);
	s = tcp_spec(first, 8080, CLIENT, 45000, TCP_SYN | TCP_ACK);
	pkt_build(&in, &s);
	run_tc_prog(fd, &in, &r);

	for (uint16_t p = 1; p <= 1000; p++) { /* 2,000 entries into a table of 64 */
		s = udp_spec(CLIENT, (uint16_t)(10000 + p), VIP, 53, (const uint8_t *)"q", 1);
		pkt_build(&in, &s);
		run_tc_prog(fd, &in, &r);
	}
	for (int i = 0; i < 20; i++) {
		s = tcp_spec(CLIENT, 45000, VIP, 80, TCP_ACK);
		pkt_build(&in, &s);
		run_tc_prog(fd, &in, &r);
		ASSERT_EQ(pkt_daddr(&r.out), first, "the idle connection keeps its backend");
	}
	__u32 n = 0;
	ASSERT_OK(bpfnet_map_count(&small, BPFNET_M_CT_TCP, &n), "count");
	ASSERT_EQ(n, 2, "both TCP entries survived");
	bpfnet_lxc_skel__destroy(lxc);
	bpfnet_maps_close(&small);
}

/* ---- the agent's sweep ---- */

static void put(struct fixture *f, struct bpfnet_ct_key k, __u16 flags, __u64 idle_s,
		__u32 svc_id, __u32 backend_id, uint32_t backend)
{
	struct bpfnet_ct_value v = {
		.last_seen_ns = ct_clock_ns() - idle_s * 1000000000ull,
		.svc_id = svc_id, .backend_id = backend_id, .flags = flags,
		.backend_addr = htonl(backend), .backend_port = htons(8080),
		.rev_addr = htonl(VIP), .rev_port = htons(80),
	};

	ASSERT_OK(bpfnet_ct_update(&f->maps, &k, &v), "entry");
}

/* A flow of two entries (client port @port) idle for @fwd_idle / @rev_idle s. */
static void put_flow(struct fixture *f, uint8_t proto, uint16_t port, __u16 flags,
		     __u64 fwd_idle, __u64 rev_idle, __u32 backend_id)
{
	put(f, ct_key(CLIENT, port, VIP, 80, proto, BPFNET_CT_SERVICE), flags, fwd_idle, 7,
	    backend_id, BACKEND(1));
	put(f, ct_key(BACKEND(1), 8080, CLIENT, port, proto, BPFNET_CT_REPLY), flags, rev_idle, 7,
	    backend_id, BACKEND(1));
}

static bool has(struct fixture *f, uint8_t proto, uint16_t port)
{
	struct bpfnet_ct_key k = ct_key(CLIENT, port, VIP, 80, proto, BPFNET_CT_SERVICE);
	struct bpfnet_ct_value v;

	return !bpfnet_ct_lookup(&f->maps, &k, &v);
}

TEST(sweep_collects_flows_whose_entries_both_expired)
{
	const __u16 est = BPFNET_CT_F_SEEN_REPLY | BPFNET_CT_F_ESTABLISHED;
	struct ct_sweep_stats st;

	put_flow(f, IPPROTO_TCP, 1, est, 5, 5, 1);                       /* live */
	put_flow(f, IPPROTO_TCP, 2, est | BPFNET_CT_F_RST, 30, 30, 1);   /* closed, 30 s ago */
	put_flow(f, IPPROTO_TCP, 3, est | BPFNET_CT_F_RST, 30, 2, 1);    /* closed, one side fresh */
	put_flow(f, IPPROTO_UDP, 4, BPFNET_CT_F_SEEN_REPLY, 90, 90, 1);  /* silent for 90 s */
	put_flow(f, IPPROTO_UDP, 5, 0, 90, 10, 1);                        /* the server still talks */
	put(f, ct_key(CLIENT, 6, VIP, 80, IPPROTO_UDP, BPFNET_CT_SERVICE), 0, 90, 7, 1, BACKEND(1));

	ASSERT_OK(ct_sweep(&f->maps, CT_SWEEP_ALL, NULL, ct_clock_ns(), &st), "sweep");
	ASSERT_TRUE(has(f, IPPROTO_TCP, 1), "a live connection stays");
	ASSERT_TRUE(!has(f, IPPROTO_TCP, 2), "a closed one goes");
	ASSERT_TRUE(has(f, IPPROTO_TCP, 3), "one whose other entry is fresh stays");
	ASSERT_TRUE(!has(f, IPPROTO_UDP, 4), "a silent UDP flow goes");
	ASSERT_TRUE(has(f, IPPROTO_UDP, 5), "a UDP flow whose server talks stays");
	ASSERT_TRUE(!has(f, IPPROTO_UDP, 6), "an expired entry without a twin goes");
	ASSERT_EQ(st.expired, 5, "2 + 2 + 1 entries collected");
	ASSERT_EQ(ct_entries(f), 6, "the three live flows");
	ASSERT_EQ(st.entries[CT_TABLE_TCP], 4, "TCP entries left");
	ASSERT_EQ(st.entries[CT_TABLE_OTHER], 2, "other entries left");
	ASSERT_EQ(st.flows[CT_TABLE_TCP][BPFNET_CT_STATE_ESTABLISHED], 1, "established");
	ASSERT_EQ(st.flows[CT_TABLE_TCP][BPFNET_CT_STATE_CLOSED], 1, "closed, in flight");
	ASSERT_EQ(st.flows[CT_TABLE_OTHER][BPFNET_CT_STATE_UNREPLIED], 1, "unreplied");
}

/* Freed ids: non-TCP flows naming them go at once; TCP connections stay
 * (they name backend and VIP by address). */
TEST(sweep_flushes_non_tcp_flows_of_freed_ids)
{
	const __u32 svc[] = { 7 }, be[] = { 9 };
	struct ct_ids freed = { .be = be, .n_be = 1 };
	struct ct_sweep_stats st;

	put_flow(f, IPPROTO_UDP, 1, 0, 1, 1, 9);
	put_flow(f, IPPROTO_UDP, 2, 0, 1, 1, 8);
	put_flow(f, IPPROTO_TCP, 3, 0, 1, 1, 9);
	ASSERT_OK(ct_sweep(&f->maps, CT_SWEEP_OTHER, &freed, ct_clock_ns(), &st), "by backend");
	ASSERT_TRUE(!has(f, IPPROTO_UDP, 1), "the UDP flow of the freed backend");
	ASSERT_TRUE(has(f, IPPROTO_UDP, 2), "another backend's");
	ASSERT_TRUE(has(f, IPPROTO_TCP, 3), "a TCP connection stays");
	ASSERT_EQ(st.flushed, 2, "both entries of the flow");

	freed = (struct ct_ids){ .svc = svc, .n_svc = 1 };
	ASSERT_OK(ct_sweep(&f->maps, CT_SWEEP_ALL, &freed, ct_clock_ns(), &st), "by service");
	ASSERT_TRUE(!has(f, IPPROTO_UDP, 2), "UDP flows of the freed service");
	ASSERT_TRUE(has(f, IPPROTO_TCP, 3), "TCP still stays");
}
