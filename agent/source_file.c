// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * --services-file: Services and EndpointSlices as `kubectl get -o json`
 * prints them (a List, or a single object), re-read whenever the file
 * changes. Objects are compared by content, so only services whose objects
 * changed are recomputed; objects gone from the file are deleted.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "readfile.h"

#define SERVICES_FILE_MAX (1u << 30)

/* FNV-1a over the parsed tree (types, keys, values): a change detector
 * without printing every object back to text. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}

static uint64_t json_digest(const cJSON *item, uint64_t h)
{
	for (; item; item = item->next) {
		h = fnv(h, &item->type, sizeof(item->type));
		if (item->string)
			h = fnv(h, item->string, strlen(item->string) + 1);
		if (cJSON_IsString(item))
			h = fnv(h, item->valuestring, strlen(item->valuestring) + 1);
		else if (cJSON_IsNumber(item))
			h = fnv(h, &item->valuedouble, sizeof(item->valuedouble));
		if (item->child)
			h = json_digest(item->child, h) ^ 0x9e3779b97f4a7c15ull; /* nesting counts */
	}
	return h;
}

static uint64_t digest(const cJSON *obj)
{
	return json_digest(obj->child, 14695981039346656037ull) | 1; /* 0 is "absent" */
}

/* Apply one object; marks its key (prefixed by kind) in @seen. */
static void apply_object(struct agent *a, const cJSON *obj, struct htab *seen,
			 struct affected *aff)
{
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(obj, "kind");
	char key[OBJECT_KEY_MAX], tagged[OBJECT_KEY_MAX + 2];
	enum kube_kind k;
	uint64_t d;

	for (k = 0; k < KIND_COUNT; k++)
		if (cJSON_IsString(kind) && !strcmp(kind->valuestring, kube_kind_name[k]))
			break;
	if (k == KIND_NODE || k == KIND_COUNT) {
		apply_object_key(KIND_SERVICE, obj, key);
		a->metrics.rejected_other++;
		log_msg(LOG_WARN, "object rejected", "kind=%s object=%s reason=\"not a Service or "
			"EndpointSlice\"", cJSON_IsString(kind) ? kind->valuestring : "?",
			key[0] ? key : "?");
		return;
	}
	apply_object_key(k, obj, key);
	snprintf(tagged, sizeof(tagged), "%c:%s", k == KIND_SERVICE ? 's' : 'e', key);
	if (key[0]) /* a rejected object keeps its previous version */
		htab_put(seen, tagged, strlen(tagged), (void *)1, NULL);

	d = digest(obj);
	if (key[0] && (uintptr_t)htab_get_str(&a->file.digests, tagged) == d)
		return; /* unchanged */
	if (apply_put(a, k, obj, aff))
		return;
	htab_put(&a->file.digests, tagged, strlen(tagged), (void *)(uintptr_t)d, NULL);
}

/* Objects that were in the previous version of the file and are not now. */
static void delete_unseen(struct agent *a, struct htab *seen, struct affected *aff)
{
	char (*gone)[OBJECT_KEY_MAX + 2] = NULL;
	size_t n = 0;

	if (a->file.digests.count)
		gone = calloc(a->file.digests.count, sizeof(*gone));
	htab_for_each(&a->file.digests, e, i) {
		if (!gone || htab_get(seen, e->key, e->key_len))
			continue;
		memcpy(gone[n], e->key, e->key_len);
		gone[n][e->key_len] = '\0';
		n++;
	}
	for (size_t i = 0; i < n; i++) {
		htab_del(&a->file.digests, gone[i], strlen(gone[i]));
		apply_delete(a, gone[i][0] == 's' ? KIND_SERVICE : KIND_SLICE, gone[i] + 2, aff);
	}
	free(gone);
}

int file_source_poll(struct agent *a)
{
	struct affected aff = {};
	struct htab seen;
	struct stat st;
	const cJSON *items, *it;
	cJSON *doc;
	char *text;
	size_t len, changed;
	int err = 0;
	double since, t_read, t_parse, t_done;

	if (stat(a->cfg.services_file, &st)) {
		if (!a->file.seen || a->file.last.st_ino) {
			a->metrics.source_errors++;
			log_msg(LOG_WARN, "services file unreadable", "path=%s error=\"%s\"",
				a->cfg.services_file, strerror(errno));
		}
		memset(&a->file.last, 0, sizeof(a->file.last));
		a->file.seen = true;
		return -errno; /* the datapath keeps the last known state */
	}
	if (a->file.seen && st.st_ino == a->file.last.st_ino && st.st_size == a->file.last.st_size &&
	    st.st_mtim.tv_sec == a->file.last.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == a->file.last.st_mtim.tv_nsec)
		return 0;
	since = agent_now();
	a->file.last = st;
	a->file.seen = true;
	text = read_file(a->cfg.services_file, SERVICES_FILE_MAX, &len, &err);
	t_read = agent_now();
	doc = text ? cJSON_ParseWithLength(text, len) : NULL;
	free(text);
	if (!doc) {
		a->metrics.source_errors++;
		log_msg(LOG_ERROR, text ? "services file is not JSON" : "services file unreadable",
			"path=%s error=\"%s\" (previous state kept)", a->cfg.services_file,
			text ? "parse error" : strerror(-err));
		return text ? -EINVAL : err;
	}
	if (htab_init(&seen, 1024)) {
		cJSON_Delete(doc);
		return -ENOMEM;
	}
	items = cJSON_GetObjectItemCaseSensitive(doc, "items");
	if (cJSON_IsArray(items)) {
		cJSON_ArrayForEach(it, items)
			apply_object(a, it, &seen, &aff);
	} else {
		apply_object(a, doc, &seen, &aff);
	}
	delete_unseen(a, &seen, &aff);
	htab_free(&seen);
	t_parse = agent_now();

	agent_publish(a, &aff, since);
	t_done = agent_now();
	changed = aff.n;
	affected_free(&aff);
	/* Freed after the maps are written: freeing a whole-file tree makes
	 * the next large malloc consolidate ~1M small chunks (~50 ms here). */
	cJSON_Delete(doc);
	log_msg(LOG_INFO, "services file applied",
		"path=%s services=%zu slices=%zu changed=%zu read_ms=%.1f parse_ms=%.1f "
		"maps_ms=%.1f",
		a->cfg.services_file, a->store.services.count, a->store.slices.count, changed,
		(t_read - since) * 1e3, (t_parse - t_read) * 1e3, (t_done - t_parse) * 1e3);
	if (!a->synced)
		agent_full_sync_done(a);
	return 0;
}

void file_source_free(struct file_source *f)
{
	htab_free(&f->digests);
}
