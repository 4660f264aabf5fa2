// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "apply.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"

const char *const kube_kind_name[KIND_COUNT] = {
	[KIND_SERVICE] = "Service",
	[KIND_SLICE] = "EndpointSlice",
	[KIND_NODE] = "Node",
};

void affected_add(struct affected *a, const char *key)
{
	size_t len = strlen(key);
	char *copy;

	if (!len || (!a->index.buckets && htab_init(&a->index, 64)))
		return;
	if (htab_get(&a->index, key, len))
		return;
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		void *v = realloc(a->keys, cap * sizeof(*a->keys));

		if (!v)
			return;
		a->keys = v;
		a->cap = cap;
	}
	copy = strdup(key);
	if (!copy || htab_put(&a->index, key, len, copy, NULL)) {
		free(copy);
		return;
	}
	a->keys[a->n++] = copy;
}

void affected_clear(struct affected *a)
{
	for (size_t i = 0; i < a->n; i++) {
		htab_del(&a->index, a->keys[i], strlen(a->keys[i]));
		free(a->keys[i]);
	}
	a->n = 0;
}

void affected_free(struct affected *a)
{
	affected_clear(a);
	free(a->keys);
	if (a->index.buckets)
		htab_free(&a->index);
	memset(a, 0, sizeof(*a));
}

void apply_object_key(enum kube_kind kind, const cJSON *obj, char key[OBJECT_KEY_MAX])
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const cJSON *ns = meta ? cJSON_GetObjectItemCaseSensitive(meta, "namespace") : NULL;
	const cJSON *name = meta ? cJSON_GetObjectItemCaseSensitive(meta, "name") : NULL;

	key[0] = '\0';
	if (!cJSON_IsString(name))
		return;
	if (kind == KIND_NODE)
		snprintf(key, OBJECT_KEY_MAX, "%s", name->valuestring);
	else if (cJSON_IsString(ns))
		snprintf(key, OBJECT_KEY_MAX, "%s/%s", ns->valuestring, name->valuestring);
}

struct htab *apply_table(struct agent *a, enum kube_kind kind)
{
	switch (kind) {
	case KIND_SERVICE: return &a->store.services;
	case KIND_SLICE: return &a->store.slices;
	default: return &a->store.nodes;
	}
}

static void reject(struct agent *a, enum kube_kind kind, const cJSON *obj, const char *why)
{
	char key[OBJECT_KEY_MAX];

	apply_object_key(kind, obj, key);
	if (kind == KIND_SERVICE)
		a->metrics.rejected_services++;
	else if (kind == KIND_SLICE)
		a->metrics.rejected_slices++;
	else
		a->metrics.rejected_other++;
	log_msg(LOG_WARN, "object rejected", "kind=%s object=%s reason=\"%s\"", kube_kind_name[kind],
		key[0] ? key : "?", why);
}

int apply_put(struct agent *a, enum kube_kind kind, const cJSON *obj, struct affected *aff)
{
	char err[256], aff1[OBJECT_KEY_MAX], aff2[OBJECT_KEY_MAX];
	int ret;

	if (kind == KIND_SERVICE) {
		struct service *svc = calloc(1, sizeof(*svc));

		if (!svc || (ret = service_parse(obj, svc, err, sizeof(err)))) {
			reject(a, kind, obj, svc ? err : "out of memory");
			if (svc)
				service_free(svc);
			free(svc);
			return -EINVAL;
		}
		if ((ret = store_put_service(&a->store, svc))) {
			service_free(svc);
			free(svc);
			return ret;
		}
		object_key(aff1, sizeof(aff1), svc->ns, svc->name);
		affected_add(aff, aff1);
	} else if (kind == KIND_SLICE) {
		struct endpoint_slice *sl = calloc(1, sizeof(*sl));

		if (!sl || (ret = slice_parse(obj, sl, err, sizeof(err)))) {
			reject(a, kind, obj, sl ? err : "out of memory");
			if (sl)
				slice_free(sl);
			free(sl);
			return -EINVAL;
		}
		if ((ret = store_put_slice(&a->store, sl, aff1, aff2))) {
			slice_free(sl);
			free(sl);
			return ret;
		}
		affected_add(aff, aff1);
		affected_add(aff, aff2);
	} else {
		struct node *n = calloc(1, sizeof(*n));

		if (!n || node_parse(obj, n, err, sizeof(err))) {
			reject(a, kind, obj, n ? err : "out of memory");
			free(n);
			return -EINVAL;
		}
		if (!strcmp(n->name, a->cfg.node_name))
			agent_own_node_changed(a, n);
		if ((ret = store_put_node(&a->store, n))) {
			free(n);
			return ret;
		}
	}
	return 0;
}

int apply_delete(struct agent *a, enum kube_kind kind, const char *key, struct affected *aff)
{
	char aff1[OBJECT_KEY_MAX];
	int ret;

	switch (kind) {
	case KIND_SERVICE:
		if ((ret = store_del_service(&a->store, key)))
			return ret;
		affected_add(aff, key);
		return 0;
	case KIND_SLICE:
		if ((ret = store_del_slice(&a->store, key, aff1)))
			return ret;
		affected_add(aff, aff1);
		return 0;
	default:
		return store_del_node(&a->store, key);
	}
}
