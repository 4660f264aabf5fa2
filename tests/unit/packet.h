/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Crafting IPv4 test packets and checking them by recomputation. */
#ifndef BPFNET_TEST_PACKET_H
#define BPFNET_TEST_PACKET_H

#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

#define PKT_MAX 2048

struct pkt_buf {
	uint8_t data[PKT_MAX];
	size_t len;
};

struct pkt_spec {
	uint32_t saddr, daddr; /* host byte order */
	uint16_t sport, dport;
	uint8_t proto;
	uint8_t tcp_flags;
	uint32_t seq, ack;
	const uint8_t *payload;
	size_t payload_len;
	const uint8_t *ip_options; /* multiple of 4 bytes */
	size_t ip_options_len;
	uint16_t ip_id;
	uint16_t frag_off; /* host order, incl. MF flag */
	int udp_zero_csum;
};

#define IP4(a, b, c, d) (((uint32_t)(a) << 24) | ((b) << 16) | ((c) << 8) | (d))

#define ETH_HLEN_ 14

/* Ethernet + IPv4 + TCP/UDP with valid checksums. */
void pkt_build(struct pkt_buf *b, const struct pkt_spec *s);
/* Ethernet + IPv4 + ICMP error quoting @quote (an IPv4 packet without L2). */
void pkt_build_icmp_error(struct pkt_buf *b, uint32_t saddr, uint32_t daddr, uint8_t type,
			  uint8_t code, const uint8_t *quote, size_t quote_len);

uint16_t csum16(const void *data, size_t len, uint32_t seed);
/* Pseudo-header sum for TCP/UDP over IPv4 (addresses in network order). */
uint32_t pseudo_sum(const uint8_t *iphdr, uint8_t proto, uint16_t l4_len);

/* Field accessors on a packet with Ethernet at offset 0. */
unsigned int pkt_ihl(const struct pkt_buf *b);
uint32_t pkt_saddr(const struct pkt_buf *b);
uint32_t pkt_daddr(const struct pkt_buf *b);
uint16_t pkt_sport(const struct pkt_buf *b);
uint16_t pkt_dport(const struct pkt_buf *b);

/*
 * Verify the IPv4 header checksum and the L4 checksum (TCP, UDP unless zero,
 * ICMP) by recomputing them. Returns NULL if valid, else what is wrong.
 * Only for packets that are not fragments.
 */
const char *pkt_check_csums(const uint8_t *l3, size_t len);

#endif
