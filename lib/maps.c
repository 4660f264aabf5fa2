// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "maps.h"
#include "maps_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfnet_maps.skel.h"

struct map_desc {
	const char *name;
	__u32 default_size;
};

static const struct map_desc map_descs[BPFNET_M_COUNT] = {
	[BPFNET_M_SVC] = { BPFNET_MAP_SVC, BPFNET_DEFAULT_SVC_MAX },
	[BPFNET_M_SLOT] = { BPFNET_MAP_SLOT, BPFNET_DEFAULT_SLOT_MAX },
	[BPFNET_M_BACKEND] = { BPFNET_MAP_BACKEND, BPFNET_DEFAULT_BACKEND_MAX },
	[BPFNET_M_REVNAT] = { BPFNET_MAP_REVNAT, BPFNET_DEFAULT_REVNAT_MAX },
	[BPFNET_M_CT_TCP] = { BPFNET_MAP_CT_TCP, BPFNET_DEFAULT_CT_TCP_MAX },
	[BPFNET_M_CT_ANY] = { BPFNET_MAP_CT_ANY, BPFNET_DEFAULT_CT_ANY_MAX },
	[BPFNET_M_FRAG] = { BPFNET_MAP_FRAG, BPFNET_DEFAULT_FRAG_MAX },
	[BPFNET_M_SOCK_REV] = { BPFNET_MAP_SOCK_REV, BPFNET_DEFAULT_SOCK_REV_MAX },
	[BPFNET_M_STATS] = { BPFNET_MAP_STATS, BPFNET_STATS_MAX },
	[BPFNET_M_SOCK_PEER] = { BPFNET_MAP_SOCK_PEER, 0 }, /* sized by its sockets */
	[BPFNET_M_CONFIG] = { BPFNET_MAP_CONFIG, 1 },
	[BPFNET_M_EVENTS] = { BPFNET_MAP_EVENTS, BPFNET_DEFAULT_EVENTS_BYTES },
	[BPFNET_M_ENDPOINT] = { BPFNET_MAP_ENDPOINT, BPFNET_DEFAULT_ENDPOINT_MAX },
	[BPFNET_M_SVC_NAME] = { BPFNET_MAP_SVC_NAME, BPFNET_DEFAULT_SVC_MAX },
	[BPFNET_M_VIP] = { BPFNET_MAP_VIP, BPFNET_DEFAULT_SVC_MAX },
	[BPFNET_M_SOCK_PENDING] = { BPFNET_MAP_SOCK_PENDING, BPFNET_DEFAULT_SOCK_PENDING_MAX },
};

const char *bpfnet_map_name(enum bpfnet_map_id id)
{
	return id < BPFNET_M_COUNT ? map_descs[id].name : "?";
}

__u32 bpfnet_map_default_size(enum bpfnet_map_id id)
{
	return id < BPFNET_M_COUNT ? map_descs[id].default_size : 0;
}

int bpfnet_map_id_by_name(const char *name)
{
	for (int i = 0; i < BPFNET_M_COUNT; i++)
		if (!strcmp(name, map_descs[i].name))
			return i;
	return -1;
}

static int pin_path(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int mkdir_p(const char *dir)
{
	char tmp[PATH_MAX];
	size_t len = strlen(dir);

	if (len == 0 || len >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, dir, len + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

/* Pins only work on bpffs; catch a plain directory with a clear error. */
static int check_bpffs(const char *dir)
{
	struct statfs st;

	if (statfs(dir, &st))
		return -errno;
	return st.f_type == BPF_FS_MAGIC ? 0 : -ENOTSUP;
}

/* The backend array has one element more than its capacity: id 0 is never a
 * backend. Everything else holds what it says. */
static __u32 capacity_of(int id, __u32 max_entries)
{
	return id == BPFNET_M_BACKEND && max_entries ? max_entries - 1 : max_entries;
}

/* A pin whose layout differs was made by an incompatible bpfnet. */
static int check_pinned(int fd, struct bpf_map *spec, int id, __u32 *max_entries)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int err = bpf_obj_get_info_by_fd(fd, &info, &len);

	if (err)
		return -errno;
	if (info.type != bpf_map__type(spec) || info.key_size != bpf_map__key_size(spec) ||
	    info.value_size != bpf_map__value_size(spec))
		return -EPROTO;
	*max_entries = capacity_of(id, info.max_entries);
	return 0;
}

static int maps_open_once(struct bpfnet_maps *m, const struct bpfnet_map_sizes *sizes,
			  unsigned int flags)
{
	struct bpfnet_maps_skel *skel;
	bool reused[BPFNET_M_COUNT] = {};
	struct bpf_map *map;
	char path[PATH_MAX];
	int err = 0;

	skel = bpfnet_maps_skel__open();
	if (!skel)
		return -errno;

	bpf_object__for_each_map(map, skel->obj) {
		int id = bpfnet_map_id_by_name(bpf_map__name(map));
		int fd;

		if (id < 0)
			continue;
		err = pin_path(path, sizeof(path), m->pin_dir, map_descs[id].name);
		if (err)
			goto out;
		fd = bpf_obj_get(path);
		if (fd >= 0) {
			err = check_pinned(fd, map, id, &m->max_entries[id]);
			if (!err)
				err = bpf_map__reuse_fd(map, fd);
			close(fd);
			if (err) {
				m->err_map = id;
				goto out;
			}
			reused[id] = true;
			continue;
		}
		if (errno != ENOENT || !(flags & BPFNET_MAPS_CREATE)) {
			err = -errno;
			m->err_map = id;
			goto out;
		}
		/* stats and config are indexed by fixed ids and socket storage
		 * has no capacity: only the others are sized */
		if (id != BPFNET_M_STATS && id != BPFNET_M_SOCK_PEER && id != BPFNET_M_CONFIG &&
		    sizes && sizes->max_entries[id]) {
			__u32 n = sizes->max_entries[id] + (id == BPFNET_M_BACKEND);

			err = bpf_map__set_max_entries(map, n);
			if (err)
				goto out;
		}
		m->max_entries[id] = capacity_of(id, bpf_map__max_entries(map));
		m->created[id] = true;
	}

	err = bpf_object__load(skel->obj);
	if (err)
		goto out;

	bpf_object__for_each_map(map, skel->obj) {
		int id = bpfnet_map_id_by_name(bpf_map__name(map));

		if (id < 0)
			continue;
		if (!reused[id]) {
			err = pin_path(path, sizeof(path), m->pin_dir, map_descs[id].name);
			if (!err)
				err = bpf_map__pin(map, path);
			if (err) {
				m->err_map = id;
				goto out;
			}
		}
		m->fd[id] = dup(bpf_map__fd(map));
		if (m->fd[id] < 0) {
			err = -errno;
			goto out;
		}
	}
out:
	bpfnet_maps_skel__destroy(skel);
	return err;
}

int bpfnet_maps_open(struct bpfnet_maps *m, const char *pin_dir,
		     const struct bpfnet_map_sizes *sizes, unsigned int flags)
{
	int err;

	memset(m, 0, sizeof(*m));
	for (int i = 0; i < BPFNET_M_COUNT; i++)
		m->fd[i] = -1;
	m->err_map = -1;
	if (!pin_dir)
		pin_dir = BPFNET_PIN_DIR_DEFAULT;
	if (strlen(pin_dir) >= sizeof(m->pin_dir))
		return -ENAMETOOLONG;
	strcpy(m->pin_dir, pin_dir);
	m->ncpus = libbpf_num_possible_cpus();
	if (m->ncpus <= 0)
		return m->ncpus ? m->ncpus : -EINVAL;

	if (flags & BPFNET_MAPS_CREATE) {
		err = mkdir_p(pin_dir);
		if (err)
			return err;
	}
	err = check_bpffs(pin_dir);
	if (err)
		return err;

	err = maps_open_once(m, sizes, flags);
	/* another process (agent vs CNI plugin) pinned the same map first */
	if (err == -EEXIST) {
		bpfnet_maps_close(m);
		m->err_map = -1;
		err = maps_open_once(m, sizes, flags & ~BPFNET_MAPS_CREATE);
	}
	if (err) {
		int err_map = m->err_map;

		bpfnet_maps_close(m);
		m->err_map = err_map;
	}
	return err;
}

void bpfnet_maps_close(struct bpfnet_maps *m)
{
	for (int i = 0; i < BPFNET_M_COUNT; i++) {
		if (m->fd[i] >= 0)
			close(m->fd[i]);
		m->fd[i] = -1;
		m->created[i] = false;
	}
}

int bpfnet_maps_unpin(const char *pin_dir)
{
	char path[PATH_MAX];
	int err = 0;

	for (int i = 0; i < BPFNET_M_COUNT; i++) {
		if (pin_path(path, sizeof(path), pin_dir, map_descs[i].name))
			return -ENAMETOOLONG;
		if (unlink(path) && errno != ENOENT)
			err = -errno;
	}
	return err;
}

/* Map writes: a full hash map answers E2BIG, which callers see as ENOSPC. */
int maps_write(struct bpfnet_maps *m, enum bpfnet_map_id id, const void *key, const void *val,
	       __u64 flags)
{
	if (!bpf_map_update_elem(m->fd[id], key, val, flags))
		return 0;
	m->err_map = id;
	return errno == E2BIG ? -ENOSPC : -errno;
}

int maps_remove(struct bpfnet_maps *m, enum bpfnet_map_id id, const void *key)
{
	if (!bpf_map_delete_elem(m->fd[id], key) || errno == ENOENT)
		return 0;
	m->err_map = id;
	return -errno;
}

int maps_slots_delete(struct bpfnet_maps *m, __u32 svc_id, __u8 gen, __u32 from, __u32 to)
{
	struct bpfnet_slot_key sk = { .svc_id = svc_id, .gen = gen };
	int err = 0;

	for (__u32 i = from; i < to; i++) {
		sk.slot = (__u16)i;
		int e = maps_remove(m, BPFNET_M_SLOT, &sk);

		if (e && !err)
			err = e;
	}
	return err;
}

/* An id past the array is what a full hash map was: ENOSPC. */
int bpfnet_backend_upsert(struct bpfnet_maps *m, const struct bpfnet_backend_entry *b)
{
	if (!b->id || !b->be.addr)
		return -EINVAL;
	return maps_write(m, BPFNET_M_BACKEND, &b->id, &b->be, BPF_ANY);
}

/* Array elements cannot be deleted: zeros are no backend. */
int bpfnet_backend_delete(struct bpfnet_maps *m, __u32 id)
{
	static const struct bpfnet_backend none;

	if (!id || id > m->max_entries[BPFNET_M_BACKEND])
		return 0;
	return maps_write(m, BPFNET_M_BACKEND, &id, &none, BPF_ANY);
}

int bpfnet_backend_get(struct bpfnet_maps *m, __u32 id, struct bpfnet_backend *be)
{
	if (!id || id > m->max_entries[BPFNET_M_BACKEND])
		return -ENOENT;
	if (bpf_map_lookup_elem(m->fd[BPFNET_M_BACKEND], &id, be))
		return -errno;
	return be->addr ? 0 : -ENOENT;
}

int maps_spec_check(const struct bpfnet_service_spec *spec)
{
	if (!spec->id || spec->n_backends > BPFNET_MAX_BACKENDS_PER_SVC ||
	    (spec->n_backends && !spec->backends))
		return -EINVAL;
	for (__u32 i = 0; i < spec->n_backends; i++)
		if (!spec->backends[i].id || !spec->backends[i].be.addr)
			return -EINVAL;
	return 0;
}

int bpfnet_service_upsert(struct bpfnet_maps *m, const struct bpfnet_svc_key *key,
			  const struct bpfnet_service_spec *spec)
{
	struct bpfnet_svc_value old = {}, val = {};
	struct bpfnet_revnat rn = { .addr = key->addr, .port = key->port };
	struct bpfnet_slot_key sk = {};
	bool had_old;
	int err = maps_spec_check(spec);

	if (err)
		return err;
	m->err_map = -1;

	for (__u32 i = 0; i < spec->n_backends; i++) {
		err = bpfnet_backend_upsert(m, &spec->backends[i]);
		if (err)
			return err;
	}

	had_old = !bpf_map_lookup_elem(m->fd[BPFNET_M_SVC], key, &old);
	val.id = spec->id;
	val.count = (__u16)spec->n_backends;
	/* a service that changes id starts its own slot space */
	val.slot_gen = had_old && old.id == spec->id ? old.slot_gen ^ 1 : 0;
	val.flags = spec->flags;
	val.affinity_timeout_s = spec->affinity_timeout_s;

	sk.svc_id = val.id;
	sk.gen = val.slot_gen;
	for (__u32 i = 0; i < spec->n_backends; i++) {
		sk.slot = (__u16)i;
		err = maps_write(m, BPFNET_M_SLOT, &sk, &spec->backends[i].id, BPF_ANY);
		if (err) {
			maps_slots_delete(m, val.id, val.slot_gen, 0, i);
			return err;
		}
	}

	err = maps_write(m, BPFNET_M_REVNAT, &val.id, &rn, BPF_ANY);
	/* a new entry's address is in the set before the entry exists */
	if (!err && !had_old)
		err = maps_vip_ref(m, key->addr, 1);
	if (!err) {
		err = maps_write(m, BPFNET_M_SVC, key, &val, BPF_ANY);
		if (err && !had_old)
			maps_vip_ref(m, key->addr, -1);
	}
	if (err) {
		/* a revnat entry of a live service (same id) stays */
		if (!had_old || old.id != val.id)
			maps_remove(m, BPFNET_M_REVNAT, &val.id);
		maps_slots_delete(m, val.id, val.slot_gen, 0, spec->n_backends);
		return err;
	}

	if (!had_old)
		return 0;
	/* Stale slots of the previous generation (and its extra slots when
	 * the id stayed): failure to delete leaves garbage, not wrong routing. */
	maps_slots_delete(m, old.id, old.slot_gen, 0, old.count);
	if (old.id != val.id)
		maps_remove(m, BPFNET_M_REVNAT, &old.id);
	return 0;
}

int bpfnet_service_delete(struct bpfnet_maps *m, const struct bpfnet_svc_key *key)
{
	struct bpfnet_svc_value val;
	int err, vip_err;

	m->err_map = -1;
	if (bpf_map_lookup_elem(m->fd[BPFNET_M_SVC], key, &val))
		return errno == ENOENT ? -ENOENT : -errno;
	err = maps_remove(m, BPFNET_M_SVC, key);
	if (err)
		return err;
	err = maps_slots_delete(m, val.id, val.slot_gen, 0, val.count);
	if (!err)
		err = maps_remove(m, BPFNET_M_REVNAT, &val.id);
	/* the entry is gone whatever else failed: so is its count */
	vip_err = maps_vip_ref(m, key->addr, -1);
	return err ? err : vip_err;
}

int bpfnet_service_get(struct bpfnet_maps *m, const struct bpfnet_svc_key *key,
		       struct bpfnet_svc_value *val, __u32 *backend_ids, __u32 max)
{
	struct bpfnet_slot_key sk = {};

	if (bpf_map_lookup_elem(m->fd[BPFNET_M_SVC], key, val))
		return -errno;
	sk.svc_id = val->id;
	sk.gen = val->slot_gen;
	for (__u32 i = 0; i < val->count && i < max; i++) {
		sk.slot = (__u16)i;
		if (bpf_map_lookup_elem(m->fd[BPFNET_M_SLOT], &sk, &backend_ids[i]))
			backend_ids[i] = 0;
	}
	return val->count;
}

/* The backend array in batches, skipping ids that hold no backend: one
 * syscall per 4096 ids instead of two per id. */
static int backend_iterate(struct bpfnet_maps *m, bpfnet_iter_fn fn, void *arg)
{
	enum { CHUNK = 4096 };
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	struct bpfnet_backend *vals = calloc(CHUNK, sizeof(*vals));
	__u32 *keys = calloc(CHUNK, sizeof(*keys));
	__u32 in = 0, out = 0;
	bool first = true, last = false;
	int err = 0;

	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	while (!last && !err) {
		__u32 n = CHUNK;

		if (bpf_map_lookup_batch(m->fd[BPFNET_M_BACKEND], first ? NULL : &in, &out, keys,
					 vals, &n, &opts)) {
			if (errno != ENOENT) {
				err = -errno;
				break;
			}
			last = true; /* n holds the final elements */
		}
		for (__u32 i = 0; i < n && !err; i++)
			if (vals[i].addr)
				err = fn(&keys[i], &vals[i], arg);
		in = out;
		first = false;
	}
out:
	free(keys);
	free(vals);
	return err;
}

/* A hash map in batches: one syscall per CHUNK entries instead of two per
 * entry (a conntrack table holds 131,072). -EOPNOTSUPP when the kernel
 * cannot, before anything was visited. */
static int hash_iterate(int fd, __u32 key_size, __u32 value_size, bpfnet_iter_fn fn, void *arg)
{
	enum { CHUNK = 1024 };
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	char *keys = malloc((size_t)CHUNK * key_size), *vals = malloc((size_t)CHUNK * value_size);
	__u64 in = 0, out = 0; /* bucket positions */
	bool first = true, last = false;
	int err = 0;

	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	while (!last && !err) {
		__u32 n = CHUNK;

		if (bpf_map_lookup_batch(fd, first ? NULL : &in, &out, keys, vals, &n, &opts)) {
			if (errno != ENOENT) {
				err = first && (errno == EINVAL || errno == ENOTSUP || errno == EOPNOTSUPP)
					      ? -EOPNOTSUPP : -errno;
				break;
			}
			last = true; /* n holds the final elements */
		}
		for (__u32 i = 0; i < n && !err; i++)
			err = fn(keys + (size_t)i * key_size, vals + (size_t)i * value_size, arg);
		in = out;
		first = false;
	}
out:
	free(keys);
	free(vals);
	return err;
}

int bpfnet_map_iterate(struct bpfnet_maps *m, enum bpfnet_map_id id, bpfnet_iter_fn fn, void *arg)
{
	struct bpf_map_info info = {};
	__u32 info_len = sizeof(info);
	void *key = NULL, *next = NULL, *val = NULL;
	size_t vsize;
	int err;

	if (id >= BPFNET_M_COUNT || m->fd[id] < 0)
		return -EBADF;
	if (id == BPFNET_M_BACKEND)
		return backend_iterate(m, fn, arg);
	if (bpf_obj_get_info_by_fd(m->fd[id], &info, &info_len))
		return -errno;
	vsize = info.value_size;
	if (info.type == BPF_MAP_TYPE_HASH || info.type == BPF_MAP_TYPE_LRU_HASH) {
		err = hash_iterate(m->fd[id], info.key_size, vsize, fn, arg);
		if (err != -EOPNOTSUPP)
			return err;
	}
	if (info.type == BPF_MAP_TYPE_PERCPU_ARRAY || info.type == BPF_MAP_TYPE_PERCPU_HASH ||
	    info.type == BPF_MAP_TYPE_LRU_PERCPU_HASH)
		vsize = ((vsize + 7) & ~(size_t)7) * m->ncpus;
	key = calloc(1, info.key_size);
	next = calloc(1, info.key_size);
	val = calloc(1, vsize);
	if (!key || !next || !val) {
		err = -ENOMEM;
		goto out;
	}
	err = bpf_map_get_next_key(m->fd[id], NULL, next);
	while (!err) {
		memcpy(key, next, info.key_size);
		/* an entry deleted between the two calls is simply skipped */
		if (!bpf_map_lookup_elem(m->fd[id], key, val)) {
			err = fn(key, val, arg);
			if (err)
				goto out;
		}
		err = bpf_map_get_next_key(m->fd[id], key, next);
	}
	err = errno == ENOENT ? 0 : -errno;
out:
	free(key);
	free(next);
	free(val);
	return err;
}

static int count_one(const void *key, const void *val, void *arg)
{
	(void)key;
	(void)val;
	(*(__u32 *)arg)++;
	return 0;
}

int bpfnet_map_count(struct bpfnet_maps *m, enum bpfnet_map_id id, __u32 *count)
{
	*count = 0;
	return bpfnet_map_iterate(m, id, count_one, count);
}

/* The pending-peer array is all slots, used or stale: a count says nothing. */
bool bpfnet_map_iterable(enum bpfnet_map_id id)
{
	return id != BPFNET_M_EVENTS && id != BPFNET_M_SOCK_PEER && id != BPFNET_M_SOCK_PENDING;
}

int bpfnet_config_get(struct bpfnet_maps *m, struct bpfnet_config *cfg)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(m->fd[BPFNET_M_CONFIG], &zero, cfg) ? -errno : 0;
}

int bpfnet_config_set(struct bpfnet_maps *m, const struct bpfnet_config *cfg)
{
	__u32 zero = 0;

	return maps_write(m, BPFNET_M_CONFIG, &zero, cfg, BPF_ANY);
}

int bpfnet_endpoint_upsert(struct bpfnet_maps *m, __be32 addr, const struct bpfnet_endpoint *ep)
{
	return maps_write(m, BPFNET_M_ENDPOINT, &addr, ep, BPF_ANY);
}

int bpfnet_endpoint_delete(struct bpfnet_maps *m, __be32 addr)
{
	return maps_remove(m, BPFNET_M_ENDPOINT, &addr);
}

int bpfnet_service_name_set(struct bpfnet_maps *m, __u32 svc_id, const char *name)
{
	struct bpfnet_svc_name n = {};

	snprintf(n.name, sizeof(n.name), "%s", name);
	return maps_write(m, BPFNET_M_SVC_NAME, &svc_id, &n, BPF_ANY);
}

int bpfnet_service_name_delete(struct bpfnet_maps *m, __u32 svc_id)
{
	return maps_remove(m, BPFNET_M_SVC_NAME, &svc_id);
}

void bpfnet_service_name_get(struct bpfnet_maps *m, __u32 svc_id, char *buf, size_t len)
{
	struct bpfnet_svc_name n;

	if (len == 0)
		return;
	buf[0] = '\0';
	if (m->fd[BPFNET_M_SVC_NAME] >= 0 &&
	    !bpf_map_lookup_elem(m->fd[BPFNET_M_SVC_NAME], &svc_id, &n)) {
		n.name[sizeof(n.name) - 1] = '\0';
		snprintf(buf, len, "%s", n.name);
	}
}

/* Keys are collected first and deleted after the walk: deleting under
 * get_next_key restarts it from the first bucket. Each entry is checked
 * again right before it is deleted. */
struct ct_flush_ctx {
	bpfnet_ct_match_fn match;
	void *arg;
	struct bpfnet_ct_key *keys;
	size_t n, cap;
};

static int ct_flush_collect(const void *key, const void *val, void *arg)
{
	struct ct_flush_ctx *c = arg;

	if (c->match && !c->match(key, val, c->arg))
		return 0;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		struct bpfnet_ct_key *keys = realloc(c->keys, cap * sizeof(*keys));

		if (!keys)
			return -ENOMEM;
		c->keys = keys;
		c->cap = cap;
	}
	c->keys[c->n++] = *(const struct bpfnet_ct_key *)key;
	return 0;
}

int bpfnet_ct_lookup(struct bpfnet_maps *m, const struct bpfnet_ct_key *k,
		     struct bpfnet_ct_value *v)
{
	return bpf_map_lookup_elem(m->fd[bpfnet_ct_map(k->proto)], k, v) ? -errno : 0;
}

int bpfnet_ct_update(struct bpfnet_maps *m, const struct bpfnet_ct_key *k,
		     const struct bpfnet_ct_value *v)
{
	return maps_write(m, bpfnet_ct_map(k->proto), k, v, BPF_ANY);
}

bool bpfnet_ct_alive(struct bpfnet_maps *m, const struct bpfnet_ct_key *k,
		     const struct bpfnet_ct_value *v, __u64 now_ns)
{
	struct bpfnet_ct_key twin;
	struct bpfnet_ct_value t;

	if (!bpfnet_ct_expired(v, k->proto, now_ns))
		return true;
	bpfnet_ct_twin_key(k, v, &twin);
	return !bpfnet_ct_lookup(m, &twin, &t) && !bpfnet_ct_expired(&t, k->proto, now_ns);
}

int bpfnet_ct_flush(struct bpfnet_maps *m, bpfnet_ct_match_fn match, void *arg, __u32 *deleted)
{
	static const enum bpfnet_map_id tables[] = { BPFNET_M_CT_TCP, BPFNET_M_CT_ANY };
	__u32 n = 0;
	int err = 0;

	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]) && !err; t++) {
		struct ct_flush_ctx c = { .match = match, .arg = arg };
		int fd = m->fd[tables[t]];

		err = bpfnet_map_iterate(m, tables[t], ct_flush_collect, &c);
		for (size_t i = 0; !err && i < c.n; i++) {
			struct bpfnet_ct_value now;

			/* The datapath may have reused the tuple since the walk (a
			 * reopened connection to another backend): delete only what
			 * still matches, or a live flow would lose its entry. */
			if (match && (bpf_map_lookup_elem(fd, &c.keys[i], &now) ||
				      !match(&c.keys[i], &now, arg)))
				continue;
			if (!bpf_map_delete_elem(fd, &c.keys[i]))
				n++;
		}
		free(c.keys);
	}
	if (deleted)
		*deleted = n;
	return err;
}

int bpfnet_stats_read(struct bpfnet_maps *m, struct bpfnet_stat_value out[BPFNET_STATS_MAX])
{
	struct bpfnet_stat_value *percpu;
	int err = 0;

	percpu = calloc(m->ncpus, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	for (__u32 i = 0; i < BPFNET_STATS_MAX; i++) {
		out[i].packets = out[i].bytes = 0;
		if (bpf_map_lookup_elem(m->fd[BPFNET_M_STATS], &i, percpu)) {
			err = -errno;
			break;
		}
		for (int c = 0; c < m->ncpus; c++) {
			out[i].packets += percpu[c].packets;
			out[i].bytes += percpu[c].bytes;
		}
	}
	free(percpu);
	return err;
}

const char *bpfnet_maps_strerror(const struct bpfnet_maps *m, int err, char *buf, size_t len)
{
	const char *map = m && m->err_map >= 0 ? map_descs[m->err_map].name : NULL;

	switch (err) {
	case -ENOSPC:
		snprintf(buf, len, "map %s is full", map ? map : "?");
		break;
	case -EPROTO:
		snprintf(buf, len, "pinned map %s/%s has an incompatible layout; remove it",
			 m ? m->pin_dir : "", map ? map : "?");
		break;
	case -ENOTSUP:
		snprintf(buf, len, "%s is not on a bpf filesystem (mount -t bpf bpf DIR)",
			 m ? m->pin_dir : "pin dir");
		break;
	case -ENOENT:
		if (map)
			snprintf(buf, len, "map %s not pinned in %s (is the agent running? wrong "
				 "--pin-dir?)", map, m->pin_dir);
		else if (m && m->pin_dir[0] && access(m->pin_dir, F_OK))
			snprintf(buf, len, "%s does not exist (is the agent running? wrong "
				 "--pin-dir?)", m->pin_dir);
		else
			snprintf(buf, len, "not found");
		break;
	default:
		snprintf(buf, len, "%s%s%s", map ? map : "", map ? ": " : "", strerror(-err));
	}
	return buf;
}
