// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Per-packet LB (bpf_lxc.c from_container) driven with BPF_PROG_TEST_RUN. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>

#include "testutil.h"

/* The packet we expect after DNAT/SNAT: the input rebuilt with the new
 * tuple, so every byte (incl. both checksums) is compared. */
static void expect_rewritten(const struct tc_result *r, struct pkt_spec s, const char *what)
{
	struct pkt_buf want;

	pkt_build(&want, &s);
	ASSERT_EQ(r->out.len, want.len, what);
	ASSERT_MEM_EQ(r->out.data, want.data, want.len, what);
	ASSERT_CSUMS(&r->out, what);
}

/* The same, handed to a local pod: redirected, as one routed hop. */
static void expect_delivered(const struct tc_result *r, struct pkt_spec s, const char *what)
{
	struct pkt_buf want;

	ASSERT_EQ(r->retval, TC_ACT_REDIRECT, what);
	pkt_build(&want, &s);
	pkt_as_delivered(&want);
	ASSERT_EQ(r->out.len, want.len, what);
	ASSERT_MEM_EQ(r->out.data, want.data, want.len, what);
	ASSERT_CSUMS(&r->out, what);
}

TEST(tcp_syn_to_vip_is_dnated_with_conntrack)
{
	struct pkt_spec s = tcp_spec(CLIENT, 40000, VIP, 80, TCP_SYN);
	struct bpfnet_ct_value ct;
	struct tc_result r;
	struct pkt_buf in;

	svc_set(f, VIP, 80, IPPROTO_TCP, 7, 1, 8080, 100);
	pkt_build(&in, &s);
	run_tc(f, &in, &r);
	ASSERT_EQ(r.retval, TC_ACT_OK, "verdict");
	s.daddr = BACKEND(1);
	s.dport = 8080;
	expect_rewritten(&r, s, "DNATed SYN");

	ASSERT_OK(ct_get(f, CLIENT, VIP, 40000, 80, IPPROTO_TCP, BPFNET_CT_SERVICE, &ct),
		  "service conntrack entry");
	ASSERT_EQ(ct.backend_id, 101, "backend in ct");
	ASSERT_EQ(ct.svc_id, 7, "service in ct");
	ASSERT_EQ(ct.flags & BPFNET_CT_F_SEEN_REPLY, 0, "no reply yet");
	ASSERT_OK(ct_get(f, BACKEND(1), CLIENT, 8080, 40000, IPPROTO_TCP, BPFNET_CT_REPLY, &ct),
		  "reply conntrack entry");
	ASSERT_EQ(ct.svc_id, 7, "service in reply ct");
	ASSERT_EQ(ct_entries(f), 2, "ct entries");
	ASSERT_EQ(stat_packets(f, BPFNET_STAT_LB_NEW), 1, "lb_new counter");
	ASSERT_EQ(stat_packets(f, BPFNET_STAT_LB_CT_HIT), 0, "ct_hit counter");
}

TEST(established_flow_sticks_to_its_backend)
{
	struct pkt_spec s = tcp_spec(CLIENT, 40001, VIP, 80, TCP_SYN);
	struct tc_result r;
	struct pkt_buf in;
	uint32_t first;

	svc_set(f, VIP, 80, IPPROTO_TCP, 7, 8, 8080, 100);
	pkt_build(&in, &s);
	run_tc(f, &in, &r);
	first = pkt_daddr(&r.out);
	s.tcp_flags = TCP_ACK;
	s.payload = (const uint8_t *)"GET / HTTP/1.0\r\n\r\n";
	s.payload_len = 18;
	pkt_build(&in, &s);
	for (int i = 0; i < 50; i++) {
		run_tc(f, &in, &r);
		ASSERT_EQ(r.retval, TC_ACT_OK, "verdict");
		ASSERT_EQ(pkt_daddr(&r.out), first, "same backend for every packet of the flow");
		ASSERT_EQ(pkt_dport(&r.out), 8080, "backend port");
		ASSERT_CSUMS(&r.out, "ACK with payload");
	}
	ASSERT_EQ(stat_packets(f, BPFNET_STAT_LB_NEW), 1, "one new flow");
	ASSERT_EQ(stat_packets(f, BPFNET_STAT_LB_CT_HIT), 50, "ct hits");
}

TEST(reply_from_backend_is_reverse_nated)
{
	struct pkt_spec s = tcp_spec(CLIENT, 40002, VIP, 80, TCP_SYN);
	struct bpfnet_ct_value ct;
	struct tc_result r;
	struct pkt_buf in;

	svc_set(f, VIP, 80, IPPROTO_TCP, 7, 1, 8080, 100);
	pkt_build(&in, &s);
	run_tc(f, &in, &r);

	s = tcp_spec(BACKEND(1), 8080, CLIENT, 40002, TCP_SYN | TCP_ACK);
	pkt_build(&in, &s);
	run_tc(f, &in, &r);
	ASSERT_EQ(r.retval, TC_ACT_OK, "verdict");
	s.saddr = VIP;
	s.sport = 80;
	expect_rewritten(&r, s, "reverse-NATed SYN-ACK");
	ASSERT_EQ(stat_packets(f, BPFNET_STAT_REVNAT), 1, "revnat counter");
	ASSERT_OK(ct_get(f, BACKEND(1), CLIENT, 8080, 40002, IPPROTO_TCP, BPFNET_CT_REPLY, &ct), "ct");
	ASSERT_TRUE(ct.flags & BPFNET_CT_F_SEEN_REPLY, "reply entry saw the reply");
	/* the service entry learns of it from the client, whose ACK follows it */
	s = tcp_spec(CLIENT, 40002, VIP, 80, TCP_ACK);
	pkt_build(&in, &s);
	run_tc(f, &in, &r);
	ASSERT_OK(ct_get(f, CLIENT, VIP, 40002, 80, IPPROTO_TCP, BPFNET_CT_SERVICE, &ct), "ct");
	ASSERT_TRUE(ct.flags & BPFNET_CT_F_SEEN_REPLY, "service entry learned of the reply");
}

TEST(udp_query_and_reply_are_translated)
{
	static const uint8_t query[] = "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
				       "\x07" "example\x03" "com\x00\x00\x01\x00\x01";
	struct pkt_spec s = udp_spec(CLIENT, 5353, VIP, 53, query, sizeof(query) - 1);
	struct tc_result r;
	struct pkt_buf in;

	svc_set(f, VIP, 53, IPPROTO_UDP, 9, 1, 53, 200);
	pkt_build(&in, &s);
	run_tc(f, &in, &r);
	ASSERT_EQ(r.retval, TC_ACT_OK, "query verdict");
	s.daddr = BACKEND(1);
	expect_rewritten(&r, s, "DNATed query");

	s = udp_spec(BACKEND(1), 53, CLIENT, 5353, query, sizeof(query) - 1);
	pkt_build(&in, &s);
	run_tc(f, &in, &r);
	ASSERT_EQ(r.retval, TC_ACT_OK, "reply verdict");
	s.saddr = VIP;
	expect_rewritten(&r, s, "reply from the VIP");
}

TEST(udp_zero_checksum_stays_zero)
{
	struct pkt_spec s = udp_spec(CLIENT, 5353, VIP, 53, (const uint8_t *)"abcd", 4);
	struct tc_result r;
	struct pkt_buf in;

	s.udp_zero_csum = 1;
	svc_set(f, VIP, 53, IPPROTO_UDP, 9, 1, 5300, 200);
	pkt_build(&in, &s);
	run_tc(f, &in, &r);
	ASSERT_EQ(r.retval, TC_ACT_OK, "verdict");
	s.daddr = BACKEND(1);
	s.dport = 5300;
	expect_rewritten(&r, s, "DNAT keeps checksum 0");
}

/* The backend answers a translated UDP flow with port unreachable; the
 * client must see it come from the VIP about a packet it sent to the VIP. */
TEST(icmp_error_from_backend_is_reverse_translated)
{
	const uint8_t payload[] = "query";
	struct pkt_spec q = udp_spec(CLIENT, 5353, VIP, 53, payload, 5);
	struct pkt_buf in, quote, want;
	struct tc_result r;

	svc_set(f, VIP, 53, IPPROTO_UDP, 9, 1, 5300, 200);
	pkt_build(&in, &q);
	run_tc(f, &in, &r);

	/* what the backend received, quoted whole so its checksum is checkable */
	memcpy(quote.data, r.out.data + 14, r.out.len - 14);
	quote.len = r.out.len - 14;
	pkt_build_icmp_error(&in, BACKEND(1), CLIENT, 3, 3, quote.data, quote.len);
	run_tc(f, &in, &r);
	ASSERT_EQ(r.retval, TC_ACT_OK, "verdict");

	/* the original query, as the client sent it, quoted by the VIP */
	pkt_build(&quote, &q);
	pkt_build_icmp_error(&want, VIP, CLIENT, 3, 3, quote.data + 14, quote.len - 14);
	ASSERT_EQ(r.out.len, want.len, "length");
	ASSERT_MEM_EQ(r.out.data, want.data, want.len, "translated ICMP error");
	ASSERT_CSUMS(&r.out, "outer");
	ASSERT_TRUE(!pkt_check_csums(r.out.data + 14 + 28, r.out.len - 14 - 28),
		    "quoted packet checksums");
	ASSERT_EQ(stat_packets(f, BPFNET_STAT_ICMP_ERR_XLATE), 1, "icmp xlate counter");
}

/* A TCP quote cut after 8 bytes has no checksum to fix; the rest must be right. */
TEST(icmp_error_with_truncated_tcp_quote)
{
	struct pkt_spec s = tcp_spec(CLIENT, 40003, VIP, 80, TCP_SYN);
	struct pkt_buf in, orig, want;
	struct tc_result r;

	svc_set(f, VIP, 80, IPPROTO_TCP, 7, 1, 8080, 100);
	pkt_build(&orig, &s);
	run_tc(f, &orig, &r);
	/* a router between node and backend: time exceeded, 8 bytes of TCP */
	pkt_build_icmp_error(&in, IP4(10, 244, 9, 9), CLIENT, 11, 0, r.out.data + 14, 28);
	run_tc(f, &in, &r);
	ASSERT_EQ(r.retval, TC_ACT_OK, "verdict");
	pkt_build_icmp_error(&want, IP4(10, 244, 9, 9), CLIENT, 11, 0, orig.data + 14, 28);
	ASSERT_MEM_EQ(r.out.data, want.data, want.len, "router's error quotes the VIP");
	ASSERT_CSUMS(&r.out, "outer");
}

/* The client rejects a reverse-NATed reply; the error goes to the backend. */
TEST(icmp_error_from_client_goes_to_backend)
{
	struct pkt_spec q = udp_spec(CLIENT, 5353, VIP, 53, (const uint8_t *)"q", 1);
	struct pkt_spec reply = udp_spec(BACKEND(1), 5300, CLIENT, 5353, (const uint8_t *)"a", 1);
	struct pkt_buf in, want, quote;
	struct tc_result r;

	svc_set(f, VIP, 53, IPPROTO_UDP, 9, 1, 5300, 200);
	pkt_build(&in, &q);
	run_tc(f, &in, &r);
	pkt_build(&in, &reply);
	run_tc(f, &in, &r); /* now VIP:53 -> CLIENT:5353 */
	memcpy(quote.data, r.out.data + 14, r.out.len - 14);
	quote.len = r.out.len - 14;

	pkt_build_icmp_error(&in, CLIENT, VIP, 3, 3, quote.data, quote.len);
	run_tc(f, &in, &r);
	ASSERT_EQ(r.retval, TC_ACT_OK, "verdict");
	pkt_build(&quote, &reply);
	pkt_build_icmp_error(&want, CLIENT, BACKEND(1), 3, 3, quote.data + 14, quote.len - 14);
	ASSERT_MEM_EQ(r.out.data, want.data, want.len, "error about the backend's reply");
	ASSERT_CSUMS(&r.out, "outer");
}

/* A pod connecting to a service that picks the pod itself (socket LB off).
 * Its own address as source would make its stack answer itself, unseen by
 * the reverse NAT; the flow comes from the hairpin address instead. */
TEST(pod_reaching_itself_through_a_service_is_hairpinned)
{
	struct pkt_spec s = tcp_spec(BACKEND(1), 40000, VIP, 80, TCP_SYN);
	struct bpfnet_ct_value ct;
	struct tc_result r;
	struct pkt_buf in;

	svc_set(f, VIP, 80, IPPROTO_TCP, 7, 1, 8080, 100);
	pkt_build(&in, &s);
	run_tc(f, &in, &r);
	s.saddr = BPFNET_HAIRPIN_ADDR;
	s.daddr = BACKEND(1);
	s.dport = 8080;
	expect_delivered(&r, s, "SYN from the hairpin address, straight back into the pod");
	ASSERT_EQ(stat_packets(f, BPFNET_STAT_HAIRPIN), 1, "hairpin counter");
	ASSERT_OK(ct_get(f, BACKEND(1), VIP, 40000, 80, IPPROTO_TCP, BPFNET_CT_SERVICE, &ct),
		  "service entry keyed by the pod's own tuple");
	ASSERT_TRUE(ct.flags & BPFNET_CT_F_HAIRPIN, "service entry marked hairpin");
	ASSERT_OK(ct_get(f, BACKEND(1), BPFNET_HAIRPIN_ADDR, 8080, 40000, IPPROTO_TCP,
			 BPFNET_CT_REPLY, &ct), "reply entry towards the hairpin address");
	ASSERT_TRUE(ct.flags & BPFNET_CT_F_HAIRPIN, "reply entry marked hairpin");

	/* the pod answers the hairpin address; it gets the answer from the VIP */
	s = tcp_spec(BACKEND(1), 8080, BPFNET_HAIRPIN_ADDR, 40000, TCP_SYN | TCP_ACK);
	pkt_build(&in, &s);
	run_tc(f, &in, &r);
	s.saddr = VIP;
	s.sport = 80;
	s.daddr = BACKEND(1);
	expect_delivered(&r, s, "SYN-ACK from the VIP to the pod");
	ASSERT_EQ(stat_packets(f, BPFNET_STAT_REVNAT), 1, "revnat counter");
	ASSERT_OK(ct_get(f, BACKEND(1), BPFNET_HAIRPIN_ADDR, 8080, 40000, IPPROTO_TCP,
			 BPFNET_CT_REPLY, &ct), "ct");
	ASSERT_TRUE(ct.flags & BPFNET_CT_F_SEEN_REPLY, "reply entry saw the reply");

	/* both directions go on straight back out of its veth */
	s = tcp_spec(BACKEND(1), 40000, VIP, 80, TCP_ACK);
	pkt_build(&in, &s);
	run_tc(f, &in, &r);
	ASSERT_EQ(r.retval, TC_ACT_REDIRECT, "ACK redirected to the pod's own veth");
	ASSERT_EQ(pkt_saddr(&r.out), BPFNET_HAIRPIN_ADDR, "ACK source");
	ASSERT_EQ(pkt_daddr(&r.out), BACKEND(1), "ACK destination");
	ASSERT_CSUMS(&r.out, "delivered ACK");
	s = tcp_spec(BACKEND(1), 8080, BPFNET_HAIRPIN_ADDR, 40000, TCP_ACK);
	pkt_build(&in, &s);
	run_tc(f, &in, &r);
	ASSERT_EQ(r.retval, TC_ACT_REDIRECT, "reply redirected to the pod's own veth");
	ASSERT_EQ(pkt_saddr(&r.out), VIP, "reply source");
	ASSERT_EQ(pkt_daddr(&r.out), BACKEND(1), "reply destination");
	ASSERT_CSUMS(&r.out, "delivered reply");
	ASSERT_EQ(stat_packets(f, BPFNET_STAT_HAIRPIN), 2, "hairpin counter");
}

/* ICMP errors of a hairpinned UDP flow, both ways. */
TEST(icmp_errors_of_a_hairpinned_flow_are_translated)
{
	struct pkt_spec q = udp_spec(BACKEND(1), 5353, VIP, 53, (const uint8_t *)"query", 5);
	struct pkt_spec seen = udp_spec(BPFNET_HAIRPIN_ADDR, 5353, BACKEND(1), 5300,
					(const uint8_t *)"query", 5);
	struct pkt_spec answer = udp_spec(BACKEND(1), 5300, BPFNET_HAIRPIN_ADDR, 5353,
					  (const uint8_t *)"a", 1);
	struct pkt_spec answered = udp_spec(VIP, 53, BACKEND(1), 5353, (const uint8_t *)"a", 1);
	struct pkt_buf in, quote, want;
	struct tc_result r;

	svc_set(f, VIP, 53, IPPROTO_UDP, 9, 1, 5300, 200);
	pkt_build(&in, &q);
	run_tc(f, &in, &r);
	expect_delivered(&r, seen, "hairpinned query");

	/* the pod's server side rejects the query: the pod's client side must
	 * get it from the VIP, about the query it sent to the VIP */
	pkt_build(&quote, &seen);
	pkt_build_icmp_error(&in, BACKEND(1), BPFNET_HAIRPIN_ADDR, 3, 3, quote.data + 14,
			     quote.len - 14);
	run_tc(f, &in, &r);
	ASSERT_EQ(r.retval, TC_ACT_OK, "error verdict");
	pkt_build(&quote, &q);
	pkt_build_icmp_error(&want, VIP, BACKEND(1), 3, 3, quote.data + 14, quote.len - 14);
	ASSERT_EQ(r.out.len, want.len, "length");
	ASSERT_MEM_EQ(r.out.data, want.data, want.len, "error about the query, from the VIP");
	ASSERT_CSUMS(&r.out, "outer");
	ASSERT_TRUE(!pkt_check_csums(r.out.data + 14 + 28, r.out.len - 14 - 28),
		    "quoted packet checksums");

	/* the client side rejects the answer: the server side must get the
	 * error about the answer it sent to the hairpin address */
	pkt_build(&in, &answer);
	run_tc(f, &in, &r);
	expect_delivered(&r, answered, "hairpinned answer");
	pkt_build(&quote, &answered);
	pkt_build_icmp_error(&in, BACKEND(1), VIP, 3, 3, quote.data + 14, quote.len - 14);
	run_tc(f, &in, &r);
	ASSERT_EQ(r.retval, TC_ACT_OK, "second error verdict");
	pkt_build(&quote, &answer);
	pkt_build_icmp_error(&want, BPFNET_HAIRPIN_ADDR, BACKEND(1), 3, 3, quote.data + 14,
			     quote.len - 14);
	ASSERT_EQ(r.out.len, want.len, "length");
	ASSERT_MEM_EQ(r.out.data, want.data, want.len, "error about the answer, from the hairpin address");
	ASSERT_CSUMS(&r.out, "outer");
	ASSERT_EQ(stat_packets(f, BPFNET_STAT_ICMP_ERR_XLATE), 2, "icmp xlate counter");
}

TEST(ip_options_are_translated_at_the_right_offsets)
{
	static const uint8_t ra[4] = { 0x94, 0x04, 0x00, 0x00 }; /* router alert */
	struct pkt_spec s = tcp_spec(CLIENT, 40004, VIP, 80, TCP_SYN);
	struct tc_result r;
	struct pkt_buf in;

	s.ip_options = ra;
	s.ip_options_len = sizeof(ra);
	svc_set(f, VIP, 80, IPPROTO_TCP, 7, 1, 8080, 100);
	pkt_build(&in, &s);
	run_tc(f, &in, &r);
	ASSERT_EQ(r.retval, TC_ACT_OK, "verdict");
	s.daddr = BACKEND(1);
	s.dport = 8080;
	expect_rewritten(&r, s, "DNAT with IP options");
	ASSERT_EQ(stat_packets(f, BPFNET_STAT_IP_OPTIONS), 1, "ip options counter");
}

/* The fragment at byte offset 40 of the UDP datagram @s (id @s.ip_id):
 * an IPv4 header and 16 raw payload bytes, no ports. */
static void later_fragment(struct pkt_buf *out, struct pkt_spec s, const uint8_t *payload)
{
	uint8_t *ip;
	uint16_t c;

	s.frag_off = 5; /* 40 bytes, in 8-byte units */
	pkt_build(out, &s); /* the builder adds a UDP header: overwrite it as data */
	ip = out->data + 14;
	memcpy(ip + 20, payload, 16);
	out->len = 14 + 20 + 16;
	ip[2] = 0;
	ip[3] = 36;
	ip[10] = ip[11] = 0;
	c = csum16(ip, 20, 0);
	memcpy(ip + 10, &c, 2);
}

/* A UDP datagram in two fragments: the first has the ports, the second
 * only the address; both must go to the same backend. */
TEST(fragments_follow_the_first_fragment)
{
	uint8_t payload[64];
	struct pkt_spec s;
	struct tc_result r;
	struct pkt_buf in, second;

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)i;
	s = udp_spec(CLIENT, 6000, VIP, 53, payload, 32);
	svc_set(f, VIP, 53, IPPROTO_UDP, 9, 4, 5300, 200);
	s.ip_id = 0x4242;
	s.frag_off = 0x2000; /* MF */
	pkt_build(&in, &s);
	run_tc(f, &in, &r);
	ASSERT_EQ(r.retval, TC_ACT_OK, "first fragment verdict");
	ASSERT_EQ(pkt_dport(&r.out), 5300, "first fragment port");
	uint32_t backend = pkt_daddr(&r.out);
	ASSERT_TRUE((backend & 0xffffff00) == IP4(10, 244, 1, 0), "first fragment to a backend");

	later_fragment(&second, s, payload);
	run_tc(f, &second, &r);
	ASSERT_EQ(r.retval, TC_ACT_OK, "second fragment verdict");
	ASSERT_EQ(pkt_daddr(&r.out), backend, "second fragment to the same backend");
	ASSERT_EQ(csum16(r.out.data + 14, 20, 0), 0, "second fragment IP checksum");
	ASSERT_MEM_EQ(r.out.data + 34, payload, 16, "fragment payload untouched");
	ASSERT_EQ(stat_packets(f, BPFNET_STAT_FRAG_XLATE), 2, "fragments translated");

	/* the flow's conntrack entry is gone (evicted): the rest of the
	 * datagram has nowhere to go, and must not leave for the VIP */
	ASSERT_EQ(ct_entries(f), 2, "service and reply entries");
	struct bpfnet_ct_key k = { .saddr = htonl(CLIENT), .daddr = htonl(VIP), .sport = htons(6000),
				   .dport = htons(53), .proto = IPPROTO_UDP,
				   .dir = BPFNET_CT_SERVICE };
	ASSERT_OK(bpf_map_delete_elem(f->maps.fd[BPFNET_M_CT_ANY], &k), "evict the flow");
	run_tc(f, &second, &r);
	ASSERT_EQ(r.retval, TC_ACT_SHOT, "fragment of an evicted flow dropped");
	ASSERT_EQ(drop_packets(f, BPFNET_DROP_FRAG_FIRST_UNSEEN), 1, "counted");
}

/* A later fragment to a service address whose first was never seen cannot
 * be placed: dropped and counted, never passed on to the VIP. To any other
 * address it passes untouched, as it always could. */
TEST(orphan_fragment_to_a_vip_is_dropped_elsewhere_passes)
{
	uint8_t payload[32] = { 1, 2, 3, 4 };
	struct pkt_spec s = udp_spec(CLIENT, 6001, VIP, 53, payload, 32);
	struct tc_result r;
	struct pkt_buf orphan;
	__u32 services;

	svc_set(f, VIP, 53, IPPROTO_UDP, 9, 2, 5300, 200);
	ASSERT_OK(bpfnet_vip_get(&f->maps, htonl(VIP), &services), "VIP in the address set");
	s.ip_id = 0x99;
	later_fragment(&orphan, s, payload);
	run_tc(f, &orphan, &r);
	ASSERT_EQ(r.retval, TC_ACT_SHOT, "orphan to the VIP: dropped");
	ASSERT_EQ(drop_packets(f, BPFNET_DROP_FRAG_FIRST_UNSEEN), 1, "frag_first_unseen counter");
	ASSERT_EQ(stat_packets(f, BPFNET_STAT_FRAG_NO_STATE), 0, "not counted as passed");

	s.daddr = IP4(10, 244, 1, 77); /* a pod, not a service address */
	later_fragment(&orphan, s, payload);
	run_tc(f, &orphan, &r);
	ASSERT_EQ(r.retval, TC_ACT_OK, "orphan to a pod: passes");
	ASSERT_MEM_EQ(r.out.data, orphan.data, orphan.len, "untouched");
	ASSERT_EQ(stat_packets(f, BPFNET_STAT_FRAG_NO_STATE), 1, "frag_no_state counter");
	ASSERT_EQ(drop_packets(f, BPFNET_DROP_FRAG_FIRST_UNSEEN), 1, "no more drops");
}

/* A datagram to a service address at a port no service has: nothing to
 * translate, and its later fragments must still pass (the first one tells
 * them so), not be taken for orphans of a service flow. */
TEST(fragments_to_a_vip_port_without_service_pass)
{
	uint8_t payload[64] = { 9, 8, 7 };
	struct pkt_spec s = udp_spec(CLIENT, 6002, VIP, 5353, payload, 32);
	struct tc_result r;
	struct pkt_buf first, second;

	svc_set(f, VIP, 53, IPPROTO_UDP, 9, 2, 5300, 200);
	s.ip_id = 0x77;
	s.frag_off = 0x2000; /* MF */
	pkt_build(&first, &s);
	run_tc(f, &first, &r);
	ASSERT_EQ(r.retval, TC_ACT_OK, "first fragment verdict");
	ASSERT_MEM_EQ(r.out.data, first.data, first.len, "first fragment untouched");
	later_fragment(&second, s, payload);
	run_tc(f, &second, &r);
	ASSERT_EQ(r.retval, TC_ACT_OK, "second fragment verdict");
	ASSERT_MEM_EQ(r.out.data, second.data, second.len, "second fragment untouched");
	ASSERT_EQ(drop_packets(f, BPFNET_DROP_FRAG_FIRST_UNSEEN), 0, "no drop");
	ASSERT_EQ(stat_packets(f, BPFNET_STAT_FRAG_XLATE), 0, "nothing translated");
}

TEST(non_service_traffic_passes_untouched)
{
	struct pkt_spec s = tcp_spec(CLIENT, 40005, IP4(10, 244, 1, 77), 80, TCP_SYN);
	struct tc_result r;
	struct pkt_buf in;

	svc_set(f, VIP, 80, IPPROTO_TCP, 7, 1, 8080, 100);
	pkt_build(&in, &s);
	run_tc(f, &in, &r);
	ASSERT_EQ(r.retval, TC_ACT_OK, "verdict");
	ASSERT_EQ(r.out.len, in.len, "length");
	ASSERT_MEM_EQ(r.out.data, in.data, in.len, "untouched");
	s = tcp_spec(CLIENT, 40005, VIP, 81, TCP_SYN); /* VIP, other port */
	pkt_build(&in, &s);
	run_tc(f, &in, &r);
	ASSERT_MEM_EQ(r.out.data, in.data, in.len, "VIP on a port that is no service");
	ASSERT_EQ(ct_entries(f), 0, "no conntrack for non-service flows");
	ASSERT_EQ(stat_packets(f, BPFNET_STAT_PASS), 2, "pass counter");
}

TEST(non_ipv4_passes_untouched)
{
	struct pkt_buf in = { .len = 60 };
	struct tc_result r;

	memset(in.data, 0xab, in.len);
	in.data[12] = 0x08; /* ARP */
	in.data[13] = 0x06;
	run_tc(f, &in, &r);
	ASSERT_EQ(r.retval, TC_ACT_OK, "verdict");
	ASSERT_MEM_EQ(r.out.data, in.data, in.len, "untouched");
}

TEST(truncated_and_invalid_headers_are_dropped)
{
	struct pkt_spec s = tcp_spec(CLIENT, 40006, VIP, 80, TCP_SYN);
	struct tc_result r;
	struct pkt_buf in;

	svc_set(f, VIP, 80, IPPROTO_TCP, 7, 1, 8080, 100);

	/* test_run needs a whole 20-byte header, so the cut header is one that
	 * claims 60 bytes of options in a 40-byte packet */
	pkt_build(&in, &s);
	in.data[14] = 0x4f;
	run_tc(f, &in, &r);
	ASSERT_EQ(r.retval, TC_ACT_SHOT, "IP header longer than the packet");

	pkt_build(&in, &s);
	in.len = 14 + 20 + 10; /* TCP header cut, tot_len still claims 40 */
	run_tc(f, &in, &r);
	ASSERT_EQ(r.retval, TC_ACT_SHOT, "tot_len beyond the packet");

	pkt_build(&in, &s);
	in.data[14] = 0x44; /* ihl 4 */
	run_tc(f, &in, &r);
	ASSERT_EQ(r.retval, TC_ACT_SHOT, "ihl < 5");

	pkt_build(&in, &s);
	in.data[14 + 20 + 12] = 0x30; /* TCP data offset 3 */
	run_tc(f, &in, &r);
	ASSERT_EQ(r.retval, TC_ACT_SHOT, "TCP doff < 5");

	ASSERT_EQ(drop_packets(f, BPFNET_DROP_MALFORMED), 4, "malformed drops");
	ASSERT_EQ(ct_entries(f), 0, "nothing tracked");
}

/* Deterministic garbage: never a crash, never a conntrack entry. */
TEST(garbage_packets_are_harmless)
{
	struct pkt_buf in;
	struct tc_result r;
	uint32_t x = 0x12345678;

	svc_set(f, VIP, 80, IPPROTO_TCP, 7, 1, 8080, 100);
	for (int n = 0; n < 500; n++) {
		in.len = 34 + (x % 100); /* test_run wants a whole IP header */
		for (size_t i = 0; i < in.len; i++) {
			x = x * 1103515245 + 12345;
			in.data[i] = (uint8_t)(x >> 16);
		}
		in.data[12] = 0x08;
		in.data[13] = 0x00;
		if (n & 1) { /* plausible header aimed at the service */
			struct pkt_spec s = tcp_spec(CLIENT, 1, VIP, 80, (uint8_t)x);
			struct pkt_buf good;

			pkt_build(&good, &s);
			memcpy(in.data, good.data, 14 + 20);
		}
		run_tc(f, &in, &r);
		ASSERT_TRUE(r.retval == TC_ACT_OK || r.retval == TC_ACT_SHOT ||
				    r.retval == TC_ACT_REDIRECT,
			    "verdict is a known one");
	}
}

TEST(no_backend_tcp_gets_rst)
{
	struct pkt_spec s = tcp_spec(CLIENT, 40007, VIP, 80, TCP_SYN);
	struct tc_result r;
	struct pkt_buf in;
	uint8_t *ip, *tcp;
	uint32_t seq, ack;

	svc_set(f, VIP, 80, IPPROTO_TCP, 7, 0, 0, 0);
	s.seq = 0xfffffff0; /* ack must wrap */
	pkt_build(&in, &s);
	run_tc(f, &in, &r);
	ASSERT_EQ(r.retval, TC_ACT_REDIRECT, "sent back to the pod");
	ASSERT_EQ(r.out.len, 54, "bare RST");
	ASSERT_MEM_EQ(r.out.data, in.data + 6, 6, "dst MAC = sender");
	ASSERT_MEM_EQ(r.out.data + 6, in.data, 6, "src MAC = old dst");
	ASSERT_EQ(pkt_saddr(&r.out), VIP, "from the VIP");
	ASSERT_EQ(pkt_daddr(&r.out), CLIENT, "to the client");
	ASSERT_EQ(pkt_sport(&r.out), 80, "from the service port");
	ASSERT_EQ(pkt_dport(&r.out), 40007, "to the client port");
	ip = r.out.data + 14;
	tcp = ip + 20;
	ASSERT_EQ(ip[9], IPPROTO_TCP, "protocol");
	ASSERT_EQ(tcp[13], TCP_RST | TCP_ACK, "RST|ACK");
	memcpy(&seq, tcp + 4, 4);
	memcpy(&ack, tcp + 8, 4);
	ASSERT_EQ(ntohl(seq), 0, "seq");
	ASSERT_EQ(ntohl(ack), 0xfffffff1, "ack = seq + 1 for the SYN");
	ASSERT_CSUMS(&r.out, "RST");
	ASSERT_EQ(drop_packets(f, BPFNET_DROP_NO_BACKEND), 1, "no_backend counter");
	ASSERT_EQ(stat_packets(f, BPFNET_STAT_REJECT_TCP_RST), 1, "rst counter");

	s.tcp_flags = TCP_RST;
	pkt_build(&in, &s);
	run_tc(f, &in, &r);
	ASSERT_EQ(r.retval, TC_ACT_SHOT, "a RST is never answered");
	ASSERT_EQ(ct_entries(f), 0, "nothing tracked");
}

TEST(no_backend_udp_gets_port_unreachable)
{
	static const uint8_t opt[4] = { 0x01, 0x01, 0x01, 0x00 }; /* NOP NOP NOP EOL */
	struct pkt_spec s = udp_spec(CLIENT, 5353, VIP, 53, (const uint8_t *)"0123456789", 10);
	struct tc_result r;
	struct pkt_buf in;

	svc_set(f, VIP, 53, IPPROTO_UDP, 9, 0, 0, 0);
	for (int with_opts = 0; with_opts < 2; with_opts++) {
		size_t ihl = 20 + (with_opts ? 4 : 0);
		uint8_t *icmp;

		s.ip_options = with_opts ? opt : NULL;
		s.ip_options_len = with_opts ? 4 : 0;
		pkt_build(&in, &s);
		run_tc(f, &in, &r);
		ASSERT_EQ(r.retval, TC_ACT_REDIRECT, "sent back to the pod");
		ASSERT_EQ(r.out.len, 14 + 20 + 8 + ihl + 8, "IP + ICMP + quote");
		ASSERT_MEM_EQ(r.out.data, in.data + 6, 6, "dst MAC = sender");
		ASSERT_EQ(pkt_saddr(&r.out), VIP, "from the VIP");
		ASSERT_EQ(pkt_daddr(&r.out), CLIENT, "to the client");
		icmp = r.out.data + 14 + 20;
		ASSERT_EQ(r.out.data[14 + 9], IPPROTO_ICMP, "protocol");
		ASSERT_EQ(icmp[0], 3, "destination unreachable");
		ASSERT_EQ(icmp[1], 3, "port unreachable");
		ASSERT_MEM_EQ(icmp + 8, in.data + 14, ihl + 8, "quotes IP header + 8 bytes");
		ASSERT_CSUMS(&r.out, "ICMP error");
	}
	ASSERT_EQ(stat_packets(f, BPFNET_STAT_REJECT_ICMP), 2, "icmp reject counter");
}

/* The service's backend set becomes the one backend @addr:@bport at @id. */
static void svc_set_one(struct fixture *f, uint32_t vip, uint16_t port, uint8_t proto,
			uint32_t svc_id, uint32_t id, uint32_t addr, uint16_t bport)
{
	struct bpfnet_svc_key key = svc_key(vip, port, proto);
	struct bpfnet_backend_entry nb = {
		.id = id, .be = { .addr = htonl(addr), .port = htons(bport), .proto = proto },
	};
	struct bpfnet_service_spec spec = { .id = svc_id, .n_backends = 1, .backends = &nb };

	ASSERT_OK(bpfnet_service_upsert(&f->maps, &key, &spec), "replace the backend set");
}

/* A UDP flow from @sport to VIP:53, on the service's one backend (id 201). */
static void udp_flow_on_backend_201(struct fixture *f, uint16_t sport, struct pkt_buf *in)
{
	struct pkt_spec s = udp_spec(CLIENT, sport, VIP, 53, (const uint8_t *)"x", 1);
	struct tc_result r;

	svc_set(f, VIP, 53, IPPROTO_UDP, 9, 1, 53, 200);
	pkt_build(in, &s);
	run_tc(f, in, &r);
	ASSERT_EQ(pkt_daddr(&r.out), BACKEND(1), "old backend at id 201");
}

TEST(removed_backend_is_replaced_for_existing_flow)
{
	struct tc_result r;
	struct pkt_buf in;

	udp_flow_on_backend_201(f, 7000, &in);
	svc_set_one(f, VIP, 53, IPPROTO_UDP, 9, 300, IP4(10, 244, 2, 1), 53);
	ASSERT_OK(bpfnet_backend_delete(&f->maps, 201), "delete old backend");
	run_tc(f, &in, &r);
	ASSERT_EQ(pkt_daddr(&r.out), IP4(10, 244, 2, 1), "flow moved to the live backend");
	ASSERT_EQ(stat_packets(f, BPFNET_STAT_LB_NEW), 2, "re-selected");
}

/* A UDP flow whose backend id now names another backend moves on too: the
 * entry's address says the id is not its backend any more. */
TEST(udp_flow_moves_when_its_backend_id_is_reused)
{
	struct tc_result r;
	struct pkt_buf in;

	udp_flow_on_backend_201(f, 7001, &in);
	svc_set_one(f, VIP, 53, IPPROTO_UDP, 9, 201, IP4(10, 244, 2, 1), 53);
	run_tc(f, &in, &r);
	ASSERT_EQ(pkt_daddr(&r.out), IP4(10, 244, 2, 1), "the flow follows the service");
	ASSERT_EQ(stat_packets(f, BPFNET_STAT_LB_NEW), 2, "re-selected");
}

TEST(closed_tcp_flow_reopened_by_syn_picks_again)
{
	struct pkt_spec s = tcp_spec(CLIENT, 40008, VIP, 80, TCP_SYN);
	struct bpfnet_ct_value ct;
	struct tc_result r;
	struct pkt_buf in;

	svc_set(f, VIP, 80, IPPROTO_TCP, 7, 1, 8080, 100);
	pkt_build(&in, &s);
	run_tc(f, &in, &r);
	s.tcp_flags = TCP_RST | TCP_ACK;
	pkt_build(&in, &s);
	run_tc(f, &in, &r);
	ASSERT_OK(ct_get(f, CLIENT, VIP, 40008, 80, IPPROTO_TCP, BPFNET_CT_SERVICE, &ct), "ct");
	ASSERT_TRUE(ct.flags & BPFNET_CT_F_RST, "reset recorded");
	s.tcp_flags = TCP_SYN;
	pkt_build(&in, &s);
	run_tc(f, &in, &r);
	ASSERT_EQ(stat_packets(f, BPFNET_STAT_CT_REOPEN), 1, "reopen counter");
	ASSERT_EQ(stat_packets(f, BPFNET_STAT_LB_NEW), 2, "new selection");
	ASSERT_OK(ct_get(f, CLIENT, VIP, 40008, 80, IPPROTO_TCP, BPFNET_CT_SERVICE, &ct), "ct");
	ASSERT_EQ(ct.flags & BPFNET_CT_F_RST, 0, "fresh entry");
}

/* 4000 new flows over 4 backends: each share within 5 sigma of 1000. */
TEST(new_flows_spread_evenly_over_backends)
{
	unsigned int hits[5] = {};
	struct tc_result r;
	struct pkt_buf in;

	svc_set(f, VIP, 80, IPPROTO_TCP, 7, 4, 8080, 100);
	for (int i = 0; i < 4000; i++) {
		struct pkt_spec s = tcp_spec(CLIENT, (uint16_t)(10000 + i), VIP, 80, TCP_SYN);

		pkt_build(&in, &s);
		run_tc(f, &in, &r);
		uint32_t d = pkt_daddr(&r.out);
		ASSERT_TRUE(d >= BACKEND(1) && d <= BACKEND(4), "a backend");
		hits[d - BACKEND(0)]++;
	}
	for (int b = 1; b <= 4; b++)
		if (hits[b] < 863 || hits[b] > 1137) /* sigma = sqrt(4000*.25*.75) = 27.4 */
			FAIL("backend %d got %u of 4000 flows", b, hits[b]);
}

/* Set the TTL of a built packet and fix its IP checksum. */
static void set_ttl(struct pkt_buf *b, uint8_t ttl)
{
	uint8_t *ip = b->data + ETH_HLEN_;
	uint16_t c;

	ip[8] = ttl;
	ip[10] = ip[11] = 0;
	c = csum16(ip, pkt_ihl(b), 0);
	memcpy(ip + 10, &c, 2);
}

/* A packet for a pod registered in endpoint_v1 leaves straight through
 * that pod's veth: MACs of the veth pair, TTL one less, checksum fixed. */
TEST(local_pods_get_packets_redirected_to_their_veth)
{
	static const uint8_t pod_mac[6] = { 0x02, 0, 0, 0, 0, 0x0b };
	static const uint8_t host_mac[6] = { 0x02, 0, 0, 0, 1, 0x0b };
	struct bpfnet_endpoint ep = { .ifindex = 4242 };
	struct pkt_spec s = tcp_spec(CLIENT, 40000, VIP, 80, TCP_SYN);
	struct pkt_buf in, want;
	struct tc_result r;

	memcpy(ep.pod_mac, pod_mac, 6);
	memcpy(ep.host_mac, host_mac, 6);
	svc_set(f, VIP, 80, IPPROTO_TCP, 7, 1, 8080, 100);
	ASSERT_OK(bpfnet_endpoint_upsert(&f->maps, htonl(BACKEND(1)), &ep), "register endpoint");

	/* through the service: DNAT, then delivery */
	pkt_build(&in, &s);
	run_tc(f, &in, &r);
	ASSERT_EQ(r.retval, TC_ACT_REDIRECT, "service flow to a local backend");
	s.daddr = BACKEND(1);
	s.dport = 8080;
	pkt_build(&want, &s);
	set_ttl(&want, 63);
	memcpy(want.data, pod_mac, 6);
	memcpy(want.data + 6, host_mac, 6);
	ASSERT_EQ(r.out.len, want.len, "length");
	ASSERT_MEM_EQ(r.out.data, want.data, want.len, "DNATed and delivered");
	ASSERT_CSUMS(&r.out, "delivered SYN");

	/* pod to pod, no service */
	s = tcp_spec(CLIENT, 40001, BACKEND(1), 8080, TCP_SYN);
	pkt_build(&in, &s);
	run_tc(f, &in, &r);
	ASSERT_EQ(r.retval, TC_ACT_REDIRECT, "pod to local pod");
	ASSERT_MEM_EQ(r.out.data, pod_mac, 6, "destination MAC");
	ASSERT_EQ(r.out.data[ETH_HLEN_ + 8], 63, "TTL");
	ASSERT_CSUMS(&r.out, "pod to pod");
	ASSERT_EQ(stat_packets(f, BPFNET_STAT_LOCAL_DELIVERY), 2, "local_delivery counter");

	/* TTL 1: the kernel must answer time exceeded, so it gets the packet */
	set_ttl(&in, 1);
	run_tc(f, &in, &r);
	ASSERT_EQ(r.retval, TC_ACT_OK, "TTL 1 verdict");
	ASSERT_MEM_EQ(r.out.data, in.data, in.len, "TTL 1 untouched");

	/* an untranslated packet for the pod it came from (its stack never
	 * sends one; hairpinned service flows are another test's) */
	ep.ifindex = 1; /* BPF_PROG_TEST_RUN runs on loopback, ifindex 1 */
	ASSERT_OK(bpfnet_endpoint_upsert(&f->maps, htonl(BACKEND(1)), &ep), "endpoint on lo");
	set_ttl(&in, 64);
	run_tc(f, &in, &r);
	ASSERT_EQ(r.retval, TC_ACT_OK, "packet back to its sender left to the kernel");
	ASSERT_EQ(stat_packets(f, BPFNET_STAT_LOCAL_DELIVERY), 2, "no delivery counted");
}

/* The client opens a connection straight to the backend with the source
 * port of an earlier flow through the service: the backend's SYN-ACK must
 * reach it untranslated, not as if from the VIP. */
TEST(direct_connection_reusing_a_service_flows_tuple)
{
	struct pkt_spec s = tcp_spec(CLIENT, 40000, VIP, 80, TCP_SYN);
	struct bpfnet_ct_value ct;
	struct tc_result r;
	struct pkt_buf in;

	svc_set(f, VIP, 80, IPPROTO_TCP, 7, 1, 8080, 100);
	pkt_build(&in, &s);
	run_tc(f, &in, &r); /* the service flow: DNAT to BACKEND(1):8080 */
	ASSERT_OK(ct_get(f, BACKEND(1), CLIENT, 8080, 40000, IPPROTO_TCP, BPFNET_CT_REPLY, &ct),
		  "reply entry of the service flow");

	/* the same tuple, now direct: its SYN retires the old reply entry */
	s = tcp_spec(CLIENT, 40000, BACKEND(1), 8080, TCP_SYN);
	pkt_build(&in, &s);
	run_tc(f, &in, &r);
	ASSERT_EQ(r.retval, TC_ACT_OK, "direct SYN verdict");
	ASSERT_MEM_EQ(r.out.data, in.data, in.len, "direct SYN untouched");
	ASSERT_TRUE(ct_get(f, BACKEND(1), CLIENT, 8080, 40000, IPPROTO_TCP, BPFNET_CT_REPLY, &ct),
		    "stale reply entry removed");

	s = tcp_spec(BACKEND(1), 8080, CLIENT, 40000, TCP_SYN | TCP_ACK);
	pkt_build(&in, &s);
	run_tc(f, &in, &r);
	ASSERT_EQ(r.retval, TC_ACT_OK, "SYN-ACK verdict");
	ASSERT_MEM_EQ(r.out.data, in.data, in.len, "SYN-ACK not reverse-NATed");
	ASSERT_EQ(stat_packets(f, BPFNET_STAT_REVNAT), 0, "no reverse NAT");
}

/* A TCP connection stays with its backend when the backend leaves the
 * service, even once its id serves another backend: the pod may still be
 * finishing it (kube-proxy's conntrack behaves the same). A new connection
 * from the same client goes to the backends the service has now. */
TEST(tcp_connection_keeps_a_backend_that_left_the_service)
{
	struct pkt_spec s = tcp_spec(CLIENT, 40010, VIP, 80, TCP_SYN);
	struct bpfnet_ct_value ct;
	struct tc_result r;
	struct pkt_buf in;

	svc_set(f, VIP, 80, IPPROTO_TCP, 7, 1, 8080, 100);
	pkt_build(&in, &s);
	run_tc(f, &in, &r);
	ASSERT_EQ(pkt_daddr(&r.out), BACKEND(1), "the only backend");
	ASSERT_OK(ct_get(f, CLIENT, VIP, 40010, 80, IPPROTO_TCP, BPFNET_CT_SERVICE, &ct), "ct");
	ASSERT_EQ(ct.backend_addr, htonl(BACKEND(1)), "the entry keeps the address");
	ASSERT_EQ(ct.backend_port, htons(8080), "and the port");
	/* backend 1 leaves; its id 101 now names another backend */
	svc_set_one(f, VIP, 80, IPPROTO_TCP, 7, 101, IP4(10, 244, 2, 1), 8080);
	s.tcp_flags = TCP_ACK;
	pkt_build(&in, &s);
	for (int i = 0; i < 3; i++) {
		run_tc(f, &in, &r);
		ASSERT_EQ(r.retval, TC_ACT_OK, "verdict");
		ASSERT_EQ(pkt_daddr(&r.out), BACKEND(1), "the connection stays");
		ASSERT_CSUMS(&r.out, "ACK");
	}
	ASSERT_OK(bpfnet_backend_delete(&f->maps, 101), "and then no backend at that id");
	run_tc(f, &in, &r);
	ASSERT_EQ(pkt_daddr(&r.out), BACKEND(1), "still stays");
	ASSERT_EQ(stat_packets(f, BPFNET_STAT_LB_NEW), 1, "never re-selected");
	/* a new connection takes what the service has now */
	svc_set_one(f, VIP, 80, IPPROTO_TCP, 7, 101, IP4(10, 244, 2, 1), 8080);
	s.sport = 40011;
	s.tcp_flags = TCP_SYN;
	pkt_build(&in, &s);
	run_tc(f, &in, &r);
	ASSERT_EQ(pkt_daddr(&r.out), IP4(10, 244, 2, 1), "new connection, new backend");
}

/* A pod sends from its own address only: any other source (another pod's,
 * the node's, one nobody has) is dropped and counted, and a forged reply
 * cannot touch the flow it names. */
TEST(packets_from_an_address_not_the_pods_own_are_dropped)
{
	struct pkt_spec s = tcp_spec(IP4(10, 244, 7, 7), 40000, VIP, 80, TCP_SYN);
	struct bpfnet_endpoint elsewhere = { .ifindex = 7 };
	struct bpfnet_ct_value ct;
	struct tc_result r;
	struct pkt_buf in;

	svc_set(f, VIP, 80, IPPROTO_TCP, 7, 1, 8080, 100);
	pkt_build(&in, &s);
	run_tc(f, &in, &r);
	ASSERT_EQ(r.retval, TC_ACT_SHOT, "an address no pod has");
	ASSERT_EQ(ct_entries(f), 0, "nothing tracked for it");

	/* another pod's address, on this pod's veth */
	ASSERT_OK(bpfnet_endpoint_upsert(&f->maps, htonl(IP4(10, 244, 7, 7)), &elsewhere), "pod");
	run_tc(f, &in, &r);
	ASSERT_EQ(r.retval, TC_ACT_SHOT, "another pod's address");
	ASSERT_EQ(drop_packets(f, BPFNET_DROP_INVALID_SOURCE), 2, "counted as invalid source");

	/* a real flow, then a forged RST "from its backend" sent by some
	 * other pod: the flow's entries keep their state */
	s = tcp_spec(CLIENT, 40001, VIP, 80, TCP_SYN);
	pkt_build(&in, &s);
	run_tc(f, &in, &r);
	ASSERT_OK(bpfnet_endpoint_upsert(&f->maps, htonl(BACKEND(1)), &elsewhere), "backend elsewhere");
	s = tcp_spec(BACKEND(1), 8080, CLIENT, 40001, TCP_RST);
	pkt_build(&in, &s);
	run_tc(f, &in, &r);
	ASSERT_EQ(r.retval, TC_ACT_SHOT, "a forged reply");
	ASSERT_OK(ct_get(f, BACKEND(1), CLIENT, 8080, 40001, IPPROTO_TCP, BPFNET_CT_REPLY, &ct),
		  "reply entry");
	ASSERT_EQ(ct.flags & BPFNET_CT_F_RST, 0, "untouched by the forgery");
	ASSERT_EQ(drop_packets(f, BPFNET_DROP_INVALID_SOURCE), 3, "counted");
}
