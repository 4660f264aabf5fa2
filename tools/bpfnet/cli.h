/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* bpfnet CLI: shared context, command table, formatting helpers. */
#ifndef BPFNET_CLI_H
#define BPFNET_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

#include "args.h"
#include "maps.h"

/* exit codes */
#define EXIT_OK 0
#define EXIT_ERR 1
#define EXIT_USAGE 2

struct cli {
	const char *pin_dir;
	bool json;
	struct bpfnet_maps maps;
	bool maps_open;
};

struct command {
	const char *group; /* "service", or NULL for one-word commands */
	const char *verb;
	const char *usage;
	const char *help;
	int (*run)(struct cli *c, int argc, char **argv);
};

extern const struct command lb_commands[];
extern const struct command ct_commands[];
extern const struct command stats_commands[];
extern const struct command monitor_commands[];
extern const struct command explain_commands[];

/* Open the pinned maps (read/write, never create). Prints the error. */
int cli_open_maps(struct cli *c);

/* Errors: a line on stderr for people, {"error": ...} on stdout for -o json. */
int cli_error(struct cli *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int cli_maps_error(struct cli *c, int err, const char *what);

/* Emit a JSON document on stdout and free it. */
void cli_print_json(cJSON *doc);

/* ---- formatting ---- */
const char *proto_name(unsigned int proto);
void fmt_addr(char *buf, size_t len, __be32 addr);
void fmt_addr_port(char *buf, size_t len, __be32 addr, __be16 port);
const char *backend_state_name(unsigned int state);
/* Flags of a service as a comma list ("ClusterIP,ExternalIP") or JSON array */
void fmt_svc_flags(char *buf, size_t len, __u32 flags);
cJSON *json_svc_flags(__u32 flags);
/* "protocol", "src", "sport", "dst", "dport" of a flow, added to @o */
void json_add_flow(cJSON *o, __u8 proto, __be32 saddr, __be16 sport, __be32 daddr, __be16 dport);
/* {"backend_id", "address", "port", "state"} of one backend */
cJSON *json_backend(__u32 id, const struct bpfnet_backend *be);


/* ---- aligned tables ---- */
struct table {
	int ncols;
	const char *const *headers;
	char **cells; /* nrows * ncols, owned */
	size_t nrows, cap;
};

void table_init(struct table *t, int ncols, const char *const *headers);
/* Append a row of ncols cells (copied). */
void table_add(struct table *t, const char *const *cells);
void table_print(const struct table *t);
void table_free(struct table *t);
/* Print @json if the output is JSON (and free it), else @t; free @t. */
int cli_emit(cJSON *json, struct table *t);

/* ---- map contents collected and sorted, for stable listings ---- */
struct kv_list {
	size_t ksize, vsize, n, cap;
	unsigned char *data; /* n * (ksize + vsize) */
};

/* Collect every entry of map @id; sorted by key, compared as big-endian
 * bytes (addresses, ports) or, with @u32_key, as a native __u32 (ids). */
int kv_collect(struct cli *c, enum bpfnet_map_id id, bool u32_key, struct kv_list *l);
static inline const void *kv_key(const struct kv_list *l, size_t i)
{
	return l->data + i * (l->ksize + l->vsize);
}
static inline const void *kv_val(const struct kv_list *l, size_t i)
{
	return l->data + i * (l->ksize + l->vsize) + l->ksize;
}
void kv_free(struct kv_list *l);

/* A listing of one map: each entry becomes a table row or a JSON object. */
struct listing {
	struct cli *c;
	struct table t;
	cJSON *arr; /* -o json */
	void *ctx;  /* the command's own state */
};
typedef void (*listing_row_fn)(struct listing *l, const void *key, const void *val);

/* Open the maps, collect and sort map @id, render every row, print. */
int cli_list_map(struct cli *c, enum bpfnet_map_id id, bool u32_key, int ncols,
		 const char *const *headers, listing_row_fn row, void *ctx, const char *what);
/* The same over several maps, one after the other (e.g. both conntrack tables). */
int cli_list_maps(struct cli *c, const enum bpfnet_map_id *ids, size_t n_ids, bool u32_key,
		  int ncols, const char *const *headers, listing_row_fn row, void *ctx,
		  const char *what);

/* "now" on the clock conntrack uses (bpf_ktime_get_coarse_ns():
 * CLOCK_MONOTONIC_COARSE), for ages and expiry. */
__u64 cli_now_coarse_ns(void);

/* Port from a command-line value, 1..65535. */

/* Option parsing shared by commands: returns true if argv[*i] is --help. */
bool want_help(int argc, char **argv);
int print_usage(const struct command *cmd, int code);

#endif
