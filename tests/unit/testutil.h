/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#ifndef BPFNET_TEST_UTIL_H
#define BPFNET_TEST_UTIL_H

#include "harness.h"
#include "packet.h"

/* Addresses used by the unit tests (host byte order). They only ever exist
 * in BPF_PROG_TEST_RUN buffers or inside a test's private netns. */
#define VIP IP4(10, 96, 0, 10)
#define CLIENT IP4(10, 244, 0, 5)
#define BACKEND(n) IP4(10, 244, 1, (n))

#define TCP_SYN 0x02
#define TCP_ACK 0x10
#define TCP_RST 0x04
#define TCP_FIN 0x01

/* A TCP segment / UDP datagram between the given ends (host byte order). */
struct pkt_spec tcp_spec(uint32_t saddr, uint16_t sport, uint32_t daddr, uint16_t dport,
			 uint8_t flags);
struct pkt_spec udp_spec(uint32_t saddr, uint16_t sport, uint32_t daddr, uint16_t dport,
			 const uint8_t *payload, size_t len);

/* The MACs pkt_build() puts on a packet a pod sends (to its host veth);
 * the test pods are registered with them. */
#define TEST_POD_MAC { 0x02, 0x00, 0x00, 0x00, 0x00, 0x05 }
#define TEST_HOST_MAC { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 }

/* @b as local delivery hands it to the pod: MACs of the veth pair towards
 * the pod, TTL one less, IP checksum fixed. */
void pkt_as_delivered(struct pkt_buf *b);

struct tc_result {
	int retval;
	struct pkt_buf out;
};

/* Add or replace service @vip:@port/@proto with @n backends BACKEND(1..n)
 * on @bport, backend ids base_id+1..base_id+n. */
void svc_set(struct fixture *f, uint32_t vip, uint16_t port, uint8_t proto, uint32_t id,
	     unsigned int n, uint16_t bport, uint32_t base_id);
struct bpfnet_svc_key svc_key(uint32_t vip, uint16_t port, uint8_t proto);

/* Run from_container on @in once. */
void run_tc(struct fixture *f, const struct pkt_buf *in, struct tc_result *r);
/* The same with another tc program (e.g. one loaded on small maps). */
void run_tc_prog(int prog_fd, const struct pkt_buf *in, struct tc_result *r);

uint64_t stat_packets(struct fixture *f, unsigned int idx);
uint64_t drop_packets(struct fixture *f, enum bpfnet_drop_reason reason);

/* Look up a conntrack entry; returns 0 when found. */
int ct_get(struct fixture *f, uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport,
	   uint8_t proto, uint8_t dir, struct bpfnet_ct_value *val);
unsigned int map_entries(struct fixture *f, enum bpfnet_map_id id);
/* entries of both conntrack tables */
unsigned int ct_entries(struct fixture *f);
/* Open @m's pins again, as a restarted agent does. */
void maps_reopen(struct bpfnet_maps *m);
/* A second set of maps pinned in <bpffs>/@name, map @id holding only @size
 * entries (the others default): for filling one up. */
void small_maps_open(struct fixture *f, struct bpfnet_maps *m, const char *name,
		     enum bpfnet_map_id id, __u32 size);

/* Assert the checksums of the packet in @b (Ethernet at 0) by recomputation. */
#define ASSERT_CSUMS(b, what)                                                   \
	do {                                                                    \
		const char *_bad = pkt_check_csums((b)->data + 14, (b)->len - 14);  \
		if (_bad)                                                       \
			FAIL("%s: bad %s", what, _bad);                          \
	} while (0)

#endif
