/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The map library: the one way userspace (agent, CNI plugin, CLI, tests)
 * opens, creates and writes bpfnet's pinned maps. Functions return 0 or a
 * negative errno and print nothing; callers log at their boundary.
 * bpfnet_maps_strerror() adds the map-specific meaning of an error.
 */
#ifndef BPFNET_LIB_MAPS_H
#define BPFNET_LIB_MAPS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <bpfnet/datapath.h>

enum bpfnet_map_id {
	BPFNET_M_SVC,
	BPFNET_M_SLOT,
	BPFNET_M_BACKEND,
	BPFNET_M_REVNAT,
	BPFNET_M_CT_TCP,
	BPFNET_M_FRAG,
	BPFNET_M_SOCK_REV,
	BPFNET_M_STATS,
	BPFNET_M_SOCK_PEER,
	BPFNET_M_CONFIG,
	BPFNET_M_EVENTS,
	BPFNET_M_ENDPOINT,
	BPFNET_M_SVC_NAME,
	BPFNET_M_VIP,
	BPFNET_M_SOCK_PENDING,
	BPFNET_M_CT_ANY,
	BPFNET_M_COUNT,
};

/* Capacities to create maps with; 0 keeps the default. Existing pins keep
 * the size they were created with. */
struct bpfnet_map_sizes {
	__u32 max_entries[BPFNET_M_COUNT];
};

struct bpfnet_maps {
	char pin_dir[PATH_MAX];
	int fd[BPFNET_M_COUNT];
	__u32 max_entries[BPFNET_M_COUNT];
	int ncpus;            /* possible CPUs: per-CPU value arrays are this long */
	int err_map;          /* map of the last failed write, -1 if none */
	bool created[BPFNET_M_COUNT]; /* made by this open: empty, nothing to adopt */
};

enum bpfnet_maps_open_flags {
	BPFNET_MAPS_CREATE = 1 << 0, /* create and pin maps that are missing */
};

const char *bpfnet_map_name(enum bpfnet_map_id id);
__u32 bpfnet_map_default_size(enum bpfnet_map_id id);
/* -1 when @name is not a bpfnet map */
int bpfnet_map_id_by_name(const char *name);

int bpfnet_maps_open(struct bpfnet_maps *m, const char *pin_dir,
		     const struct bpfnet_map_sizes *sizes, unsigned int flags);
void bpfnet_maps_close(struct bpfnet_maps *m);
/* Remove every bpfnet map pin under @pin_dir (maps live on while in use). */
int bpfnet_maps_unpin(const char *pin_dir);

struct bpfnet_backend_entry {
	__u32 id;
	struct bpfnet_backend be;
};

struct bpfnet_service_spec {
	__u32 id; /* service and reverse-NAT id, non-zero, unique per frontend */
	__u32 flags;
	__u32 affinity_timeout_s;
	__u32 n_backends;
	const struct bpfnet_backend_entry *backends;
};

/*
 * Make @key serve exactly @spec's backends. Order: backends, slots of the
 * idle generation, reverse NAT, the service value (the switch), then the old
 * generation's slots. Any failure before the switch leaves the service as it
 * was. A full map gives -ENOSPC with err_map naming it.
 */
int bpfnet_service_upsert(struct bpfnet_maps *m, const struct bpfnet_svc_key *key,
			  const struct bpfnet_service_spec *spec);

/*
 * Many new services at once (a cold sync): staged, then written with one
 * BPF_MAP_UPDATE_BATCH per map in the order bpfnet_service_upsert() keeps
 * (backends, slots, reverse NAT, the service entries that switch them on,
 * names), so no packet sees a half-written service. Only for keys that have
 * no service entry yet. A service whose writes fail gets its slots, reverse
 * NAT and name removed (not its backends: they may be shared) and is
 * reported to @failed with the error (bpfnet_maps_strerror() names the map).
 * bpfnet_batch_flush() returns the first such error, 0 if none.
 */
struct bpfnet_batch;
typedef void (*bpfnet_batch_failed_fn)(void *cookie, int err, void *arg);
struct bpfnet_batch *bpfnet_batch_new(struct bpfnet_maps *m);
int bpfnet_batch_add_service(struct bpfnet_batch *b, const struct bpfnet_svc_key *key,
			     const struct bpfnet_service_spec *spec, const char *name,
			     void *cookie);
size_t bpfnet_batch_size(const struct bpfnet_batch *b); /* services staged */
int bpfnet_batch_flush(struct bpfnet_batch *b, bpfnet_batch_failed_fn failed, void *arg);
void bpfnet_batch_free(struct bpfnet_batch *b);

/* Remove the service, then its slots, then its reverse-NAT entry, then its
 * count in the service-address set. Backends may be shared by services and
 * are removed with bpfnet_backend_delete(). */
int bpfnet_service_delete(struct bpfnet_maps *m, const struct bpfnet_svc_key *key);
int bpfnet_backend_upsert(struct bpfnet_maps *m, const struct bpfnet_backend_entry *b);
int bpfnet_backend_delete(struct bpfnet_maps *m, __u32 id);
/* -ENOENT when @id holds no backend. */
int bpfnet_backend_get(struct bpfnet_maps *m, __u32 id, struct bpfnet_backend *be);

/*
 * The service-address set (vip_v1): how many service entries use an
 * address. The writes above keep it (counted before a service entry
 * appears, uncounted after it is gone). -ENOENT: no service uses @addr.
 */
int bpfnet_vip_get(struct bpfnet_maps *m, __be32 addr, __u32 *services);
/* Make the set count exactly @addrs, the addresses of every service entry
 * in the map (any order; sorted in place): for maps written by a version
 * without the set, or a writer that died between an entry and its count. */
int bpfnet_vip_recount(struct bpfnet_maps *m, __be32 *addrs, size_t n);

/* Read a service and up to @max of its live backend ids (returns how many it has). */
int bpfnet_service_get(struct bpfnet_maps *m, const struct bpfnet_svc_key *key,
		       struct bpfnet_svc_value *val, __u32 *backend_ids, __u32 max);

/* Visit every entry; a non-zero return from @fn stops and is returned. For
 * per-CPU maps @value points at ncpus consecutive values. */
typedef int (*bpfnet_iter_fn)(const void *key, const void *value, void *arg);
int bpfnet_map_iterate(struct bpfnet_maps *m, enum bpfnet_map_id id, bpfnet_iter_fn fn, void *arg);
int bpfnet_map_count(struct bpfnet_maps *m, enum bpfnet_map_id id, __u32 *count);

/* false for maps that cannot be listed (ring buffer, socket storage) */
bool bpfnet_map_iterable(enum bpfnet_map_id id);

int bpfnet_config_get(struct bpfnet_maps *m, struct bpfnet_config *cfg);
int bpfnet_config_set(struct bpfnet_maps *m, const struct bpfnet_config *cfg);

int bpfnet_endpoint_upsert(struct bpfnet_maps *m, __be32 addr, const struct bpfnet_endpoint *ep);
int bpfnet_endpoint_delete(struct bpfnet_maps *m, __be32 addr);

/* Name shown for a service id ("namespace/name:port"); truncated to fit. */
int bpfnet_service_name_set(struct bpfnet_maps *m, __u32 svc_id, const char *name);
int bpfnet_service_name_delete(struct bpfnet_maps *m, __u32 svc_id);
/* Fills @buf with the name, or "" when there is none. */
void bpfnet_service_name_get(struct bpfnet_maps *m, __u32 svc_id, char *buf, size_t len);

/* The conntrack table that holds flows of @proto: TCP has its own. */
static inline enum bpfnet_map_id bpfnet_ct_map(__u8 proto)
{
	return proto == 6 /* IPPROTO_TCP */ ? BPFNET_M_CT_TCP : BPFNET_M_CT_ANY;
}

/* Read or write one conntrack entry, in the table of its protocol. */
int bpfnet_ct_lookup(struct bpfnet_maps *m, const struct bpfnet_ct_key *k,
		     struct bpfnet_ct_value *v);
int bpfnet_ct_update(struct bpfnet_maps *m, const struct bpfnet_ct_key *k,
		     const struct bpfnet_ct_value *v);

/* The datapath's rule: a flow lives while either of its two entries has
 * not expired at @now_ns (CLOCK_MONOTONIC_COARSE, as bpf_ktime_get_coarse_ns). */
bool bpfnet_ct_alive(struct bpfnet_maps *m, const struct bpfnet_ct_key *k,
		     const struct bpfnet_ct_value *v, __u64 now_ns);

/* Delete the conntrack entries @match accepts (all when NULL), in both
 * tables; *deleted counts them. Entries that vanish meanwhile are skipped. */
typedef bool (*bpfnet_ct_match_fn)(const struct bpfnet_ct_key *key,
				   const struct bpfnet_ct_value *val, void *arg);
int bpfnet_ct_flush(struct bpfnet_maps *m, bpfnet_ct_match_fn match, void *arg, __u32 *deleted);

/*
 * Maps an earlier bpfnet pinned under a layout this one replaced (ct_v1,
 * backend_v1): their entries are converted and copied into the current
 * maps, never over an entry already there. Run it once the maps are open
 * (the old datapath may still be writing the old maps), then again with
 * @retire once every program runs on the new ones: the last copy, after
 * which the old pins are removed (the kernel frees them when unused).
 */
struct bpfnet_migration {
	unsigned int maps_found, maps_retired;
	unsigned long copied, skipped; /* skipped: no place in the new layout */
};
int bpfnet_maps_migrate(struct bpfnet_maps *m, bool retire, struct bpfnet_migration *st);

/* Counters summed over CPUs, indexed by enum bpfnet_stat / DROP_BASE+reason. */
int bpfnet_stats_read(struct bpfnet_maps *m, struct bpfnet_stat_value out[BPFNET_STATS_MAX]);

/* Human text for an error returned by this library. */
const char *bpfnet_maps_strerror(const struct bpfnet_maps *m, int err, char *buf, size_t len);

#endif
