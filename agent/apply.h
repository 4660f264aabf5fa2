/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * One Kubernetes object in or out of the watch cache, whatever delivered
 * it (the services file, a list page, a watch event). A malformed object
 * is rejected alone: one log line, one counter, the cache keeps its
 * previous version.
 */
#ifndef BPFNET_AGENT_APPLY_H
#define BPFNET_AGENT_APPLY_H

#include <cjson/cJSON.h>

#include "store.h"

struct agent;

enum kube_kind { KIND_SERVICE, KIND_SLICE, KIND_NODE, KIND_COUNT };

extern const char *const kube_kind_name[KIND_COUNT]; /* "Service", ... */

/* Services whose frontends must be recomputed, de-duplicated (a full
 * list names thousands). */
struct affected {
	char **keys; /* sized to fit: a cold sync holds every service key */
	size_t n, cap;
	struct htab index; /* key -> present */
};

void affected_add(struct affected *aff, const char *svc_key);
/* Empty it, keeping its memory for the next round. */
void affected_clear(struct affected *aff);
void affected_free(struct affected *aff);

/* The cache key of @obj: "ns/name", or "name" for a Node; "" if unreadable. */
void apply_object_key(enum kube_kind kind, const cJSON *obj, char key[OBJECT_KEY_MAX]);
/* Parse @obj as @kind and store it. 0, or -EINVAL when rejected. */
int apply_put(struct agent *a, enum kube_kind kind, const cJSON *obj, struct affected *aff);
/* -ENOENT when it was not cached. */
int apply_delete(struct agent *a, enum kube_kind kind, const char *key, struct affected *aff);
/* The cache's table of @kind (for mark-and-sweep). */
struct htab *apply_table(struct agent *a, enum kube_kind kind);

#endif
