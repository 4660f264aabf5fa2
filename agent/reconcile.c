// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "reconcile.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "log.h"

/* An adopted frontend belongs to no service until one claims it. */
#define OWNER_ADOPTED ""

struct fe_state {
	struct bpfnet_svc_key key;
	__u32 svc_id, flags, affinity_timeout_s;
	char name[BPFNET_SVC_NAME_LEN];
	const char *owner; /* its key_list's, or OWNER_ADOPTED before any */
	struct be_state **backends; /* slot members first, then retained ones */
	size_t n_backends;
	size_t n_slots;
	bool rewrite; /* adopted with slots that do not match its backends */
	unsigned long staged_until; /* staged: written by flush number this */
};

struct key_list {
	struct bpfnet_svc_key *v;
	size_t n, cap;
	char owner[]; /* what the frontends' owner points at */
};

/* ---- ids ---- */

static int push_u32(__u32 **v, size_t *n, size_t *cap, __u32 x)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		__u32 *nv = realloc(*v, c * sizeof(**v));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = c;
	}
	(*v)[(*n)++] = x;
	return 0;
}

/* 0 when every id up to the limit is taken */
static __u32 id_alloc(struct id_pool *p)
{
	if (p->n_free)
		return p->free[--p->n_free];
	if (p->limit && p->next > p->limit)
		return 0;
	return p->next++;
}

static void id_release(struct id_pool *p, __u32 id)
{
	if (push_u32(&p->pending, &p->n_pending, &p->cap_pending, id))
		log_msg(LOG_WARN, "id leaked", "id=%u reason=no_memory", id);
}

static void id_mark_used(struct id_pool *p, __u32 id)
{
	if (id >= p->next)
		p->next = id + 1;
}

static void id_pool_free(struct id_pool *p)
{
	free(p->free);
	free(p->pending);
	free(p->flushing);
	memset(p, 0, sizeof(*p));
}

/* ---- backends ---- */

/* The backend @b, created with a new id if needed: -ENOSPC (the backend
 * map named) when no id is left, as a full map would answer. */
static int backend_get(struct reconciler *r, const struct bpfnet_backend *b, struct be_state **out,
		       bool *created)
{
	struct be_state *s = backend_table_get(&r->backends, b);
	__u32 id;

	*created = !s;
	if (s) {
		*out = s;
		return 0;
	}
	id = id_alloc(&r->backend_ids);
	if (!id) {
		r->maps->err_map = BPFNET_M_BACKEND;
		return -ENOSPC;
	}
	s = backend_table_add(&r->backends, b);
	if (!s) {
		id_release(&r->backend_ids, id);
		return -ENOMEM;
	}
	s->id = id;
	*out = s;
	return 0;
}

/* Remember a removed UDP backend for the socket reaper; without memory
 * its sockets only miss their early end. */
static void note_gone_udp(struct reconciler *r, const struct bpfnet_backend *be)
{
	if (be->proto != IPPROTO_UDP)
		return;
	if (r->n_gone_udp == r->cap_gone_udp) {
		size_t c = r->cap_gone_udp ? r->cap_gone_udp * 2 : 16;
		struct bpfnet_backend *v = realloc(r->gone_udp, c * sizeof(*v));

		if (!v)
			return;
		r->gone_udp = v;
		r->cap_gone_udp = c;
	}
	r->gone_udp[r->n_gone_udp++] = *be;
}

static void backend_remove(struct reconciler *r, struct be_state *s)
{
	int err = bpfnet_backend_delete(r->maps, s->id);

	note_gone_udp(r, &s->be);
	if (err) {
		r->stats.write_errors++;
		log_msg(LOG_WARN, "backend delete failed", "backend_id=%u err=%d", s->id, err);
	}
	r->stats.backend_deletes++;
	backend_table_del(&r->backends, s);
}

/* Drop one reference; the last one removes the backend from the map. Its
 * id waits until conntrack no longer names it. */
static void backend_unref(struct reconciler *r, struct be_state *s)
{
	if (s->refs && --s->refs)
		return;
	id_release(&r->backend_ids, s->id);
	backend_remove(r, s);
}

/* A backend created for a write that failed was in no slot, so no flow
 * can name it: its id is free at once (the array has only so many). Not
 * for an adopted one: flows from before the restart may name it. */
static void backend_forget_unused(struct reconciler *r, struct be_state *s)
{
	if (push_u32(&r->backend_ids.free, &r->backend_ids.n_free, &r->backend_ids.cap_free, s->id))
		id_release(&r->backend_ids, s->id);
	backend_remove(r, s);
}

/* ---- ownership ---- */

static struct key_list *owned_list(struct reconciler *r, const char *owner, bool create)
{
	struct key_list *l = htab_get_str(&r->owned, owner);

	if (l || !create)
		return l;
	l = calloc(1, sizeof(*l) + strlen(owner) + 1);
	if (l)
		strcpy(l->owner, owner);
	if (l && htab_put(&r->owned, owner, strlen(owner), l, NULL)) {
		free(l);
		l = NULL;
	}
	return l;
}

static void owned_remove(struct reconciler *r, const char *owner, const struct bpfnet_svc_key *k)
{
	struct key_list *l = owned_list(r, owner, false);

	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		if (!memcmp(&l->v[i], k, sizeof(*k))) {
			l->v[i] = l->v[--l->n];
			break;
		}
	if (!l->n) {
		htab_del(&r->owned, owner, strlen(owner));
		free(l->v);
		free(l);
	}
}

/* The owner's name as kept for its frontends, NULL without memory. */
static const char *owned_add(struct reconciler *r, const char *owner,
			     const struct bpfnet_svc_key *k)
{
	struct key_list *l = owned_list(r, owner, true);

	if (!l)
		return NULL;
	if (l->n == l->cap) {
		size_t c = l->cap ? l->cap * 2 : 4;
		struct bpfnet_svc_key *v = realloc(l->v, c * sizeof(*v));

		if (!v) {
			if (!l->n) {
				htab_del(&r->owned, owner, strlen(owner));
				free(l->v);
				free(l);
			}
			return NULL;
		}
		l->v = v;
		l->cap = c;
	}
	l->v[l->n++] = *k;
	return l->owner;
}

/* ---- frontends ---- */

static void fe_destroy(struct reconciler *r, struct fe_state *fe)
{
	for (size_t i = 0; i < fe->n_backends; i++)
		backend_unref(r, fe->backends[i]);
	free(fe->backends);
	free(fe);
}

static int frontend_delete(struct reconciler *r, struct fe_state *fe)
{
	int err = bpfnet_service_delete(r->maps, &fe->key);

	if (err && err != -ENOENT) {
		r->stats.write_errors++;
		log_msg(LOG_WARN, "service delete failed", "service_id=%u err=%d", fe->svc_id, err);
	}
	bpfnet_service_name_delete(r->maps, fe->svc_id);
	r->stats.service_deletes++;
	r->frontend_freed = true;
	id_release(&r->svc_ids, fe->svc_id);
	htab_del(&r->frontends, &fe->key, sizeof(fe->key));
	fe_destroy(r, fe);
	return 0;
}

static bool fe_unchanged(const struct fe_state *fe, const struct frontend *want,
			 struct be_state *const *set)
{
	if (fe->rewrite || fe->flags != want->flags || fe->affinity_timeout_s != want->affinity_timeout_s ||
	    fe->n_backends != want->n_backends || fe->n_slots != want->n_slots)
		return false;
	for (size_t i = 0; i < fe->n_backends; i++)
		if (fe->backends[i] != set[i] || set[i]->be.state != want->backends[i].state)
			return false;
	return true;
}

static void count_write_failure(struct reconciler *r, const char *name, int err)
{
	char msg[128];

	if (err == -ENOSPC)
		r->stats.map_full++;
	else
		r->stats.write_errors++;
	log_msg(LOG_ERROR, "service write failed", "service=%s error=\"%s\"", name,
		bpfnet_maps_strerror(r->maps, err, msg, sizeof(msg)));
}

/* ---- batched creation ---- */

/* A staged frontend that the maps refused: forgotten, as if never written. */
static void staged_failed(void *cookie, int err, void *arg)
{
	struct reconciler *r = arg;
	struct fe_state *fe = cookie;

	count_write_failure(r, fe->name, err);
	r->stats.service_writes--;
	r->stats.backend_writes -= fe->n_backends;
	owned_remove(r, fe->owner, &fe->key);
	htab_del(&r->frontends, &fe->key, sizeof(fe->key));
	id_release(&r->svc_ids, fe->svc_id);
	fe_destroy(r, fe);
}

static void bulk_flush(struct reconciler *r)
{
	if (!r->batch || !bpfnet_batch_size(r->batch))
		return;
	r->flushes++;
	bpfnet_batch_flush(r->batch, staged_failed, r);
}

/* Flush before a direct write; @set (backends about to be referenced) is
 * held so that a staged service that fails cannot free one of them. */
static void bulk_flush_holding(struct reconciler *r, struct be_state **set, size_t n)
{
	if (!r->batch || !bpfnet_batch_size(r->batch))
		return;
	for (size_t i = 0; i < n; i++)
		set[i]->refs++;
	bulk_flush(r);
	for (size_t i = 0; i < n; i++)
		set[i]->refs--;
}

void reconcile_bulk_begin(struct reconciler *r)
{
	if (!r->batch)
		r->batch = bpfnet_batch_new(r->maps);
	r->bulk = r->batch != NULL; /* without memory: direct writes */
}

void reconcile_bulk_end(struct reconciler *r)
{
	bulk_flush(r);
	r->bulk = false;
}

/* staged services per flush: bounds the staging memory (~150 KB with ten
 * backends each); more flushes cost nothing measurable */
#define BULK_MAX_STAGED 512

/* Bring one frontend to @want. A new one is staged while bulk (its name
 * goes with it); anything else is written directly, after what is staged. */
static int frontend_apply(struct reconciler *r, const char *owner, const struct frontend *want)
{
	struct fe_state *fe = htab_get(&r->frontends, &want->key, sizeof(want->key));
	struct bpfnet_backend_entry *entries = NULL;
	struct be_state **set = NULL;
	bool *fresh = NULL;
	struct bpfnet_service_spec spec = {};
	bool created = false, staged = false;
	int err = 0;

	if (fe && fe->owner[0] && strcmp(fe->owner, owner)) {
		char vip[INET_ADDRSTRLEN];

		r->stats.conflicts++;
		inet_ntop(AF_INET, &want->key.addr, vip, sizeof(vip));
		log_msg(LOG_WARN, "frontend claimed twice", "vip=%s port=%u owner=%s rejected=%s",
			vip, ntohs(want->key.port), fe->owner, owner);
		return -EEXIST;
	}
	if (fe && fe->staged_until > r->flushes) {
		/* staged in this bulk and changing again: write it first; a
		 * failure forgets it, and then it is new again */
		bulk_flush(r);
		fe = htab_get(&r->frontends, &want->key, sizeof(want->key));
	}
	if (!fe) {
		fe = calloc(1, sizeof(*fe));
		if (!fe)
			return -ENOMEM;
		fe->key = want->key;
		fe->owner = OWNER_ADOPTED;
		fe->svc_id = id_alloc(&r->svc_ids);
		if (htab_put(&r->frontends, &fe->key, sizeof(fe->key), fe, NULL)) {
			id_release(&r->svc_ids, fe->svc_id);
			free(fe);
			return -ENOMEM;
		}
		created = true;
	}

	if (want->n_backends) {
		set = calloc(want->n_backends, sizeof(*set));
		fresh = calloc(want->n_backends, sizeof(*fresh));
		entries = calloc(want->n_backends, sizeof(*entries));
		if (!set || !fresh || !entries) {
			err = -ENOMEM;
			goto out;
		}
	}
	for (size_t i = 0; i < want->n_backends; i++) {
		err = backend_get(r, &want->backends[i], &set[i], &fresh[i]);
		if (err) {
			count_write_failure(r, want->name, err);
			goto out;
		}
		entries[i].id = set[i]->id;
		entries[i].be = want->backends[i];
	}

	if (!created && fe_unchanged(fe, want, set))
		goto claim;

	spec.id = fe->svc_id;
	spec.flags = want->flags;
	spec.affinity_timeout_s = want->affinity_timeout_s;
	spec.n_backends = (__u32)want->n_slots;
	spec.backends = entries;
	/* retained (terminating) backends are in no slot: new ones with them
	 * are rare and go direct */
	if (created && r->bulk && want->n_slots == want->n_backends &&
	    !bpfnet_batch_add_service(r->batch, &want->key, &spec, want->name, fe)) {
		staged = true;
		fe->staged_until = r->flushes + 1;
		snprintf(fe->name, sizeof(fe->name), "%s", want->name);
	} else {
		bulk_flush_holding(r, set, want->n_backends);
		for (size_t i = want->n_slots; i < want->n_backends && !err; i++)
			err = bpfnet_backend_upsert(r->maps, &entries[i]);
		if (!err)
			err = bpfnet_service_upsert(r->maps, &want->key, &spec);
	}
	if (err) {
		count_write_failure(r, want->name, err);
		goto out;
	}
	r->stats.service_writes++;
	r->stats.backend_writes += want->n_backends;
	for (size_t i = 0; i < want->n_backends; i++) {
		set[i]->refs++;
		set[i]->be = want->backends[i]; /* state may have changed */
	}
	for (size_t i = 0; i < fe->n_backends; i++) /* the old set, after the switch */
		backend_unref(r, fe->backends[i]);
	free(fe->backends);
	fe->backends = set;
	fe->n_backends = want->n_backends;
	fe->n_slots = want->n_slots;
	set = NULL;
	fe->flags = want->flags;
	fe->affinity_timeout_s = want->affinity_timeout_s;
	fe->rewrite = false;
	created = false;
claim:
	if (strcmp(fe->name, want->name)) {
		snprintf(fe->name, sizeof(fe->name), "%s", want->name);
		bpfnet_service_name_set(r->maps, fe->svc_id, fe->name);
	}
	if (strcmp(fe->owner, owner)) {
		const char *kept;

		owned_remove(r, fe->owner, &fe->key);
		kept = owned_add(r, owner, &fe->key);
		fe->owner = kept ? kept : OWNER_ADOPTED; /* no memory: ownerless until its next sync */
		err = kept ? 0 : -ENOMEM;
	}
	if (staged && bpfnet_batch_size(r->batch) >= BULK_MAX_STAGED)
		bulk_flush(r); /* @fe is fully recorded: a failure forgets it cleanly */
out:
	/* backends created for a write that failed are not referenced */
	for (size_t i = 0; set && i < want->n_backends; i++) {
		if (set[i] && !set[i]->refs && fresh[i])
			backend_forget_unused(r, set[i]);
		else if (set[i] && !set[i]->refs)
			backend_unref(r, set[i]);
	}
	free(set);
	free(fresh);
	free(entries);
	if (created) {
		htab_del(&r->frontends, &fe->key, sizeof(fe->key));
		id_release(&r->svc_ids, fe->svc_id);
		free(fe);
	}
	return err;
}

int reconcile_service(struct reconciler *r, const char *owner, const struct frontend_set *want)
{
	struct bpfnet_svc_key *gone = NULL;
	struct key_list *l;
	size_t n_gone = 0;
	bool conflict = false;
	int err = 0;

	for (size_t i = 0; i < want->n; i++) {
		int e = frontend_apply(r, owner, &want->v[i]);

		conflict |= e == -EEXIST;
		if (e && !err)
			err = e;
	}
	if (conflict)
		htab_put(&r->conflicted, owner, strlen(owner), (void *)1, NULL);
	else
		htab_del(&r->conflicted, owner, strlen(owner));
	/* frontends the service no longer has: collected, then removed */
	l = owned_list(r, owner, false);
	if (l && l->n > want->n) {
		gone = calloc(l->n, sizeof(*gone));
		if (!gone)
			return -ENOMEM;
		for (size_t i = 0; i < l->n; i++) {
			bool keep = false;

			for (size_t j = 0; j < want->n && !keep; j++)
				keep = !memcmp(&want->v[j].key, &l->v[i], sizeof(l->v[i]));
			if (!keep)
				gone[n_gone++] = l->v[i];
		}
	}
	if (n_gone)
		bulk_flush(r); /* a staged one may be among them; new ones go first */
	for (size_t i = 0; i < n_gone; i++) {
		struct fe_state *fe = htab_get(&r->frontends, &gone[i], sizeof(gone[i]));

		owned_remove(r, owner, &gone[i]);
		if (fe)
			frontend_delete(r, fe);
	}
	free(gone);
	return err;
}

/* Backends pinned by an earlier agent that no service uses any more: the
 * adopted ones no frontend claimed, and the duplicate identities adoption
 * set aside. Nothing else writes the backend map, so no second walk of it
 * is needed. */
static void sweep_unreferenced_backends(struct reconciler *r)
{
	struct be_state **idle = NULL;
	size_t n_idle = 0;

	if (r->backends.count)
		idle = calloc(r->backends.count, sizeof(*idle));
	backend_table_for_each(&r->backends, s) {
		if (idle && !s->refs)
			idle[n_idle++] = s;
	}
	for (size_t i = 0; i < n_idle; i++)
		backend_unref(r, idle[i]);
	free(idle);

	for (size_t i = 0; i < r->n_stale_backends; i++) {
		bpfnet_backend_delete(r->maps, r->stale_backends[i]);
		id_release(&r->backend_ids, r->stale_backends[i]);
		r->stats.backend_deletes++;
	}
	free(r->stale_backends);
	r->stale_backends = NULL;
	r->n_stale_backends = r->cap_stale_backends = 0;
}

int reconcile_sweep_adopted(struct reconciler *r)
{
	struct key_list *l;
	size_t swept = 0;

	bulk_flush(r);
	while ((l = owned_list(r, OWNER_ADOPTED, false)) && l->n) {
		struct bpfnet_svc_key k = l->v[l->n - 1];
		struct fe_state *fe = htab_get(&r->frontends, &k, sizeof(k));

		owned_remove(r, OWNER_ADOPTED, &k);
		if (fe)
			frontend_delete(r, fe);
		swept++;
	}
	if (swept)
		log_msg(LOG_INFO, "swept stale frontends", "count=%zu", swept);
	sweep_unreferenced_backends(r);
	return 0;
}

/* ---- conntrack flush of freed ids ---- */

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

void reconcile_freed(struct reconciler *r, struct ct_ids *out)
{
	bulk_flush(r); /* its failures free ids too */
	if (r->svc_ids.n_pending)
		qsort(r->svc_ids.pending, r->svc_ids.n_pending, sizeof(__u32), cmp_u32);
	if (r->backend_ids.n_pending)
		qsort(r->backend_ids.pending, r->backend_ids.n_pending, sizeof(__u32), cmp_u32);
	*out = (struct ct_ids){ r->svc_ids.pending, r->backend_ids.pending, r->svc_ids.n_pending,
				r->backend_ids.n_pending, r->gone_udp, r->n_gone_udp };
}

static void queue_pending(struct id_pool *p, unsigned long ticket)
{
	for (size_t i = 0; i < p->n_pending; i++) {
		if (p->n_flushing == p->cap_flushing) {
			size_t c = p->cap_flushing ? p->cap_flushing * 2 : 64;
			struct flushing_id *v = realloc(p->flushing, c * sizeof(*v));

			if (!v) {
				/* an id that cannot be recorded is never reused: safe */
				log_msg(LOG_WARN, "id leaked", "id=%u reason=no_memory", p->pending[i]);
				continue;
			}
			p->flushing = v;
			p->cap_flushing = c;
		}
		p->flushing[p->n_flushing++] = (struct flushing_id){ p->pending[i], ticket };
	}
	p->n_pending = 0;
}

void reconcile_freed_queued(struct reconciler *r, unsigned long ticket)
{
	queue_pending(&r->svc_ids, ticket);
	queue_pending(&r->backend_ids, ticket);
	r->n_gone_udp = 0; /* handed over with them */
}

static int cmp_u32_desc(const void *a, const void *b)
{
	return cmp_u32(b, a);
}

/* The lowest ids end on top of the free stack, which keeps backend ids dense. */
static void release_flushed(struct id_pool *p, unsigned long done)
{
	size_t kept = 0, first = p->n_free;

	for (size_t i = 0; i < p->n_flushing; i++) {
		if (p->flushing[i].ticket > done) {
			p->flushing[kept++] = p->flushing[i];
			continue;
		}
		if (push_u32(&p->free, &p->n_free, &p->cap_free, p->flushing[i].id))
			continue; /* never reused: safe */
	}
	p->n_flushing = kept;
	if (p->n_free - first > 1)
		qsort(p->free + first, p->n_free - first, sizeof(__u32), cmp_u32_desc);
}

void reconcile_release(struct reconciler *r, unsigned long done)
{
	release_flushed(&r->svc_ids, done);
	release_flushed(&r->backend_ids, done);
}

int reconcile_flush_freed(struct reconciler *r)
{
	struct ct_sweep_stats st;
	struct ct_ids ids;
	int err;

	reconcile_freed(r, &ids);
	if (!ids.n_svc && !ids.n_be)
		return 0;
	err = ct_sweep(r->maps, CT_SWEEP_OTHER, &ids, ct_clock_ns(), &st);
	if (err) {
		log_msg(LOG_WARN, "conntrack flush failed", "err=%d", err);
		return err; /* ids stay pending: retried on the next flush */
	}
	r->stats.ct_flushed += st.flushed;
	reconcile_freed_queued(r, 1);
	reconcile_release(r, 1);
	return 0;
}

/* ---- adoption ---- */

/* Every pinned backend, known by identity before any service claims it: a
 * retained (terminating) backend is in no slot but must keep its id, or
 * its flows would be flushed on an agent restart. */
static int adopt_backend(const void *key, const void *val, void *arg)
{
	const struct bpfnet_backend *be = val;
	struct reconciler *r = arg;
	struct be_state *s;

	id_mark_used(&r->backend_ids, *(const __u32 *)key);
	if (backend_table_get(&r->backends, be)) /* a duplicate identity */
		return push_u32(&r->stale_backends, &r->n_stale_backends, &r->cap_stale_backends,
				*(const __u32 *)key);
	s = backend_table_add(&r->backends, be);
	if (!s)
		return -ENOMEM;
	s->id = *(const __u32 *)key;
	return 0;
}

static int adopt_one(const void *key, const void *val, void *arg)
{
	const struct bpfnet_svc_key *k = key;
	const struct bpfnet_svc_value *v = val;
	struct reconciler *r = arg;
	struct fe_state *fe = calloc(1, sizeof(*fe));
	__u32 *ids = v->count ? calloc(v->count, sizeof(*ids)) : NULL;
	struct bpfnet_svc_value sv;
	int n;

	if (!fe || (v->count && !ids)) {
		free(fe);
		free(ids);
		return -ENOMEM;
	}
	n = bpfnet_service_get(r->maps, k, &sv, ids, v->count);
	fe->key = *k;
	fe->svc_id = v->id;
	fe->flags = v->flags;
	fe->affinity_timeout_s = v->affinity_timeout_s;
	fe->rewrite = n != (int)v->count;
	bpfnet_service_name_get(r->maps, v->id, fe->name, sizeof(fe->name));
	id_mark_used(&r->svc_ids, v->id);
	fe->backends = calloc(v->count ? v->count : 1, sizeof(*fe->backends));
	for (int i = 0; fe->backends && n > 0 && i < n && (__u32)i < v->count; i++) {
		struct bpfnet_backend be;
		struct be_state *s;

		if (bpfnet_backend_get(r->maps, ids[i], &be)) {
			fe->rewrite = true; /* a dangling slot */
			continue;
		}
		s = backend_table_get(&r->backends, &be);
		if (s && s->id != ids[i])
			fe->rewrite = true; /* the slot names a duplicate the sweep deletes */
		if (!s) { /* written since adopt_backend walked the map */
			s = backend_table_add(&r->backends, &be);
			if (!s)
				break;
			s->id = ids[i];
			id_mark_used(&r->backend_ids, ids[i]);
		}
		s->refs++;
		fe->backends[fe->n_backends++] = s;
	}
	fe->n_slots = fe->n_backends;
	free(ids);
	fe->owner = OWNER_ADOPTED;
	if (htab_put(&r->frontends, k, sizeof(*k), fe, NULL)) {
		fe_destroy(r, fe);
		return -ENOMEM;
	}
	if (!owned_add(r, OWNER_ADOPTED, k)) {
		htab_del(&r->frontends, k, sizeof(*k));
		fe_destroy(r, fe);
		return -ENOMEM;
	}
	r->adopted++;
	return 0;
}

/* The service-address set counts exactly the adopted entries. */
static int recount_service_addrs(struct reconciler *r)
{
	__be32 *addrs = malloc((r->frontends.count ? r->frontends.count : 1) * sizeof(*addrs));
	size_t n = 0;
	int err;

	if (!addrs)
		return -ENOMEM;
	htab_for_each(&r->frontends, e, i)
		addrs[n++] = ((const struct fe_state *)e->value)->key.addr;
	err = bpfnet_vip_recount(r->maps, addrs, n);
	free(addrs);
	return err;
}

/* Ids below the highest adopted one that no pinned backend holds are
 * reusable (the backend array has room for only so many), once conntrack
 * entries of a previous run that may still name them are flushed: they
 * start pending. */
static int adopt_free_backend_ids(struct reconciler *r)
{
	struct id_pool *p = &r->backend_ids;
	unsigned char *used = calloc(p->next / 8 + 1, 1);

	if (!used)
		return -ENOMEM;
	backend_table_for_each(&r->backends, s)
		used[s->id / 8] |= 1u << (s->id % 8);
	for (size_t i = 0; i < r->n_stale_backends; i++) /* freed by the sweep */
		used[r->stale_backends[i] / 8] |= 1u << (r->stale_backends[i] % 8);
	for (__u32 id = p->next - 1; id >= 1; id--)
		if (!(used[id / 8] & (1u << (id % 8))))
			id_release(p, id);
	free(used);
	return 0;
}

int reconciler_init(struct reconciler *r, struct bpfnet_maps *maps)
{
	int err = 0;

	memset(r, 0, sizeof(*r));
	r->maps = maps;
	r->svc_ids.next = 1; /* 0 is "none" for the library */
	r->backend_ids.next = 1;
	r->backend_ids.limit = maps->max_entries[BPFNET_M_BACKEND];
	if (htab_init(&r->frontends, 1024) || htab_init(&r->owned, 1024) ||
	    htab_init(&r->conflicted, 16)) {
		reconciler_free(r);
		return -ENOMEM;
	}
	/* walking a new backend array costs ~50 ms at 256k ids for nothing */
	if (!maps->created[BPFNET_M_BACKEND])
		err = bpfnet_map_iterate(maps, BPFNET_M_BACKEND, adopt_backend, r);
	if (!err && !maps->created[BPFNET_M_SVC])
		err = bpfnet_map_iterate(maps, BPFNET_M_SVC, adopt_one, r);
	/* a stopped agent may have died between a service and its count */
	if (!err && !maps->created[BPFNET_M_SVC])
		err = recount_service_addrs(r);
	if (!err)
		err = adopt_free_backend_ids(r);
	if (err)
		reconciler_free(r); /* nothing half made is left to the caller */
	return err;
}

void reconciler_free(struct reconciler *r)
{
	htab_for_each(&r->frontends, e, i) {
		struct fe_state *fe = e->value;

		free(fe->backends);
		free(fe);
	}
	htab_for_each(&r->owned, e, i) {
		struct key_list *l = e->value;

		free(l->v);
		free(l);
	}
	htab_free(&r->frontends);
	backend_table_free(&r->backends);
	htab_free(&r->owned);
	htab_free(&r->conflicted);
	id_pool_free(&r->svc_ids);
	id_pool_free(&r->backend_ids);
	free(r->stale_backends);
	free(r->gone_udp);
	bpfnet_batch_free(r->batch); /* anything still staged was never written */
	memset(r, 0, sizeof(*r));
}

size_t reconciler_frontends(const struct reconciler *r)
{
	return r->frontends.count;
}

size_t reconciler_backends(const struct reconciler *r)
{
	return r->backends.count;
}
