// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* From a changed object to the maps: recompute one service, reconcile it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

static void sync_one(struct agent *a, const char *svc_key)
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
}

static void published(struct agent *a, size_t n, double since)
{
	/* every one of them is in the maps only now */
	double latency = agent_now() - since;

	for (size_t i = 0; i < n; i++)
		record_latency(&a->metrics, latency);
	if (a->synced)
		agent_flush_freed(a);
}

void agent_flush_freed(struct agent *a)
{
	struct ct_ids ids;
	unsigned long ticket;

	reconcile_release(&a->rec, ct_worker_done(&a->ct));
	reconcile_freed(&a->rec, &ids);
	if (!ids.n_svc && !ids.n_be)
		return;
	ticket = ct_worker_flush(&a->ct, &ids);
	if (ticket) /* else they stay pending: queued with the next ones */
		reconcile_freed_queued(&a->rec, ticket);
}

/* A frontend went: services it had turned away may take it now. */
static void resync_conflicted(struct agent *a)
{
	char (*keys)[OBJECT_KEY_MAX];
	size_t n = 0;

	if (!a->rec.frontend_freed || !a->rec.conflicted.count)
		return;
	a->rec.frontend_freed = false;
	keys = calloc(a->rec.conflicted.count, sizeof(*keys));
	if (!keys)
		return;
	htab_for_each(&a->rec.conflicted, e, i) {
		if (e->key_len >= OBJECT_KEY_MAX)
			continue;
		memcpy(keys[n], e->key, e->key_len);
		keys[n++][e->key_len] = '\0';
	}
	for (size_t i = 0; i < n; i++) {
		log_msg(LOG_INFO, "retrying a refused service", "service=%s", keys[i]);
		sync_one(a, keys[i]);
	}
	free(keys);
}

void agent_publish(struct agent *a, const struct affected *aff, double since)
{
	if (!aff->n)
		return;
	reconcile_bulk_begin(&a->rec);
	for (size_t i = 0; i < aff->n; i++)
		sync_one(a, aff->keys[i]);
	resync_conflicted(a);
	reconcile_bulk_end(&a->rec);
	published(a, aff->n, since);
}

void agent_publish_all(struct agent *a, double since)
{
	char key[OBJECT_KEY_MAX];
	size_t n = 0;

	reconcile_bulk_begin(&a->rec);
	htab_for_each(&a->store.services, e, i) {
		if (e->key_len >= sizeof(key))
			continue; /* cannot be: keys are checked on parse */
		memcpy(key, e->key, e->key_len);
		key[e->key_len] = '\0';
		sync_one(a, key);
		n++;
	}
	reconcile_bulk_end(&a->rec);
	published(a, n, since);
}

void agent_full_sync_done(struct agent *a)
{
	reconcile_sweep_adopted(&a->rec);
	agent_flush_freed(a);
	a->metrics.full_syncs++;
	a->synced = true;
	agent_check_ready(a);
}

void agent_check_ready(struct agent *a)
{
	if (a->ready || !a->synced || !a->datapath_loaded)
		return;
	a->ready = true;
	log_msg(LOG_INFO, "ready", "frontends=%zu backends=%zu adopted=%zu",
		reconciler_frontends(&a->rec), reconciler_backends(&a->rec), a->rec.adopted);
}

void agent_nodes_listed(struct agent *a)
{
	bool known = htab_get_str(&a->store.nodes, a->cfg.node_name) != NULL;

	if (known) {
		a->own_node_missing_logged = false;
		return;
	}
	if (a->own_node_missing_logged)
		return;
	a->own_node_missing_logged = true;
	log_msg(LOG_ERROR, "this node has no Node object",
		"node=%s from=%s nodes=%zu hint=\"the CNI plugin cannot give pods addresses until it "
		"exists; set --node-name or NODE_NAME to the name kubectl get nodes shows\"",
		a->cfg.node_name, a->cfg.node_name_from ? a->cfg.node_name_from : "?",
		a->store.nodes.count);
}

/* <state-dir>/node.json, replaced atomically: {"name", "podCIDRs": [...]}.
 * The CNI plugin allocates pod addresses from it. */
void agent_own_node_changed(struct agent *a, const struct node *n)
{
	const struct node *old = htab_get_str(&a->store.nodes, n->name);
	char path[4200], tmp[4300], *text;
	cJSON *doc, *cidrs;
	FILE *f;

	if (old && old->n_pod_cidrs == n->n_pod_cidrs &&
	    !memcmp(old->pod_cidrs, n->pod_cidrs, sizeof(n->pod_cidrs)))
		return;
	if (!a->cfg.state_dir[0] || (mkdir(a->cfg.state_dir, 0755) && errno != EEXIST))
		goto fail;
	snprintf(path, sizeof(path), "%s/node.json", a->cfg.state_dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	doc = cJSON_CreateObject();
	cidrs = doc ? cJSON_AddArrayToObject(doc, "podCIDRs") : NULL;
	/* every CIDR or none: a file missing one would hand out wrong addresses */
	for (size_t i = 0; cidrs && i < n->n_pod_cidrs; i++)
		if (!cJSON_AddItemToArray(cidrs, cJSON_CreateString(n->pod_cidrs[i])))
			cidrs = NULL;
	text = cidrs && cJSON_AddStringToObject(doc, "name", n->name) ? cJSON_Print(doc) : NULL;
	cJSON_Delete(doc);
	f = text ? fopen(tmp, "w") : NULL;
	if (!f) {
		free(text);
		goto fail;
	}
	fprintf(f, "%s\n", text);
	free(text);
	if (fclose(f) || rename(tmp, path)) {
		unlink(tmp);
		goto fail;
	}
	log_msg(LOG_INFO, "node pod CIDRs", "node=%s cidrs=%zu first=%s file=%s", n->name,
		n->n_pod_cidrs, n->n_pod_cidrs ? n->pod_cidrs[0] : "none", path);
	return;
fail:
	log_msg(LOG_ERROR, "node state not written", "dir=%s error=\"%s\"", a->cfg.state_dir,
		strerror(errno));
}
