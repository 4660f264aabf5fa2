// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bpfnet-testctl: drives the datapath for namespace tests and benchmarks
 * through the same map library and loader the agent uses.
 *
 *   bpfnet-testctl --pin-dir DIR [--svc-max N] [--backend-max N] [--slot-max N] COMMAND
 *   load                          create maps, load programs, pin from_container
 *   attach-tc IFNAME...           attach the pinned from_container to tc ingress
 *                                 of each interface (in the caller's netns)
 *   attach-sock CGROUP            socket LB on CGROUP, links pinned in DIR
 *   svc-set VIP:PORT/PROTO ID[:FLAGS] [BACKEND:PORT ...]   (0 backends: reject)
 *   svc-del VIP:PORT/PROTO
 *   svc-fill FIRST_VIP PORT COUNT BACKENDS   COUNT services on consecutive VIPs
 *   stats                         non-zero counters as "name packets"
 *   name-set ID NAME              service name shown by the CLI
 *   endpoint-set ADDR IFINDEX POD_MAC HOST_MAC
 *   config                        the monitor switch, as a number
 *   count MAP                     entries in MAP (e.g. ct_v1)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <bpfnet/names.h>
#include "bpfnet_lxc.skel.h"
#include "bpfnet_sock.skel.h"
#include "loader.h"
#include "maps.h"

static int fail(const char *what, int err, const struct bpfnet_maps *m)
{
	char buf[256];

	fprintf(stderr, "bpfnet-testctl: %s: %s\n", what,
		bpfnet_maps_strerror(m, err, buf, sizeof(buf)));
	return 1;
}

static int parse_frontend(const char *s, struct bpfnet_svc_key *k)
{
	char buf[64], *colon, *slash;

	snprintf(buf, sizeof(buf), "%s", s);
	colon = strchr(buf, ':');
	slash = strchr(buf, '/');
	if (!colon || !slash)
		return -EINVAL;
	*colon = *slash = '\0';
	memset(k, 0, sizeof(*k));
	if (inet_pton(AF_INET, buf, &k->addr) != 1)
		return -EINVAL;
	k->port = htons((unsigned short)atoi(colon + 1));
	if (!strcmp(slash + 1, "tcp"))
		k->proto = IPPROTO_TCP;
	else if (!strcmp(slash + 1, "udp"))
		k->proto = IPPROTO_UDP;
	else
		return -EINVAL;
	return 0;
}

/* The id a backend already has (same address, port, protocol), else the
 * lowest free one: ids index the backend array, so they stay small. */
struct id_search {
	const struct bpfnet_backend *want;
	__u32 found, next_free;
};

static int id_search_one(const void *key, const void *val, void *arg)
{
	const struct bpfnet_backend *be = val;
	struct id_search *s = arg;
	__u32 id = *(const __u32 *)key;

	if (be->addr == s->want->addr && be->port == s->want->port && be->proto == s->want->proto) {
		s->found = id;
		return 1;
	}
	if (id == s->next_free) /* ids come in ascending order */
		s->next_free++;
	return 0;
}

static int backend_assign_id(struct bpfnet_maps *m, struct bpfnet_backend_entry *e)
{
	struct id_search s = { .want = &e->be, .next_free = 1 };
	int err = bpfnet_map_iterate(m, BPFNET_M_BACKEND, id_search_one, &s);

	if (err < 0)
		return err;
	e->id = s.found ? s.found : s.next_free;
	return bpfnet_backend_upsert(m, e); /* taken before the next one looks */
}

static int parse_backend(const char *s, __u8 proto, struct bpfnet_backend_entry *e)
{
	char buf[64], *colon;

	snprintf(buf, sizeof(buf), "%s", s);
	colon = strchr(buf, ':');
	if (!colon)
		return -EINVAL;
	*colon = '\0';
	memset(e, 0, sizeof(*e));
	if (inet_pton(AF_INET, buf, &e->be.addr) != 1)
		return -EINVAL;
	e->be.port = htons((unsigned short)atoi(colon + 1));
	e->be.proto = proto;
	e->be.state = BPFNET_BACKEND_ACTIVE;
	return 0;
}

static int cmd_load(struct bpfnet_maps *m)
{
	struct bpfnet_lxc_skel *lxc;
	char pin[PATH_MAX];
	int err;

	lxc = bpfnet_lxc_load(m, &err);
	if (!lxc)
		return fail("load bpf_lxc", err, m);
	snprintf(pin, sizeof(pin), "%s/%s", m->pin_dir, BPFNET_PROG_FROM_CONTAINER);
	unlink(pin);
	err = bpf_program__pin(lxc->progs.from_container, pin);
	bpfnet_lxc_skel__destroy(lxc);
	return err ? fail("pin from_container", err, m) : 0;
}

static int cmd_attach_tc(struct bpfnet_maps *m, int argc, char **argv)
{
	char pin[PATH_MAX];
	int fd, err;

	snprintf(pin, sizeof(pin), "%s/%s", m->pin_dir, BPFNET_PROG_FROM_CONTAINER);
	fd = bpf_obj_get(pin);
	if (fd < 0)
		return fail("open pinned program", -errno, m);
	for (int i = 0; i < argc; i++) {
		int ifindex = (int)if_nametoindex(argv[i]);

		if (!ifindex)
			return fail(argv[i], -errno, m);
		err = bpfnet_tc_attach(ifindex, true, fd);
		if (err)
			return fail(argv[i], err, m);
	}
	close(fd);
	return 0;
}

static int cmd_attach_sock(struct bpfnet_maps *m, const char *cgroup)
{
	struct bpfnet_features feat;
	struct bpfnet_sock_skel *s;
	int err;

	bpfnet_probe_features(&feat);
	s = bpfnet_sock_load(m, &feat, &err);
	if (!s)
		return fail("load bpf_sock", err, m);
	err = bpfnet_sock_attach(s, cgroup, m->pin_dir);
	bpfnet_sock_skel__destroy(s);
	return err ? fail(cgroup, err, m) : 0;
}

static int cmd_svc_set(struct bpfnet_maps *m, int argc, char **argv)
{
	struct bpfnet_backend_entry be[256];
	struct bpfnet_service_spec spec = { .backends = be };
	struct bpfnet_svc_key key;
	int err;

	if (argc < 2 || parse_frontend(argv[0], &key) || argc - 2 > 256)
		return fail("usage: svc-set VIP:PORT/PROTO ID [BACKEND:PORT ...]", -EINVAL, NULL);
	char *flags;

	spec.id = (__u32)strtoul(argv[1], &flags, 0);
	if (*flags == ':')
		spec.flags = (__u32)strtoul(flags + 1, NULL, 0);
	for (int i = 2; i < argc; i++) {
		if (parse_backend(argv[i], key.proto, &be[spec.n_backends]))
			return fail(argv[i], -EINVAL, NULL);
		err = backend_assign_id(m, &be[spec.n_backends++]);
		if (err)
			return fail(argv[i], err, m);
	}
	err = bpfnet_service_upsert(m, &key, &spec);
	return err ? fail(argv[0], err, m) : 0;
}

static int cmd_svc_fill(struct bpfnet_maps *m, int argc, char **argv)
{
	struct bpfnet_backend_entry be[64];
	struct bpfnet_service_spec spec = { .backends = be };
	struct bpfnet_svc_key key = { .proto = IPPROTO_TCP };
	struct in_addr first;
	int count, nbe, err;

	if (argc != 4 || inet_pton(AF_INET, argv[0], &first) != 1)
		return fail("usage: svc-fill FIRST_VIP PORT COUNT BACKENDS", -EINVAL, NULL);
	key.port = htons((unsigned short)atoi(argv[1]));
	count = atoi(argv[2]);
	nbe = atoi(argv[3]);
	if (nbe < 1 || nbe > 64)
		return fail("BACKENDS must be 1..64", -EINVAL, NULL);
	for (int s = 0; s < count; s++) {
		key.addr = htonl(ntohl(first.s_addr) + (__u32)s);
		spec.id = (__u32)s + 1;
		spec.n_backends = (__u32)nbe;
		for (int b = 0; b < nbe; b++) {
			be[b].be.addr = htonl((ntohl(first.s_addr) & 0xff000000) | 0x00f00000 |
					      ((__u32)(s * nbe + b) & 0xfffff));
			be[b].be.port = htons(8080);
			be[b].be.proto = IPPROTO_TCP;
			be[b].be.state = 0;
			be[b].id = (__u32)(s * nbe + b) + 1;
		}
		err = bpfnet_service_upsert(m, &key, &spec);
		if (err)
			return fail("svc-fill", err, m);
	}
	return 0;
}

static int cmd_stats(struct bpfnet_maps *m)
{
	struct bpfnet_stat_value st[BPFNET_STATS_MAX];
	int err = bpfnet_stats_read(m, st);

	if (err)
		return fail("stats", err, m);
	for (unsigned int i = 0; i < BPFNET_STATS_MAX; i++) {
		const char *name = bpfnet_stat_name(i);

		if (name && st[i].packets)
			printf("%s%s %llu\n", i >= BPFNET_STAT_DROP_BASE ? "drop_" : "", name,
			       (unsigned long long)st[i].packets);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct bpfnet_map_sizes sizes = {};
	const char *pin_dir = NULL;
	struct bpfnet_maps m;
	int a = 1, err, ret;

	libbpf_set_print(NULL);
	while (a + 1 < argc && !strncmp(argv[a], "--", 2)) {
		if (!strcmp(argv[a], "--pin-dir"))
			pin_dir = argv[a + 1];
		else if (!strcmp(argv[a], "--svc-max")) {
			/* as the agent's --max-services: what goes with each service */
			sizes.max_entries[BPFNET_M_SVC] = (__u32)atoi(argv[a + 1]);
			sizes.max_entries[BPFNET_M_REVNAT] = sizes.max_entries[BPFNET_M_SVC];
			sizes.max_entries[BPFNET_M_VIP] = sizes.max_entries[BPFNET_M_SVC];
			sizes.max_entries[BPFNET_M_SVC_NAME] = sizes.max_entries[BPFNET_M_SVC];
		}
		else if (!strcmp(argv[a], "--backend-max"))
			sizes.max_entries[BPFNET_M_BACKEND] = (__u32)atoi(argv[a + 1]);
		else if (!strcmp(argv[a], "--slot-max"))
			sizes.max_entries[BPFNET_M_SLOT] = (__u32)atoi(argv[a + 1]);
		else if (!strcmp(argv[a], "--ct-max")) {
			sizes.max_entries[BPFNET_M_CT_TCP] = (__u32)atoi(argv[a + 1]);
			sizes.max_entries[BPFNET_M_CT_ANY] = sizes.max_entries[BPFNET_M_CT_TCP];
		}
		else if (!strcmp(argv[a], "--revnat-max"))
			sizes.max_entries[BPFNET_M_REVNAT] = (__u32)atoi(argv[a + 1]);
		else
			break;
		a += 2;
	}
	if (!pin_dir || a >= argc) {
		fprintf(stderr, "usage: bpfnet-testctl --pin-dir DIR COMMAND ... (see source header)\n");
		return 2;
	}
	err = bpfnet_maps_open(&m, pin_dir, &sizes, BPFNET_MAPS_CREATE);
	if (err)
		return fail(pin_dir, err, &m);

	const char *cmd = argv[a++];
	if (!strcmp(cmd, "load"))
		ret = cmd_load(&m);
	else if (!strcmp(cmd, "attach-tc"))
		ret = cmd_attach_tc(&m, argc - a, argv + a);
	else if (!strcmp(cmd, "attach-sock") && a < argc)
		ret = cmd_attach_sock(&m, argv[a]);
	else if (!strcmp(cmd, "svc-set"))
		ret = cmd_svc_set(&m, argc - a, argv + a);
	else if (!strcmp(cmd, "svc-fill"))
		ret = cmd_svc_fill(&m, argc - a, argv + a);
	else if (!strcmp(cmd, "svc-del") && a < argc) {
		struct bpfnet_svc_key k;

		ret = parse_frontend(argv[a], &k) ? fail(argv[a], -EINVAL, NULL)
						  : (err = bpfnet_service_delete(&m, &k)) ? fail(argv[a], err, &m) : 0;
	} else if (!strcmp(cmd, "name-set") && a + 1 < argc) {
		err = bpfnet_service_name_set(&m, (__u32)strtoul(argv[a], NULL, 0), argv[a + 1]);
		ret = err ? fail("name-set", err, &m) : 0;
	} else if (!strcmp(cmd, "endpoint-set") && a + 3 < argc) {
		struct bpfnet_endpoint ep = { .ifindex = (__u32)atoi(argv[a + 1]) };
		__be32 addr;

		if (inet_pton(AF_INET, argv[a], &addr) != 1 ||
		    sscanf(argv[a + 2], "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &ep.pod_mac[0],
			   &ep.pod_mac[1], &ep.pod_mac[2], &ep.pod_mac[3], &ep.pod_mac[4],
			   &ep.pod_mac[5]) != 6 ||
		    sscanf(argv[a + 3], "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &ep.host_mac[0],
			   &ep.host_mac[1], &ep.host_mac[2], &ep.host_mac[3], &ep.host_mac[4],
			   &ep.host_mac[5]) != 6)
			ret = fail("usage: endpoint-set ADDR IFINDEX POD_MAC HOST_MAC", -EINVAL, NULL);
		else if ((err = bpfnet_endpoint_upsert(&m, addr, &ep)))
			ret = fail("endpoint-set", err, &m);
		else
			ret = 0;
	} else if (!strcmp(cmd, "config")) {
		struct bpfnet_config cfg;

		err = bpfnet_config_get(&m, &cfg);
		ret = err ? fail("config", err, &m) : (printf("%u\n", cfg.monitor), 0);
	} else if (!strcmp(cmd, "stats"))
		ret = cmd_stats(&m);
	else if (!strcmp(cmd, "count") && a < argc) {
		int id = bpfnet_map_id_by_name(argv[a]);
		__u32 n = 0;

		if (id < 0)
			ret = fail(argv[a], -ENOENT, NULL);
		else if ((err = bpfnet_map_count(&m, id, &n)))
			ret = fail(argv[a], err, &m);
		else
			ret = (printf("%u\n", n), 0);
	} else {
		fprintf(stderr, "bpfnet-testctl: unknown command %s\n", cmd);
		ret = 2;
	}
	bpfnet_maps_close(&m);
	return ret;
}
