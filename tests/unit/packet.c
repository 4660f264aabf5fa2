// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "packet.h"

#include <arpa/inet.h>
#include <string.h>
#include <netinet/in.h>

static const uint8_t mac_pod[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x05 };
static const uint8_t mac_host[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };

uint16_t csum16(const void *data, size_t len, uint32_t seed)
{
	const uint8_t *p = data;
	uint64_t sum = seed;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint16_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint16_t)(p[len - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

uint32_t pseudo_sum(const uint8_t *ip, uint8_t proto, uint16_t l4_len)
{
	uint32_t sum = 0;

	for (int i = 12; i < 20; i += 2)
		sum += (uint16_t)(ip[i] << 8 | ip[i + 1]);
	return sum + proto + l4_len;
}

static size_t put_eth(uint8_t *p)
{
	memcpy(p, mac_host, 6);
	memcpy(p + 6, mac_pod, 6);
	p[12] = 0x08;
	p[13] = 0x00;
	return ETH_HLEN_;
}

static void put_ip(uint8_t *ip, size_t ihl, size_t tot_len, uint8_t proto, uint32_t saddr,
		   uint32_t daddr, uint16_t id, uint16_t frag_off)
{
	uint16_t v;
	uint32_t a;

	ip[0] = 0x40 | (uint8_t)(ihl / 4);
	ip[1] = 0;
	v = htons((uint16_t)tot_len);
	memcpy(ip + 2, &v, 2);
	v = htons(id);
	memcpy(ip + 4, &v, 2);
	v = htons(frag_off);
	memcpy(ip + 6, &v, 2);
	ip[8] = 64;
	ip[9] = proto;
	ip[10] = ip[11] = 0;
	a = htonl(saddr);
	memcpy(ip + 12, &a, 4);
	a = htonl(daddr);
	memcpy(ip + 16, &a, 4);
	v = csum16(ip, ihl, 0);
	memcpy(ip + 10, &v, 2);
}

void pkt_build(struct pkt_buf *b, const struct pkt_spec *s)
{
	size_t ihl = 20 + s->ip_options_len;
	size_t l4_hdr = s->proto == IPPROTO_TCP ? 20 : 8;
	size_t l4_len = l4_hdr + s->payload_len;
	uint8_t *ip, *l4;
	uint16_t v;
	uint32_t w;

	memset(b, 0, sizeof(*b));
	put_eth(b->data);
	ip = b->data + ETH_HLEN_;
	if (s->ip_options_len)
		memcpy(ip + 20, s->ip_options, s->ip_options_len);
	l4 = ip + ihl;
	v = htons(s->sport);
	memcpy(l4, &v, 2);
	v = htons(s->dport);
	memcpy(l4 + 2, &v, 2);
	if (s->proto == IPPROTO_TCP) {
		w = htonl(s->seq);
		memcpy(l4 + 4, &w, 4);
		w = htonl(s->ack);
		memcpy(l4 + 8, &w, 4);
		l4[12] = 5 << 4;
		l4[13] = s->tcp_flags;
		l4[14] = 0xff;
		l4[15] = 0xff;
	} else {
		v = htons((uint16_t)l4_len);
		memcpy(l4 + 4, &v, 2);
	}
	if (s->payload_len)
		memcpy(l4 + l4_hdr, s->payload, s->payload_len);
	put_ip(ip, ihl, ihl + l4_len, s->proto, s->saddr, s->daddr, s->ip_id, s->frag_off);
	if (!(s->proto == IPPROTO_UDP && s->udp_zero_csum)) {
		v = csum16(l4, l4_len, pseudo_sum(ip, s->proto, (uint16_t)l4_len));
		if (s->proto == IPPROTO_UDP && v == 0)
			v = 0xffff;
		memcpy(l4 + (s->proto == IPPROTO_TCP ? 16 : 6), &v, 2);
	}
	b->len = ETH_HLEN_ + ihl + l4_len;
}

void pkt_build_icmp_error(struct pkt_buf *b, uint32_t saddr, uint32_t daddr, uint8_t type,
			  uint8_t code, const uint8_t *quote, size_t quote_len)
{
	uint8_t *ip, *icmp;
	uint16_t v;

	memset(b, 0, sizeof(*b));
	put_eth(b->data);
	ip = b->data + ETH_HLEN_;
	icmp = ip + 20;
	icmp[0] = type;
	icmp[1] = code;
	memcpy(icmp + 8, quote, quote_len);
	v = csum16(icmp, 8 + quote_len, 0);
	memcpy(icmp + 2, &v, 2);
	put_ip(ip, 20, 20 + 8 + quote_len, IPPROTO_ICMP, saddr, daddr, 0, 0x4000);
	b->len = ETH_HLEN_ + 20 + 8 + quote_len;
}

unsigned int pkt_ihl(const struct pkt_buf *b)
{
	return (b->data[ETH_HLEN_] & 0xf) * 4;
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return ntohl(v);
}

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return ntohs(v);
}

uint32_t pkt_saddr(const struct pkt_buf *b) { return get32(b->data + ETH_HLEN_ + 12); }
uint32_t pkt_daddr(const struct pkt_buf *b) { return get32(b->data + ETH_HLEN_ + 16); }
uint16_t pkt_sport(const struct pkt_buf *b) { return get16(b->data + ETH_HLEN_ + pkt_ihl(b)); }
uint16_t pkt_dport(const struct pkt_buf *b) { return get16(b->data + ETH_HLEN_ + pkt_ihl(b) + 2); }

const char *pkt_check_csums(const uint8_t *ip, size_t len)
{
	size_t ihl, tot_len, l4_len;
	const uint8_t *l4;
	uint16_t stored;

	if (len < 20)
		return "short IPv4 header";
	ihl = (ip[0] & 0xf) * 4;
	tot_len = get16(ip + 2);
	if (ihl < 20 || tot_len < ihl || tot_len > len)
		return "IPv4 lengths";
	if (csum16(ip, ihl, 0) != 0)
		return "IPv4 header checksum";
	l4 = ip + ihl;
	l4_len = tot_len - ihl;
	switch (ip[9]) {
	case IPPROTO_TCP:
		if (csum16(l4, l4_len, pseudo_sum(ip, IPPROTO_TCP, (uint16_t)l4_len)) != 0)
			return "TCP checksum";
		break;
	case IPPROTO_UDP:
		memcpy(&stored, l4 + 6, 2);
		if (stored && csum16(l4, l4_len, pseudo_sum(ip, IPPROTO_UDP, (uint16_t)l4_len)) != 0)
			return "UDP checksum";
		break;
	case IPPROTO_ICMP:
		if (csum16(l4, l4_len, 0) != 0)
			return "ICMP checksum";
		break;
	}
	return NULL;
}
