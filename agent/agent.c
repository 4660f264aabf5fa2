// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* From a changed object to the maps: recompute one service, reconcile it. */
#include <time.h>

#include "agent.h"
#include "translate.h"

double agent_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void record_latency(struct agent_metrics *m, double s)
{
	int i = 0;

	while (i < LATENCY_BUCKETS && s > latency_bounds[i])
		i++;
	m->latency_count[i]++;
	m->latency_sum += s;
	m->latency_n++;
}

void agent_sync_service(struct agent *a, const char *svc_key, double since)
{
	struct frontend_set want;
	int err = translate_service(&a->store, svc_key, &want);

	if (err) {
		log_msg(LOG_ERROR, "translate failed", "service=%s err=%d", svc_key, err);
		return;
	}
	reconcile_service(&a->rec, svc_key, &want);
	frontend_set_free(&want);
	a->metrics.service_syncs++;
	record_latency(&a->metrics, agent_now() - since);
}

void agent_full_sync_done(struct agent *a)
{
	reconcile_sweep_adopted(&a->rec);
	reconcile_flush_freed(&a->rec);
	a->metrics.full_syncs++;
	if (!a->ready)
		log_msg(LOG_INFO, "ready", "frontends=%zu backends=%zu adopted=%zu",
			reconciler_frontends(&a->rec), reconciler_backends(&a->rec), a->rec.adopted);
	a->ready = true;
}

