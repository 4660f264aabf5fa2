// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* ct list / ct flush, with the same filters */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

struct ct_filter {
	bool has_src, has_dst;
	__be32 src, dst;
	__be16 port; /* either side; 0 = any */
	int proto;   /* -1 = any */
	int dir;     /* -1 = any */
	long svc_id; /* -1 = any */
};

static int parse_ct_filter(struct cli *c, int argc, char **argv, struct ct_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->proto = f->dir = -1;
	f->svc_id = -1;
	for (int i = 0; i < argc; i += 2) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		__be16 unused;

		if (!val)
			return cli_error(c, EXIT_USAGE, "%s needs a value", opt);
		if (!strcmp(opt, "--src")) {
			f->has_src = true;
			if (parse_addr_opt_port(val, &f->src, &unused))
				return cli_error(c, EXIT_USAGE, "bad address %s", val);
		} else if (!strcmp(opt, "--dst")) {
			f->has_dst = true;
			if (parse_addr_opt_port(val, &f->dst, &unused))
				return cli_error(c, EXIT_USAGE, "bad address %s", val);
		} else if (!strcmp(opt, "--port")) {
			if (parse_port(val, &f->port))
				return cli_error(c, EXIT_USAGE, "bad port %s", val);
		} else if (!strcmp(opt, "--proto")) {
			f->proto = proto_parse(val);
			if (f->proto < 0)
				return cli_error(c, EXIT_USAGE, "bad protocol %s", val);
		} else if (!strcmp(opt, "--dir")) {
			if (!strcmp(val, "service"))
				f->dir = BPFNET_CT_SERVICE;
			else if (!strcmp(val, "reply"))
				f->dir = BPFNET_CT_REPLY;
			else
				return cli_error(c, EXIT_USAGE, "--dir is service or reply");
		} else if (!strcmp(opt, "--service")) {
			f->svc_id = strtol(val, NULL, 10);
		} else {
			return cli_error(c, EXIT_USAGE, "unknown option %s", opt);
		}
	}
	return 0;
}

static bool ct_matches(const struct bpfnet_ct_key *k, const struct bpfnet_ct_value *v, void *arg)
{
	const struct ct_filter *f = arg;

	if (f->has_src && k->saddr != f->src)
		return false;
	if (f->has_dst && k->daddr != f->dst)
		return false;
	if (f->port && k->sport != f->port && k->dport != f->port)
		return false;
	if (f->proto >= 0 && k->proto != f->proto)
		return false;
	if (f->dir >= 0 && k->dir != f->dir)
		return false;
	if (f->svc_id >= 0 && v->svc_id != (__u32)f->svc_id)
		return false;
	return true;
}

struct ct_view {
	struct ct_filter *f;
	__u64 now;
};

static void fmt_ct_flags(char *buf, size_t len, __u16 flags)
{
	snprintf(buf, len, "%s%s%s%s%s%s", flags & BPFNET_CT_F_SEEN_REPLY ? "replied " : "",
		 flags & BPFNET_CT_F_ESTABLISHED ? "established " : "",
		 flags & BPFNET_CT_F_FIN_FWD ? "fin-fwd " : "",
		 flags & BPFNET_CT_F_FIN_REV ? "fin-rev " : "", flags & BPFNET_CT_F_RST ? "rst " : "",
		 flags & BPFNET_CT_F_HAIRPIN ? "hairpin " : "");
	if (!buf[0])
		snprintf(buf, len, "-");
	else
		buf[strlen(buf) - 1] = '\0';
}

static long age_s(__u64 now, __u64 t)
{
	return now > t ? (long)((now - t) / 1000000000ull) : 0;
}

static void ct_row(struct listing *l, const void *key, const void *val)
{
	const struct bpfnet_ct_key *k = key;
	const struct bpfnet_ct_value *v = val;
	const struct ct_view *view = l->ctx;
	const char *dir = k->dir == BPFNET_CT_SERVICE ? "service" : "reply";
	char src[40], dst[40], backend[16], svc[16], flags[64], age[16], idle[16];

	if (!ct_matches(k, v, view->f))
		return;
	fmt_addr_port(src, sizeof(src), k->saddr, k->sport);
	fmt_addr_port(dst, sizeof(dst), k->daddr, k->dport);
	fmt_ct_flags(flags, sizeof(flags), v->flags);
	if (l->arr) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "direction", dir);
		json_add_flow(o, k->proto, k->saddr, k->sport, k->daddr, k->dport);
		cJSON_AddNumberToObject(o, "backend_id", v->backend_id);
		cJSON_AddNumberToObject(o, "service_id", v->svc_id);
		cJSON_AddStringToObject(o, "flags", flags);
		cJSON_AddNumberToObject(o, "age_s", (double)age_s(view->now, v->created_ns));
		cJSON_AddNumberToObject(o, "idle_s", (double)age_s(view->now, v->last_seen_ns));
		cJSON_AddItemToArray(l->arr, o);
		return;
	}
	snprintf(backend, sizeof(backend), "%u", v->backend_id);
	snprintf(svc, sizeof(svc), "%u", v->svc_id);
	snprintf(age, sizeof(age), "%lds", age_s(view->now, v->created_ns));
	snprintf(idle, sizeof(idle), "%lds", age_s(view->now, v->last_seen_ns));
	const char *row[] = { dir, proto_name(k->proto), src, dst, svc, backend, flags, age, idle };
	table_add(&l->t, row);
}

static int cmd_ct_list(struct cli *c, int argc, char **argv)
{
	static const char *const headers[] = { "DIR", "PROTO", "SOURCE", "DESTINATION", "SERVICE",
					       "BACKEND", "FLAGS", "AGE", "IDLE" };
	struct ct_filter f;
	struct ct_view view = { .f = &f, .now = cli_now_coarse_ns() };
	int err;

	if ((err = parse_ct_filter(c, argc, argv, &f)))
		return err;
	static const enum bpfnet_map_id tables[] = { BPFNET_M_CT_TCP, BPFNET_M_CT_ANY };
	return cli_list_maps(c, tables, 2, false, 9, headers, ct_row, &view, "read conntrack");
}

static int cmd_ct_flush(struct cli *c, int argc, char **argv)
{
	struct ct_filter f;
	__u32 deleted = 0;
	int err;

	if ((err = parse_ct_filter(c, argc, argv, &f)))
		return err;
	if (cli_open_maps(c))
		return EXIT_ERR;
	err = bpfnet_ct_flush(&c->maps, ct_matches, &f, &deleted);
	if (err)
		return cli_maps_error(c, err, "flush conntrack");
	if (c->json) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddNumberToObject(o, "deleted", deleted);
		cli_print_json(o);
	} else {
		printf("deleted %u conntrack entries\n", deleted);
	}
	return EXIT_OK;
}

#define CT_FILTERS                                                               \
	"[--src ADDR] [--dst ADDR] [--port N] [--proto tcp|udp] [--dir service|reply] " \
	"[--service ID]"

const struct command ct_commands[] = {
	{ "ct", "list", CT_FILTERS,
	  "Conntrack of the packet path. A flow has a service entry (client -> VIP) and a\n"
	  "reply entry (backend -> client); --port matches either side.",
	  cmd_ct_list },
	{ "ct", "flush", CT_FILTERS,
	  "Delete matching conntrack entries (all without filters). Their next packet\n"
	  "picks a backend anew.",
	  cmd_ct_flush },
	{ NULL, NULL, NULL, NULL, NULL },
};
