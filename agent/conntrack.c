// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "conntrack.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>

#include "log.h"

__u64 ct_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

static bool contains(const __u32 *v, size_t n, __u32 x)
{
	return n && bsearch(&x, v, n, sizeof(x), cmp_u32);
}

static bool names_freed(const struct bpfnet_ct_key *k, const struct bpfnet_ct_value *v,
			const struct ct_ids *freed)
{
	if (!freed || k->proto == IPPROTO_TCP)
		return false;
	return contains(freed->svc, freed->n_svc, v->svc_id) ||
	       contains(freed->be, freed->n_be, v->backend_id);
}

struct sweep {
	struct bpfnet_maps *m;
	enum bpfnet_map_id id;
	const struct ct_ids *freed;
	__u64 now;
	struct bpfnet_ct_key *doomed; /* to delete after the walk */
	size_t n, cap;
	__u64 *entries, *flows;       /* this table's */
};

static void count(struct sweep *s, const struct bpfnet_ct_key *k, const struct bpfnet_ct_value *v)
{
	(*s->entries)++;
	if (k->dir == BPFNET_CT_REPLY)
		s->flows[bpfnet_ct_state(k->proto, v->flags)]++;
}

static int sweep_one(const void *key, const void *val, void *arg)
{
	const struct bpfnet_ct_key *k = key;
	const struct bpfnet_ct_value *v = val;
	struct sweep *s = arg;

	if (!names_freed(k, v, s->freed) && bpfnet_ct_alive(s->m, k, v, s->now)) {
		count(s, k, v);
		return 0;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		struct bpfnet_ct_key *d = realloc(s->doomed, cap * sizeof(*d));

		if (!d)
			return -ENOMEM;
		s->doomed = d;
		s->cap = cap;
	}
	s->doomed[s->n++] = *k;
	return 0;
}

int ct_sweep(struct bpfnet_maps *m, unsigned int tables, const struct ct_ids *freed,
	     __u64 now_ns, struct ct_sweep_stats *st)
{
	static const enum bpfnet_map_id ids[CT_TABLE_COUNT] = { BPFNET_M_CT_TCP, BPFNET_M_CT_ANY };
	int err = 0;

	memset(st, 0, sizeof(*st));
	for (int t = 0; t < CT_TABLE_COUNT && !err; t++) {
		struct sweep s = { .m = m, .id = ids[t], .freed = freed, .now = now_ns,
				   .entries = &st->entries[t], .flows = st->flows[t] };
		int fd = m->fd[ids[t]];

		if (!(tables & (1u << t)))
			continue;
		err = bpfnet_map_iterate(m, ids[t], sweep_one, &s);
		for (size_t i = 0; !err && i < s.n; i++) {
			struct bpfnet_ct_value now;
			bool flush;

			/* the datapath may have refreshed or reused it since */
			if (bpf_map_lookup_elem(fd, &s.doomed[i], &now))
				continue;
			flush = names_freed(&s.doomed[i], &now, freed);
			if (!flush && bpfnet_ct_alive(m, &s.doomed[i], &now, now_ns)) {
				count(&s, &s.doomed[i], &now);
				continue;
			}
			if (bpf_map_delete_elem(fd, &s.doomed[i]))
				continue;
			if (flush)
				st->flushed++;
			else
				st->expired++;
		}
		free(s.doomed);
	}
	return err;
}

/* ---- the worker ---- */

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void count_maps(struct ct_worker *w, struct ct_report *r)
{
	for (int id = 0; id < BPFNET_M_COUNT; id++) {
		__u32 n = 0;

		r->map_counted[id] = bpfnet_map_iterable(id) && w->maps.fd[id] >= 0 &&
				     !bpfnet_map_count(&w->maps, id, &n);
		r->map_entries[id] = n;
	}
}

static int append(__u32 **v, size_t *n, size_t *cap, const __u32 *src, size_t count)
{
	if (!count)
		return 0;
	if (*n + count > *cap) {
		size_t c = (*n + count) * 2;
		__u32 *nv = realloc(*v, c * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = c;
	}
	memcpy(*v + *n, src, count * sizeof(*src));
	*n += count;
	return 0;
}

static int append_gone(struct ct_worker *w, const struct bpfnet_backend *src, size_t count)
{
	if (!count)
		return 0;
	if (w->n_gone + count > w->cap_gone) {
		size_t c = (w->n_gone + count) * 2;
		struct bpfnet_backend *nv = realloc(w->gone, c * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		w->gone = nv;
		w->cap_gone = c;
	}
	memcpy(w->gone + w->n_gone, src, count * sizeof(*src));
	w->n_gone += count;
	return 0;
}

static void *worker_main(void *arg)
{
	struct ct_worker *w = arg;
	double next_full = mono_s() + w->interval_s;

	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		__u32 *svc, *be;
		struct bpfnet_backend *gone;
		size_t n_svc, n_be, n_gone;
		unsigned long ticket, destroyed = 0;
		struct ct_sweep_stats st;
		struct ct_report counts;
		bool full = mono_s() >= next_full;
		double t0;
		int err;

		if (!full && w->requested == w->done) {
			double wait = next_full - mono_s();
			struct timespec until;

			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += (time_t)wait;
			until.tv_nsec += (long)((wait - (double)(time_t)wait) * 1e9);
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&w->cond, &w->lock, &until);
			continue;
		}
		/* take every id queued so far: one pass flushes them all */
		svc = w->svc;
		be = w->be;
		gone = w->gone;
		n_svc = w->n_svc;
		n_be = w->n_be;
		n_gone = w->n_gone;
		ticket = w->requested;
		w->svc = w->be = NULL;
		w->gone = NULL;
		w->n_svc = w->n_be = w->cap_svc = w->cap_be = w->n_gone = w->cap_gone = 0;
		pthread_mutex_unlock(&w->lock);

		if (n_svc > 1)
			qsort(svc, n_svc, sizeof(*svc), cmp_u32);
		if (n_be > 1)
			qsort(be, n_be, sizeof(*be), cmp_u32);
		struct ct_ids ids = { svc, be, n_svc, n_be, gone, n_gone };
		t0 = mono_s();
		/* only non-TCP flows are ever flushed: a flush alone walks
		 * that table; the full pass every interval walks both */
		err = ct_sweep(&w->maps, full ? CT_SWEEP_ALL : CT_SWEEP_OTHER, &ids, ct_clock_ns(),
			       &st);
		if (full)
			count_maps(w, &counts);
		/* their flows are gone; now the sockets that still point there */
		if (!err && n_gone && udp_reaper_run(&w->reaper, gone, n_gone, &destroyed))
			log_msg(LOG_WARN, "UDP sockets of removed backends not all visited", "%s", "");

		pthread_mutex_lock(&w->lock);
		w->report.runs++;
		w->report.last_error = err;
		w->report.sockets_destroyed += destroyed;
		if (err) {
			/* the ids go back to the queue for the next pass; ids
			 * that cannot are never released: never reused, safe */
			append(&w->svc, &w->n_svc, &w->cap_svc, svc, n_svc);
			append(&w->be, &w->n_be, &w->cap_be, be, n_be);
			append_gone(w, gone, n_gone);
			log_msg(LOG_WARN, "conntrack sweep failed", "err=%d", err);
			next_full = mono_s() + 1.0;
		} else {
			w->done = ticket;
			w->report.expired_total += st.expired;
			w->report.flushed_total += st.flushed;
			if (full) {
				w->report.last = st;
				w->report.have_last = true;
				w->report.last_seconds = mono_s() - t0;
				memcpy(w->report.map_entries, counts.map_entries,
				       sizeof(counts.map_entries));
				memcpy(w->report.map_counted, counts.map_counted,
				       sizeof(counts.map_counted));
				next_full = mono_s() + w->interval_s;
			}
		}
		free(svc);
		free(be);
		free(gone);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int ct_worker_start(struct ct_worker *w, const struct bpfnet_maps *m, double interval_s,
		    const char *state_dir, bool destroy_sockets)
{
	int err;

	memset(w, 0, sizeof(*w));
	w->maps = *m;
	w->interval_s = interval_s;
	udp_reaper_init(&w->reaper, state_dir, destroy_sockets);
	w->report.destroys_sockets = udp_reaper_active(&w->reaper);
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	err = pthread_create(&w->thread, NULL, worker_main, w);
	if (err)
		return -err;
	w->running = true;
	return 0;
}

void ct_worker_stop(struct ct_worker *w)
{
	if (!w->running)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	w->running = false;
	udp_reaper_free(&w->reaper);
	free(w->svc);
	free(w->be);
	free(w->gone);
	w->svc = w->be = NULL;
	w->gone = NULL;
}

unsigned long ct_worker_flush(struct ct_worker *w, const struct ct_ids *ids)
{
	unsigned long ticket = 0;
	size_t n_svc, n_be, n_gone;

	pthread_mutex_lock(&w->lock);
	n_svc = w->n_svc;
	n_be = w->n_be;
	n_gone = w->n_gone;
	if (!append(&w->svc, &w->n_svc, &w->cap_svc, ids->svc, ids->n_svc) &&
	    !append(&w->be, &w->n_be, &w->cap_be, ids->be, ids->n_be) &&
	    !append_gone(w, ids->gone_udp, ids->n_gone_udp)) {
		ticket = ++w->requested;
		pthread_cond_signal(&w->cond);
	} else {
		w->n_svc = n_svc; /* not queued: the caller keeps them */
		w->n_be = n_be;
		w->n_gone = n_gone;
	}
	pthread_mutex_unlock(&w->lock);
	return ticket;
}

unsigned long ct_worker_done(struct ct_worker *w)
{
	unsigned long done;

	pthread_mutex_lock(&w->lock);
	done = w->done;
	pthread_mutex_unlock(&w->lock);
	return done;
}

void ct_worker_report(struct ct_worker *w, struct ct_report *out)
{
	pthread_mutex_lock(&w->lock);
	*out = w->report;
	pthread_mutex_unlock(&w->lock);
}
