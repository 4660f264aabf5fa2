// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <bpf/bpf.h>

struct pkt_spec tcp_spec(uint32_t saddr, uint16_t sport, uint32_t daddr, uint16_t dport,
			 uint8_t flags)
{
	struct pkt_spec s = {
		.saddr = saddr, .daddr = daddr, .sport = sport, .dport = dport,
		.proto = IPPROTO_TCP, .tcp_flags = flags, .seq = 1000, .ack = flags & TCP_ACK ? 1 : 0,
	};
	return s;
}

struct pkt_spec udp_spec(uint32_t saddr, uint16_t sport, uint32_t daddr, uint16_t dport,
			 const uint8_t *payload, size_t len)
{
	struct pkt_spec s = {
		.saddr = saddr, .daddr = daddr, .sport = sport, .dport = dport,
		.proto = IPPROTO_UDP, .payload = payload, .payload_len = len,
	};
	return s;
}

void pkt_as_delivered(struct pkt_buf *b)
{
	static const uint8_t pod[6] = TEST_POD_MAC, host[6] = TEST_HOST_MAC;
	uint8_t *ip = b->data + ETH_HLEN_;
	uint16_t c;

	memcpy(b->data, pod, 6);
	memcpy(b->data + 6, host, 6);
	ip[8]--;
	ip[10] = ip[11] = 0;
	c = csum16(ip, pkt_ihl(b), 0);
	memcpy(ip + 10, &c, 2);
}

struct bpfnet_svc_key svc_key(uint32_t vip, uint16_t port, uint8_t proto)
{
	struct bpfnet_svc_key k = {
		.addr = htonl(vip), .port = htons(port), .proto = proto, .scope = BPFNET_SCOPE_ALL,
	};
	return k;
}

void svc_set(struct fixture *f, uint32_t vip, uint16_t port, uint8_t proto, uint32_t id,
	     unsigned int n, uint16_t bport, uint32_t base_id)
{
	struct bpfnet_backend_entry be[64];
	struct bpfnet_service_spec spec = { .id = id, .n_backends = n, .backends = be };
	struct bpfnet_svc_key key = svc_key(vip, port, proto);
	char buf[128];
	int err;

	if (n > 64)
		FAIL("svc_set: at most 64 backends");
	for (unsigned int i = 0; i < n; i++) {
		be[i].id = base_id + i + 1;
		be[i].be.addr = htonl(BACKEND(i + 1));
		be[i].be.port = htons(bport);
		be[i].be.proto = proto;
		be[i].be.state = BPFNET_BACKEND_ACTIVE;
	}
	err = bpfnet_service_upsert(&f->maps, &key, &spec);
	if (err)
		FAIL("service upsert: %s", bpfnet_maps_strerror(&f->maps, err, buf, sizeof(buf)));
}

void run_tc(struct fixture *f, const struct pkt_buf *in, struct tc_result *r)
{
	run_tc_prog(f->lxc_fd, in, r);
}

void run_tc_prog(int prog_fd, const struct pkt_buf *in, struct tc_result *r)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in->data, .data_size_in = (__u32)in->len,
		    .data_out = r->out.data, .data_size_out = sizeof(r->out.data), .repeat = 1);
	int err;

	memset(r, 0, sizeof(*r));
	err = bpf_prog_test_run_opts(prog_fd, &opts);
	if (err)
		FAIL("BPF_PROG_TEST_RUN: %s", strerror(errno));
	r->retval = (int)opts.retval;
	r->out.len = opts.data_size_out;
}

uint64_t stat_packets(struct fixture *f, unsigned int idx)
{
	struct bpfnet_stat_value st[BPFNET_STATS_MAX];

	ASSERT_OK(bpfnet_stats_read(&f->maps, st), "read stats");
	return st[idx].packets;
}

uint64_t drop_packets(struct fixture *f, enum bpfnet_drop_reason reason)
{
	return stat_packets(f, BPFNET_STAT_DROP_BASE + reason);
}

int ct_get(struct fixture *f, uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport,
	   uint8_t proto, uint8_t dir, struct bpfnet_ct_value *val)
{
	struct bpfnet_ct_key k = {
		.saddr = htonl(saddr), .daddr = htonl(daddr), .sport = htons(sport),
		.dport = htons(dport), .proto = proto, .dir = dir,
	};

	return bpfnet_ct_lookup(&f->maps, &k, val);
}

void small_maps_open(struct fixture *f, struct bpfnet_maps *m, const char *name,
		     enum bpfnet_map_id id, __u32 size)
{
	struct bpfnet_map_sizes sizes = {};
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/%s", f->bpffs, name);
	sizes.max_entries[id] = size;
	ASSERT_OK(bpfnet_maps_open(m, dir, &sizes, BPFNET_MAPS_CREATE), "small maps");
}

void maps_reopen(struct bpfnet_maps *m)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", m->pin_dir);
	bpfnet_maps_close(m);
	ASSERT_OK(bpfnet_maps_open(m, dir, NULL, BPFNET_MAPS_CREATE), "maps reopened");
	for (int i = 0; i < BPFNET_M_COUNT; i++)
		ASSERT_EQ(m->created[i], false, "a pinned map is reused, not created");
}

unsigned int ct_entries(struct fixture *f)
{
	return map_entries(f, BPFNET_M_CT_TCP) + map_entries(f, BPFNET_M_CT_ANY);
}

unsigned int map_entries(struct fixture *f, enum bpfnet_map_id id)
{
	__u32 n = 0;

	ASSERT_OK(bpfnet_map_count(&f->maps, id, &n), "count map entries");
	return n;
}
