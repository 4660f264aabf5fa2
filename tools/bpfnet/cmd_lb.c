// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* service list/get, backend list, nat list, endpoint list */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "cli.h"

struct svc_entry {
	struct bpfnet_svc_key key;
	struct bpfnet_svc_value val;
};

struct svc_list {
	struct svc_entry *v;
	size_t n, cap;
};

static int collect_svc(const void *key, const void *val, void *arg)
{
	struct svc_list *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct svc_entry *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	memcpy(&l->v[l->n].key, key, sizeof(l->v[0].key));
	memcpy(&l->v[l->n].val, val, sizeof(l->v[0].val));
	l->n++;
	return 0;
}

static int cmp_svc(const void *a, const void *b)
{
	const struct bpfnet_svc_key *x = &((const struct svc_entry *)a)->key;
	const struct bpfnet_svc_key *y = &((const struct svc_entry *)b)->key;

	if (x->addr != y->addr)
		return ntohl(x->addr) < ntohl(y->addr) ? -1 : 1;
	if (x->port != y->port)
		return ntohs(x->port) < ntohs(y->port) ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return (int)x->scope - (int)y->scope;
}

static void fmt_frontend(char *buf, size_t len, const struct bpfnet_svc_key *k)
{
	char ap[32];

	fmt_addr_port(ap, sizeof(ap), k->addr, k->port);
	snprintf(buf, len, "%s/%s%s", ap, proto_name(k->proto),
		 k->scope == BPFNET_SCOPE_LOCAL ? " (local)" : "");
}

/* One service: table rows (one per backend) or a JSON object. */
static void show_service(struct cli *c, const struct svc_entry *s, struct table *t, cJSON *arr)
{
	char frontend[64], name[BPFNET_SVC_NAME_LEN], flags[128], id[16];
	cJSON *obj = NULL, *backends = NULL;

	fmt_frontend(frontend, sizeof(frontend), &s->key);
	bpfnet_service_name_get(&c->maps, s->val.id, name, sizeof(name));
	fmt_svc_flags(flags, sizeof(flags), s->val.flags);
	snprintf(id, sizeof(id), "%u", s->val.id);
	if (arr) {
		char vip[INET_ADDRSTRLEN];

		obj = cJSON_CreateObject();
		fmt_addr(vip, sizeof(vip), s->key.addr);
		cJSON_AddStringToObject(obj, "frontend", frontend);
		cJSON_AddStringToObject(obj, "vip", vip);
		cJSON_AddNumberToObject(obj, "port", ntohs(s->key.port));
		cJSON_AddStringToObject(obj, "protocol", proto_name(s->key.proto));
		cJSON_AddStringToObject(obj, "scope",
					s->key.scope == BPFNET_SCOPE_LOCAL ? "local" : "all");
		cJSON_AddStringToObject(obj, "name", name);
		cJSON_AddNumberToObject(obj, "id", s->val.id);
		cJSON_AddNumberToObject(obj, "revnat_id", s->val.id);
		cJSON_AddItemToObject(obj, "flags", json_svc_flags(s->val.flags));
		cJSON_AddNumberToObject(obj, "affinity_timeout_s", s->val.affinity_timeout_s);
		cJSON_AddNumberToObject(obj, "slot_generation", s->val.slot_gen);
		backends = cJSON_AddArrayToObject(obj, "backends");
		cJSON_AddItemToArray(arr, obj);
	}
	if (s->val.count == 0 && t) {
		const char *row[] = { frontend, name[0] ? name : "-", id, flags, "-",
				      "(no backends: rejects)", "-" };
		table_add(t, row);
	}
	for (__u32 i = 0; i < s->val.count; i++) {
		struct bpfnet_slot_key sk = { .svc_id = s->val.id, .slot = (__u16)i,
					      .gen = s->val.slot_gen };
		struct bpfnet_backend be = {};
		char slot[16], addr[40], beid[16];
		const char *state = "missing";
		__u32 bid = 0;

		if (!bpf_map_lookup_elem(c->maps.fd[BPFNET_M_SLOT], &sk, &bid) &&
		    !bpfnet_backend_get(&c->maps, bid, &be))
			state = backend_state_name(be.state);
		fmt_addr_port(addr, sizeof(addr), be.addr, be.port);
		snprintf(slot, sizeof(slot), "%u", i + 1);
		snprintf(beid, sizeof(beid), "%u", bid);
		if (backends) {
			cJSON *b = json_backend(bid, &be);

			cJSON_AddNumberToObject(b, "slot", i + 1);
			cJSON_ReplaceItemInObject(b, "state", cJSON_CreateString(state));
			cJSON_AddItemToArray(backends, b);
		}
		if (t) {
			char backend[64];
			const char *row[7];

			snprintf(backend, sizeof(backend), "%s (%s)", addr, beid);
			row[0] = i ? "" : frontend;
			row[1] = i ? "" : (name[0] ? name : "-");
			row[2] = i ? "" : id;
			row[3] = i ? "" : flags;
			row[4] = slot;
			row[5] = backend;
			row[6] = state;
			table_add(t, row);
		}
	}
}

static const char *const svc_headers[] = { "FRONTEND", "SERVICE", "ID", "FLAGS",
					   "SLOT", "BACKEND (ID)", "STATE" };

static int show_services(struct cli *c, const struct svc_entry *v, size_t n)
{
	struct table t;
	cJSON *arr = c->json ? cJSON_CreateArray() : NULL;

	table_init(&t, 7, svc_headers);
	for (size_t i = 0; i < n; i++)
		show_service(c, &v[i], c->json ? NULL : &t, arr);
	return cli_emit(arr, &t);
}

static int cmd_service_list(struct cli *c, int argc, char **argv)
{
	struct svc_list l = {};
	int err, ret;

	if (argc)
		return cli_error(c, EXIT_USAGE, "service list takes no arguments");
	if (cli_open_maps(c))
		return EXIT_ERR;
	err = bpfnet_map_iterate(&c->maps, BPFNET_M_SVC, collect_svc, &l);
	if (err) {
		free(l.v);
		return cli_maps_error(c, err, "read services");
	}
	if (l.n > 1)
		qsort(l.v, l.n, sizeof(l.v[0]), cmp_svc);
	ret = show_services(c, l.v, l.n);
	free(l.v);
	return ret;
}

static int cmd_service_get(struct cli *c, int argc, char **argv)
{
	struct svc_entry found[4];
	size_t n = 0;
	__be32 addr;
	__be16 port;
	int proto;

	if (argc != 1 || parse_frontend(argv[0], &addr, &port, &proto))
		return cli_error(c, EXIT_USAGE, "service get VIP:PORT[/tcp|udp]");
	if (cli_open_maps(c))
		return EXIT_ERR;
	for (int p = 0; p < 2; p++) {
		__u8 pr = p ? IPPROTO_UDP : IPPROTO_TCP;

		if (proto >= 0 && proto != pr)
			continue;
		for (__u8 scope = 0; scope < 2; scope++) {
			struct bpfnet_svc_key k = { .addr = addr, .port = port, .proto = pr,
						    .scope = scope };

			if (!bpf_map_lookup_elem(c->maps.fd[BPFNET_M_SVC], &k, &found[n].val)) {
				found[n].key = k;
				n++;
			}
		}
	}
	if (!n)
		return cli_error(c, EXIT_ERR, "no service %s", argv[0]);
	return show_services(c, found, n);
}

static void backend_row(struct listing *l, const void *key, const void *val)
{
	const struct bpfnet_backend *be = val;
	__u32 id = *(const __u32 *)key;
	char ids[16], addr[40];

	fmt_addr_port(addr, sizeof(addr), be->addr, be->port);
	if (l->arr) {
		cJSON *o = json_backend(id, be);

		cJSON_AddStringToObject(o, "protocol", proto_name(be->proto));
		cJSON_AddItemToArray(l->arr, o);
		return;
	}
	snprintf(ids, sizeof(ids), "%u", id);
	const char *row[] = { ids, addr, proto_name(be->proto), backend_state_name(be->state) };
	table_add(&l->t, row);
}

static int cmd_backend_list(struct cli *c, int argc, char **argv)
{
	static const char *const headers[] = { "ID", "ADDRESS", "PROTO", "STATE" };

	if (argc)
		return cli_error(c, EXIT_USAGE, "backend list takes no arguments");
	return cli_list_map(c, BPFNET_M_BACKEND, true, 4, headers, backend_row, NULL,
			    "read backends");
}

static void nat_row(struct listing *l, const void *key, const void *val)
{
	const struct bpfnet_revnat *rn = val;
	__u32 id = *(const __u32 *)key;
	char ids[16], addr[40], name[BPFNET_SVC_NAME_LEN];

	fmt_addr_port(addr, sizeof(addr), rn->addr, rn->port);
	bpfnet_service_name_get(&l->c->maps, id, name, sizeof(name));
	if (l->arr) {
		cJSON *o = cJSON_CreateObject();
		char a[INET_ADDRSTRLEN];

		fmt_addr(a, sizeof(a), rn->addr);
		cJSON_AddNumberToObject(o, "revnat_id", id);
		cJSON_AddStringToObject(o, "vip", a);
		cJSON_AddNumberToObject(o, "port", ntohs(rn->port));
		cJSON_AddStringToObject(o, "name", name);
		cJSON_AddItemToArray(l->arr, o);
		return;
	}
	snprintf(ids, sizeof(ids), "%u", id);
	const char *row[] = { ids, addr, name[0] ? name : "-" };
	table_add(&l->t, row);
}

static int cmd_nat_list(struct cli *c, int argc, char **argv)
{
	static const char *const headers[] = { "REVNAT ID", "REPLIES APPEAR FROM", "SERVICE" };

	if (argc)
		return cli_error(c, EXIT_USAGE, "nat list takes no arguments");
	return cli_list_map(c, BPFNET_M_REVNAT, true, 3, headers, nat_row, NULL,
			    "read reverse NAT");
}

static void fmt_mac(char *buf, size_t len, const __u8 *mac)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
}

static void endpoint_row(struct listing *l, const void *key, const void *val)
{
	const struct bpfnet_endpoint *ep = val;
	char addr[INET_ADDRSTRLEN], ifindex[16], pod_mac[20], host_mac[20];

	fmt_addr(addr, sizeof(addr), *(const __be32 *)key);
	fmt_mac(pod_mac, sizeof(pod_mac), ep->pod_mac);
	fmt_mac(host_mac, sizeof(host_mac), ep->host_mac);
	if (l->arr) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "address", addr);
		cJSON_AddNumberToObject(o, "ifindex", ep->ifindex);
		cJSON_AddStringToObject(o, "pod_mac", pod_mac);
		cJSON_AddStringToObject(o, "host_mac", host_mac);
		cJSON_AddNumberToObject(o, "flags", ep->flags);
		cJSON_AddItemToArray(l->arr, o);
		return;
	}
	snprintf(ifindex, sizeof(ifindex), "%u", ep->ifindex);
	const char *row[] = { addr, ifindex, pod_mac, host_mac };
	table_add(&l->t, row);
}

static int cmd_endpoint_list(struct cli *c, int argc, char **argv)
{
	static const char *const headers[] = { "POD IP", "HOST IFINDEX", "POD MAC", "HOST MAC" };

	if (argc)
		return cli_error(c, EXIT_USAGE, "endpoint list takes no arguments");
	return cli_list_map(c, BPFNET_M_ENDPOINT, false, 4, headers, endpoint_row, NULL,
			    "read endpoints");
}

const struct command lb_commands[] = {
	{ "service", "list", "", "Every service frontend with its backends (by slot), state, id and flags.",
	  cmd_service_list },
	{ "service", "get", "VIP:PORT[/tcp|udp]",
	  "One frontend; without a protocol both TCP and UDP are shown.", cmd_service_get },
	{ "backend", "list", "", "Every backend: id, address, protocol, state.", cmd_backend_list },
	{ "nat", "list", "", "Reverse NAT: which VIP:port replies of each service appear from.",
	  cmd_nat_list },
	{ "endpoint", "list", "", "Pods on this node registered by the CNI plugin.",
	  cmd_endpoint_list },
	{ NULL, NULL, NULL, NULL, NULL },
};
