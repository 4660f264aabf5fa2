// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Staged creation of many services: one BPF_MAP_UPDATE_BATCH per map and
 * flush instead of one syscall per element. A cold sync of 10,000 services
 * with 10 backends each is ~230,000 elements; the syscall per element costs
 * about as much as the hash insert itself.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "maps.h"
#include "maps_internal.h"

/* One map's staged elements; owner[i] is the staged service element i
 * belongs to, so a failed element fails exactly its service. */
struct batch_queue {
	enum bpfnet_map_id map;
	size_t key_size, val_size;
	char *keys, *vals;
	__u32 *owner;
	size_t n, cap;
};

struct staged_service {
	struct bpfnet_svc_key key;
	__u32 id, n_slots;
	void *cookie;
	int err;     /* first failure, 0 while fine */
	int err_map; /* the map that refused it */
	bool vip_counted; /* its address counts it in the service-address set */
};

/* the order of the writes: everything a service entry points at first */
enum { Q_BACKEND, Q_SLOT, Q_REVNAT, Q_SVC, Q_NAME, Q_COUNT };

struct bpfnet_batch {
	struct bpfnet_maps *m;
	struct batch_queue q[Q_COUNT];
	struct staged_service *svcs;
	__u32 *by_addr; /* indices into svcs, for counting addresses */
	size_t n_svcs, cap_svcs;
};

struct bpfnet_batch *bpfnet_batch_new(struct bpfnet_maps *m)
{
	struct bpfnet_batch *b = calloc(1, sizeof(*b));
	static const struct {
		enum bpfnet_map_id map;
		size_t key_size, val_size;
	} layout[Q_COUNT] = {
		[Q_BACKEND] = { BPFNET_M_BACKEND, sizeof(__u32), sizeof(struct bpfnet_backend) },
		[Q_SLOT] = { BPFNET_M_SLOT, sizeof(struct bpfnet_slot_key), sizeof(__u32) },
		[Q_REVNAT] = { BPFNET_M_REVNAT, sizeof(__u32), sizeof(struct bpfnet_revnat) },
		[Q_SVC] = { BPFNET_M_SVC, sizeof(struct bpfnet_svc_key),
			    sizeof(struct bpfnet_svc_value) },
		[Q_NAME] = { BPFNET_M_SVC_NAME, sizeof(__u32), sizeof(struct bpfnet_svc_name) },
	};

	if (!b)
		return NULL;
	b->m = m;
	for (int i = 0; i < Q_COUNT; i++) {
		b->q[i].map = layout[i].map;
		b->q[i].key_size = layout[i].key_size;
		b->q[i].val_size = layout[i].val_size;
	}
	return b;
}

void bpfnet_batch_free(struct bpfnet_batch *b)
{
	if (!b)
		return;
	for (int i = 0; i < Q_COUNT; i++) {
		free(b->q[i].keys);
		free(b->q[i].vals);
		free(b->q[i].owner);
	}
	free(b->svcs);
	free(b->by_addr);
	free(b);
}

size_t bpfnet_batch_size(const struct bpfnet_batch *b)
{
	return b->n_svcs;
}

static int queue_reserve(struct batch_queue *q, size_t more)
{
	size_t cap = q->cap ? q->cap : 256;
	char *k, *v;
	__u32 *o;

	if (q->n + more <= q->cap)
		return 0;
	while (cap < q->n + more)
		cap *= 2;
	k = realloc(q->keys, cap * q->key_size);
	if (k)
		q->keys = k;
	v = k ? realloc(q->vals, cap * q->val_size) : NULL;
	if (v)
		q->vals = v;
	o = v ? realloc(q->owner, cap * sizeof(*o)) : NULL;
	if (!o)
		return -ENOMEM;
	q->owner = o;
	q->cap = cap;
	return 0;
}

static void queue_push(struct batch_queue *q, const void *key, const void *val, __u32 owner)
{
	memcpy(q->keys + q->n * q->key_size, key, q->key_size);
	memcpy(q->vals + q->n * q->val_size, val, q->val_size);
	q->owner[q->n++] = owner;
}

int bpfnet_batch_add_service(struct bpfnet_batch *b, const struct bpfnet_svc_key *key,
			     const struct bpfnet_service_spec *spec, const char *name,
			     void *cookie)
{
	struct bpfnet_revnat rn = { .addr = key->addr, .port = key->port };
	struct bpfnet_svc_value val = {};
	struct bpfnet_slot_key sk = {};
	struct bpfnet_svc_name nm = {};
	__u32 owner = (__u32)b->n_svcs;
	size_t n = spec->n_backends;

	if (maps_spec_check(spec))
		return -EINVAL;
	/* reserve everything first: a service is staged whole or not at all */
	if (queue_reserve(&b->q[Q_BACKEND], n) || queue_reserve(&b->q[Q_SLOT], n) ||
	    queue_reserve(&b->q[Q_REVNAT], 1) || queue_reserve(&b->q[Q_SVC], 1) ||
	    queue_reserve(&b->q[Q_NAME], 1))
		return -ENOMEM;
	if (b->n_svcs == b->cap_svcs) {
		size_t cap = b->cap_svcs ? b->cap_svcs * 2 : 256;
		struct staged_service *v = realloc(b->svcs, cap * sizeof(*v));
		__u32 *o;

		if (!v)
			return -ENOMEM;
		b->svcs = v;
		o = realloc(b->by_addr, cap * sizeof(*o));
		if (!o)
			return -ENOMEM;
		b->by_addr = o;
		b->cap_svcs = cap;
	}

	sk.svc_id = spec->id; /* a new service: generation 0 */
	for (size_t i = 0; i < n; i++) {
		queue_push(&b->q[Q_BACKEND], &spec->backends[i].id, &spec->backends[i].be, owner);
		sk.slot = (__u16)i;
		queue_push(&b->q[Q_SLOT], &sk, &spec->backends[i].id, owner);
	}
	queue_push(&b->q[Q_REVNAT], &spec->id, &rn, owner);
	val.id = spec->id;
	val.count = (__u16)n;
	val.flags = spec->flags;
	val.affinity_timeout_s = spec->affinity_timeout_s;
	queue_push(&b->q[Q_SVC], key, &val, owner);
	snprintf(nm.name, sizeof(nm.name), "%s", name ? name : "");
	queue_push(&b->q[Q_NAME], &spec->id, &nm, owner);

	b->svcs[owner] = (struct staged_service){ .key = *key, .id = spec->id,
						  .n_slots = (__u32)n, .cookie = cookie };
	b->n_svcs++;
	return 0;
}

/* Drop the elements of services that failed at an earlier stage. */
static void queue_compact(struct batch_queue *q, const struct staged_service *svcs)
{
	size_t out = 0;

	for (size_t i = 0; i < q->n; i++) {
		if (svcs[q->owner[i]].err)
			continue;
		if (out != i) {
			memcpy(q->keys + out * q->key_size, q->keys + i * q->key_size, q->key_size);
			memcpy(q->vals + out * q->val_size, q->vals + i * q->val_size, q->val_size);
			q->owner[out] = q->owner[i];
		}
		out++;
	}
	q->n = out;
}

/* Write a queue: one batch call; from the first element it did not take,
 * element by element, so each failure is pinned on its service (unless
 * @fatal is false: a missing name is cosmetic). */
static void queue_write(struct bpfnet_batch *b, struct batch_queue *q, bool fatal)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);
	int fd = b->m->fd[q->map];
	__u32 done;

	queue_compact(q, b->svcs);
	done = (__u32)q->n;
	if (!q->n || !bpf_map_update_batch(fd, q->keys, q->vals, &done, &opts))
		return;
	if (done > q->n) /* a kernel without batch support may leave it untouched */
		done = 0;
	for (size_t i = done; i < q->n; i++) {
		struct staged_service *s = &b->svcs[q->owner[i]];
		int err;

		if (s->err)
			continue;
		err = maps_write(b->m, q->map, q->keys + i * q->key_size,
				 q->vals + i * q->val_size, BPF_ANY);
		if (err && fatal) {
			s->err = err;
			s->err_map = q->map;
		}
	}
}

static int cmp_staged_addr(const void *a, const void *b, void *svcs)
{
	const struct staged_service *s = svcs;
	__be32 x = s[*(const __u32 *)a].key.addr, y = s[*(const __u32 *)b].key.addr;

	return x < y ? -1 : x > y;
}

/* Count the services about to get their entries in the service-address
 * set: one write per distinct address (ten services on one ClusterIP are
 * one). An address the set refuses fails its services. */
static void vip_count(struct bpfnet_batch *b)
{
	size_t n = 0;

	for (size_t i = 0; i < b->n_svcs; i++)
		if (!b->svcs[i].err)
			b->by_addr[n++] = (__u32)i;
	if (n)
		qsort_r(b->by_addr, n, sizeof(*b->by_addr), cmp_staged_addr, b->svcs);
	for (size_t i = 0, j; i < n; i = j) {
		__be32 addr = b->svcs[b->by_addr[i]].key.addr;
		int err;

		for (j = i + 1; j < n && b->svcs[b->by_addr[j]].key.addr == addr; j++)
			;
		err = maps_vip_add(b->m, addr, (__u32)(j - i));
		for (size_t k = i; k < j; k++) {
			struct staged_service *s = &b->svcs[b->by_addr[k]];

			s->vip_counted = !err;
			if (err) {
				s->err = err;
				s->err_map = BPFNET_M_VIP;
			}
		}
	}
}

/* What a failed service may have left: its slots, reverse NAT, name and
 * address count (its service entry is the last write, so it never got
 * one). Backends belong to the caller: they may be shared. */
static void staged_cleanup(struct bpfnet_batch *b, const struct staged_service *s)
{
	maps_slots_delete(b->m, s->id, 0, 0, s->n_slots);
	maps_remove(b->m, BPFNET_M_REVNAT, &s->id);
	maps_remove(b->m, BPFNET_M_SVC_NAME, &s->id);
	if (s->vip_counted)
		maps_vip_ref(b->m, s->key.addr, -1);
}

int bpfnet_batch_flush(struct bpfnet_batch *b, bpfnet_batch_failed_fn failed, void *arg)
{
	int first_err = 0;

	for (int i = 0; i < Q_COUNT; i++) {
		/* a service's address is in the set before its entry exists */
		if (i == Q_SVC)
			vip_count(b);
		queue_write(b, &b->q[i], i != Q_NAME);
	}
	for (size_t i = 0; i < b->n_svcs; i++) {
		struct staged_service *s = &b->svcs[i];

		if (!s->err)
			continue;
		staged_cleanup(b, s);
		if (!first_err)
			first_err = s->err;
		b->m->err_map = s->err_map;
		if (failed)
			failed(s->cookie, s->err, arg);
	}
	for (int i = 0; i < Q_COUNT; i++)
		b->q[i].n = 0;
	b->n_svcs = 0;
	return first_err;
}
