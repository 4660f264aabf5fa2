// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Errors, JSON emission, aligned tables and value formatting. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>

#include "cli.h"

int cli_error(struct cli *c, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c && c->json) {
		cJSON *doc = cJSON_CreateObject();

		cJSON_AddStringToObject(doc, "error", msg);
		cli_print_json(doc);
	} else {
		fprintf(stderr, "bpfnet: %s\n", msg);
	}
	return code;
}

int cli_maps_error(struct cli *c, int err, const char *what)
{
	char buf[256];

	return cli_error(c, EXIT_ERR, "%s: %s", what,
			 bpfnet_maps_strerror(&c->maps, err, buf, sizeof(buf)));
}

void cli_print_json(cJSON *doc)
{
	char *s = cJSON_Print(doc);

	if (s) {
		fputs(s, stdout);
		fputc('\n', stdout);
		free(s);
	}
	cJSON_Delete(doc);
}

const char *proto_name(unsigned int proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMP:
		return "icmp";
	default:
		return "?";
	}
}

void fmt_addr(char *buf, size_t len, __be32 addr)
{
	struct in_addr a = { .s_addr = addr };

	snprintf(buf, len, "%s", inet_ntoa(a));
}

void fmt_addr_port(char *buf, size_t len, __be32 addr, __be16 port)
{
	char a[INET_ADDRSTRLEN];

	fmt_addr(a, sizeof(a), addr);
	snprintf(buf, len, "%s:%u", a, ntohs(port));
}

const char *backend_state_name(unsigned int state)
{
	switch (state) {
	case BPFNET_BACKEND_ACTIVE:
		return "active";
	case BPFNET_BACKEND_TERMINATING:
		return "terminating";
	case BPFNET_BACKEND_QUARANTINED:
		return "quarantined";
	default:
		return "unknown";
	}
}

static const struct {
	__u32 flag;
	const char *table, *json;
} svc_flag_names[] = {
	{ BPFNET_SVC_F_CLUSTER_IP, "ClusterIP", "cluster_ip" },
	{ BPFNET_SVC_F_EXTERNAL_IP, "ExternalIP", "external_ip" },
	{ BPFNET_SVC_F_LOADBALANCER, "LoadBalancer", "load_balancer" },
	{ BPFNET_SVC_F_NODEPORT, "NodePort", "node_port" },
	{ BPFNET_SVC_F_AFFINITY_CLIENT_IP, "Affinity", "affinity_client_ip" },
	{ BPFNET_SVC_F_INTERNAL_LOCAL, "InternalLocal", "internal_traffic_local" },
	{ BPFNET_SVC_F_EXTERNAL_LOCAL, "ExternalLocal", "external_traffic_local" },
};

void fmt_svc_flags(char *buf, size_t len, __u32 flags)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(svc_flag_names) / sizeof(svc_flag_names[0]); i++) {
		if (!(flags & svc_flag_names[i].flag))
			continue;
		off += (size_t)snprintf(buf + off, off < len ? len - off : 0, "%s%s",
					off ? "," : "", svc_flag_names[i].table);
	}
	if (!buf[0])
		snprintf(buf, len, "-");
}

cJSON *json_svc_flags(__u32 flags)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; i < sizeof(svc_flag_names) / sizeof(svc_flag_names[0]); i++)
		if (flags & svc_flag_names[i].flag)
			cJSON_AddItemToArray(arr, cJSON_CreateString(svc_flag_names[i].json));
	return arr;
}

void json_add_flow(cJSON *o, __u8 proto, __be32 saddr, __be16 sport, __be32 daddr, __be16 dport)
{
	char a[INET_ADDRSTRLEN];

	cJSON_AddStringToObject(o, "protocol", proto_name(proto));
	fmt_addr(a, sizeof(a), saddr);
	cJSON_AddStringToObject(o, "src", a);
	cJSON_AddNumberToObject(o, "sport", ntohs(sport));
	fmt_addr(a, sizeof(a), daddr);
	cJSON_AddStringToObject(o, "dst", a);
	cJSON_AddNumberToObject(o, "dport", ntohs(dport));
}

cJSON *json_backend(__u32 id, const struct bpfnet_backend *be)
{
	cJSON *o = cJSON_CreateObject();
	char a[INET_ADDRSTRLEN];

	fmt_addr(a, sizeof(a), be->addr);
	cJSON_AddNumberToObject(o, "backend_id", id);
	cJSON_AddStringToObject(o, "address", a);
	cJSON_AddNumberToObject(o, "port", ntohs(be->port));
	cJSON_AddStringToObject(o, "state", backend_state_name(be->state));
	return o;
}

#define TABLE_MAX_COLS 16

void table_init(struct table *t, int ncols, const char *const *headers)
{
	if (ncols > TABLE_MAX_COLS) {
		fprintf(stderr, "bpfnet: table with %d columns\n", ncols);
		exit(EXIT_ERR);
	}
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	t->headers = headers;
}

void table_add(struct table *t, const char *const *cells)
{
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 32;
		char **n = realloc(t->cells, cap * (size_t)t->ncols * sizeof(*n));

		if (!n) {
			fprintf(stderr, "bpfnet: out of memory\n");
			exit(EXIT_ERR);
		}
		t->cells = n;
		t->cap = cap;
	}
	for (int i = 0; i < t->ncols; i++)
		t->cells[t->nrows * (size_t)t->ncols + (size_t)i] = strdup(cells[i] ? cells[i] : "");
	t->nrows++;
}

/* Columns padded to their width, the last one not (no trailing blanks). */
static void print_row(const struct table *t, const char *const *cells, const size_t *width)
{
	for (int i = 0; i < t->ncols; i++) {
		if (i + 1 < t->ncols)
			printf("%-*s   ", (int)width[i], cells[i]);
		else
			printf("%s\n", cells[i]);
	}
}

void table_print(const struct table *t)
{
	size_t width[TABLE_MAX_COLS] = {};

	for (int i = 0; i < t->ncols; i++)
		width[i] = strlen(t->headers[i]);
	for (size_t r = 0; r < t->nrows; r++)
		for (int i = 0; i < t->ncols; i++) {
			size_t l = strlen(t->cells[r * (size_t)t->ncols + (size_t)i]);

			if (l > width[i])
				width[i] = l;
		}
	print_row(t, t->headers, width);
	for (size_t r = 0; r < t->nrows; r++)
		print_row(t, (const char *const *)&t->cells[r * (size_t)t->ncols], width);
}

int cli_emit(cJSON *json, struct table *t)
{
	if (json)
		cli_print_json(json);
	else
		table_print(t);
	table_free(t);
	return EXIT_OK;
}

void table_free(struct table *t)
{
	for (size_t i = 0; i < t->nrows * (size_t)t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

bool want_help(int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	return false;
}

int print_usage(const struct command *cmd, int code)
{
	FILE *f = code == EXIT_OK ? stdout : stderr;

	fprintf(f, "usage: bpfnet [--pin-dir DIR] [-o json] %s%s%s %s\n\n%s\n",
		cmd->group ? cmd->group : "", cmd->group ? " " : "", cmd->verb, cmd->usage,
		cmd->help);
	return code;
}

static int kv_add(const void *key, const void *val, void *arg)
{
	struct kv_list *l = arg;
	size_t rec = l->ksize + l->vsize;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		unsigned char *d = realloc(l->data, cap * rec);

		if (!d)
			return -ENOMEM;
		l->data = d;
		l->cap = cap;
	}
	memcpy(l->data + l->n * rec, key, l->ksize);
	memcpy(l->data + l->n * rec + l->ksize, val, l->vsize);
	l->n++;
	return 0;
}

static size_t sort_ksize; /* qsort has no context argument */

static int cmp_bytes(const void *a, const void *b)
{
	return memcmp(a, b, sort_ksize);
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x, y;

	memcpy(&x, a, 4);
	memcpy(&y, b, 4);
	return x < y ? -1 : x > y;
}

int kv_collect(struct cli *c, enum bpfnet_map_id id, bool u32_key, struct kv_list *l)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int err;

	memset(l, 0, sizeof(*l));
	if (bpf_obj_get_info_by_fd(c->maps.fd[id], &info, &len))
		return -errno;
	l->ksize = info.key_size;
	l->vsize = info.value_size;
	err = bpfnet_map_iterate(&c->maps, id, kv_add, l);
	if (err) {
		kv_free(l);
		return err;
	}
	sort_ksize = l->ksize;
	if (l->n > 1)
		qsort(l->data, l->n, l->ksize + l->vsize, u32_key ? cmp_u32 : cmp_bytes);
	return 0;
}

void kv_free(struct kv_list *l)
{
	free(l->data);
	memset(l, 0, sizeof(*l));
}

int cli_list_maps(struct cli *c, const enum bpfnet_map_id *ids, size_t n_ids, bool u32_key,
		  int ncols, const char *const *headers, listing_row_fn row, void *ctx,
		  const char *what)
{
	struct listing l = { .c = c, .ctx = ctx };
	struct kv_list kv;
	int err;

	if (cli_open_maps(c))
		return EXIT_ERR;
	l.arr = c->json ? cJSON_CreateArray() : NULL;
	table_init(&l.t, ncols, headers);
	for (size_t m = 0; m < n_ids; m++) {
		err = kv_collect(c, ids[m], u32_key, &kv);
		if (err) {
			cJSON_Delete(l.arr);
			table_free(&l.t);
			return cli_maps_error(c, err, what);
		}
		for (size_t i = 0; i < kv.n; i++)
			row(&l, kv_key(&kv, i), kv_val(&kv, i));
		kv_free(&kv);
	}
	return cli_emit(l.arr, &l.t);
}

int cli_list_map(struct cli *c, enum bpfnet_map_id id, bool u32_key, int ncols,
		 const char *const *headers, listing_row_fn row, void *ctx, const char *what)
{
	return cli_list_maps(c, &id, 1, u32_key, ncols, headers, row, ctx, what);
}

__u64 cli_now_coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}
