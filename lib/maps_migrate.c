// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Maps an earlier bpfnet pinned with a layout this one no longer has. A
 * layout change gives a map a new name (its _vN), so both pins can live
 * side by side while an upgrade is under way: the old datapath writes the
 * old maps until the agent has moved every program onto the new ones.
 * Their entries are converted and copied over without replacing anything
 * the new datapath already wrote, and the old pins go once nothing runs on
 * them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "maps.h"
#include "maps_internal.h"

/* conntrack before v2: one table, no reply source in the entry */
struct ct_value_v1 {
	__u64 created_ns;
	__u64 last_seen_ns;
	__u32 backend_id;
	__u32 svc_id;
	__u16 flags;
	__be16 backend_port;
	__be32 backend_addr; /* 0 in entries older than this field */
};
_Static_assert(sizeof(struct ct_value_v1) == 32, "ct_v1 value layout");

struct legacy_map {
	const char *name;
	__u32 key_size, value_size;
	/* write one old entry into the current maps; 1 when it has no place there */
	int (*convert)(struct bpfnet_maps *m, const void *key, const void *val);
};

static int ct_from_v1(struct bpfnet_maps *m, const void *key, const void *val)
{
	const struct bpfnet_ct_key *k = key;
	const struct ct_value_v1 *old = val;
	struct bpfnet_ct_value v = {
		.created_ns = old->created_ns,
		.last_seen_ns = old->last_seen_ns,
		.backend_id = old->backend_id,
		.svc_id = old->svc_id,
		.flags = old->flags,
		.backend_port = old->backend_port,
		.backend_addr = old->backend_addr,
	};
	struct bpfnet_revnat rn;
	int err;

	/* v1 kept the VIP in the service's reverse-NAT entry */
	if (bpf_map_lookup_elem(m->fd[BPFNET_M_REVNAT], &old->svc_id, &rn))
		return 1; /* its service is gone: v1 no longer translated it either */
	v.rev_addr = rn.addr;
	v.rev_port = rn.port;
	if (!v.backend_addr) {
		struct bpfnet_backend be;

		if (bpfnet_backend_get(m, old->backend_id, &be))
			return 1;
		v.backend_addr = be.addr;
		v.backend_port = be.port;
	}
	/* v2 tells a new connection on the tuple from a retransmitted SYN
	 * by this flag; a v1 TCP flow that was answered is past its SYN */
	if (k->proto == IPPROTO_TCP && k->dir == BPFNET_CT_SERVICE &&
	    (v.flags & BPFNET_CT_F_SEEN_REPLY))
		v.flags |= BPFNET_CT_F_ESTABLISHED;
	err = maps_write(m, bpfnet_ct_map(k->proto), k, &v, BPF_NOEXIST);
	return err == -EEXIST ? 1 : err; /* the new datapath wrote a fresher one */
}

/* backends before v2: a hash by id instead of an array */
static int backend_from_v1(struct bpfnet_maps *m, const void *key, const void *val)
{
	const struct bpfnet_backend *be = val;
	struct bpfnet_backend_entry e = { .id = *(const __u32 *)key, .be = *be };
	struct bpfnet_backend now;

	if (!bpfnet_backend_get(m, e.id, &now))
		return 1; /* the id is taken already */
	return bpfnet_backend_upsert(m, &e);
}

/* in this order: old flows may name their backend by id only */
static const struct legacy_map legacy[] = {
	{ "backend_v1", sizeof(__u32), sizeof(struct bpfnet_backend), backend_from_v1 },
	{ "ct_v1", sizeof(struct bpfnet_ct_key), sizeof(struct ct_value_v1), ct_from_v1 },
};

struct copy {
	struct bpfnet_maps *m;
	const struct legacy_map *l;
	struct bpfnet_migration *st;
};

static int copy_one(const void *key, const void *val, void *arg)
{
	struct copy *c = arg;
	int ret = c->l->convert(c->m, key, val);

	if (ret < 0)
		return ret;
	if (ret)
		c->st->skipped++;
	else
		c->st->copied++;
	return 0;
}

/* Entries of a map that is not one of ours by id: walked by fd. */
static int walk_fd(int fd, __u32 key_size, __u32 value_size, struct copy *c)
{
	void *key = calloc(1, key_size), *next = calloc(1, key_size), *val = calloc(1, value_size);
	int err;

	if (!key || !next || !val) {
		err = -ENOMEM;
		goto out;
	}
	err = bpf_map_get_next_key(fd, NULL, next);
	while (!err) {
		memcpy(key, next, key_size);
		if (!bpf_map_lookup_elem(fd, key, val)) {
			err = copy_one(key, val, c);
			if (err)
				goto out;
		}
		err = bpf_map_get_next_key(fd, key, next);
	}
	err = errno == ENOENT ? 0 : -errno;
out:
	free(key);
	free(next);
	free(val);
	return err;
}

int bpfnet_maps_migrate(struct bpfnet_maps *m, bool retire, struct bpfnet_migration *st)
{
	int err = 0;

	memset(st, 0, sizeof(*st));
	for (size_t i = 0; i < sizeof(legacy) / sizeof(legacy[0]) && !err; i++) {
		const struct legacy_map *l = &legacy[i];
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);
		struct copy c = { .m = m, .l = l, .st = st };
		char path[PATH_MAX + 32];
		int fd;

		snprintf(path, sizeof(path), "%s/%s", m->pin_dir, l->name);
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		if (bpf_obj_get_info_by_fd(fd, &info, &len) || info.key_size != l->key_size ||
		    info.value_size != l->value_size) {
			close(fd); /* not the layout we know under that name: left alone */
			continue;
		}
		st->maps_found++;
		err = walk_fd(fd, l->key_size, l->value_size, &c);
		close(fd);
		if (!err && retire) {
			if (unlink(path) && errno != ENOENT)
				err = -errno;
			else
				st->maps_retired++;
		}
	}
	return err;
}
