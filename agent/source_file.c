// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * --services-file: Services and EndpointSlices as `kubectl get -o json`
 * prints them (a List, or a single object), re-read whenever the file
 * changes. Objects are compared by content, so only services whose objects
 * changed are recomputed; objects gone from the file are deleted.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "list_reader.h"

#define FILE_CHUNK (256u << 10)
#define FILE_OBJECT_MAX (64u << 20) /* one object; etcd's own limit is 1.5 MiB */

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

/* @obj's kind (KIND_COUNT when it is neither a Service nor an
 * EndpointSlice), its key tagged by kind ("s:ns/name", "e:ns/name"; empty
 * without a name) and the digest of its content. */
static enum kube_kind classify(const cJSON *obj, char tagged[OBJECT_KEY_MAX + 2], uint64_t *d)
{
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(obj, "kind");
	char key[OBJECT_KEY_MAX];
	enum kube_kind k;

	tagged[0] = '\0';
	for (k = 0; k < KIND_COUNT; k++)
		if (cJSON_IsString(kind) && !strcmp(kind->valuestring, kube_kind_name[k]))
			break;
	if (k == KIND_NODE || k == KIND_COUNT)
		return KIND_COUNT;
	apply_object_key(k, obj, key);
	if (key[0])
		snprintf(tagged, OBJECT_KEY_MAX + 2, "%c:%s", k == KIND_SERVICE ? 's' : 'e', key);
	*d = digest(obj);
	return k;
}

/* Apply one object that is new or changed (or is to be rejected). */
static void apply_object(struct agent *a, const cJSON *obj, struct affected *aff)
{
	char key[OBJECT_KEY_MAX], tagged[OBJECT_KEY_MAX + 2];
	uint64_t d = 0;
	enum kube_kind k = classify(obj, tagged, &d);

	if (k == KIND_COUNT) {
		const cJSON *kind = cJSON_GetObjectItemCaseSensitive(obj, "kind");

		apply_object_key(KIND_SERVICE, obj, key);
		a->metrics.rejected_other++;
		log_msg(LOG_WARN, "object rejected", "kind=%s object=%s reason=\"not a Service or "
			"EndpointSlice\"", cJSON_IsString(kind) ? kind->valuestring : "?",
			key[0] ? key : "?");
		return;
	}
	if (apply_put(a, k, obj, aff))
		return; /* rejected: a named object keeps its previous version */
	if (tagged[0])
		htab_put(&a->file.digests, tagged, strlen(tagged), (void *)(uintptr_t)d, NULL);
}

/*
 * The file is read twice, one object at a time (never whole: RSS stays near
 * the size of the largest object). The first pass parses every object and
 * notes which are new or changed; any syntax error rejects the whole file
 * and keeps the state that is serving. The second applies the noted ones.
 * A file rewritten in place between the passes is read again at the next
 * poll (its mtime changed); replacing it by rename is atomic.
 */
struct file_pass {
	struct agent *a;
	struct htab *seen;      /* tagged keys in the file */
	struct affected *aff;
	size_t index;           /* objects so far in this pass */
	size_t *todo;           /* indices of the objects to apply, ascending */
	size_t n_todo, cap_todo, next_todo;
};

static int check_object(void *arg, const char *text, size_t len)
{
	struct file_pass *fp = arg;
	cJSON *obj = cJSON_ParseWithLength(text, len);
	char tagged[OBJECT_KEY_MAX + 2];
	enum kube_kind k;
	uint64_t d = 0;
	bool changed;

	if (!obj)
		return -EBADMSG;
	k = classify(obj, tagged, &d);
	cJSON_Delete(obj);
	if (tagged[0]) /* a rejected object keeps its previous version */
		htab_put(fp->seen, tagged, strlen(tagged), (void *)1, NULL);
	changed = k == KIND_COUNT || !tagged[0] ||
		  (uintptr_t)htab_get_str(&fp->a->file.digests, tagged) != d;
	if (changed && fp->n_todo == fp->cap_todo) {
		size_t cap = fp->cap_todo ? fp->cap_todo * 2 : 256;
		size_t *v = realloc(fp->todo, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		fp->todo = v;
		fp->cap_todo = cap;
	}
	if (changed)
		fp->todo[fp->n_todo++] = fp->index;
	fp->index++;
	return 0;
}

static int apply_noted(void *arg, const char *text, size_t len)
{
	struct file_pass *fp = arg;
	cJSON *obj;

	if (fp->next_todo < fp->n_todo && fp->todo[fp->next_todo] == fp->index) {
		fp->next_todo++;
		obj = cJSON_ParseWithLength(text, len);
		if (!obj) { /* rewritten in place since the first pass */
			fp->index++;
			return -EBADMSG;
		}
		apply_object(fp->a, obj, fp->aff);
		cJSON_Delete(obj);
	}
	fp->index++;
	return 0;
}

/* One pass over @fd from its start: 0 or -errno. */
static int read_pass(int fd, list_item_fn fn, struct file_pass *fp)
{
	struct list_reader r;
	char *chunk = malloc(FILE_CHUNK);
	int err = 0;

	if (!chunk)
		return -ENOMEM;
	fp->index = 0;
	list_reader_init(&r, FILE_OBJECT_MAX);
	if (lseek(fd, 0, SEEK_SET) < 0)
		err = -errno;
	while (!err) {
		ssize_t n = read(fd, chunk, FILE_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : list_reader_finish(&r, fn, fp);
			break;
		}
		err = list_reader_feed(&r, chunk, (size_t)n, fn, fp);
	}
	list_reader_free(&r);
	free(chunk);
	return err;
}

static const char *pass_error(int err)
{
	switch (err) {
	case -EBADMSG:
	case -EPROTO:
		return "not a JSON object or List";
	case -E2BIG:
		return "an object is larger than 64 MiB";
	default:
		return strerror(-err);
	}
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
	struct file_pass fp = { .a = a, .aff = &aff };
	struct htab seen;
	struct stat st;
	size_t changed;
	int fd, err;
	double since, t_check, t_apply, t_done;

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
	if (htab_init(&seen, 1024))
		return -ENOMEM;
	fp.seen = &seen;
	fd = open(a->cfg.services_file, O_RDONLY | O_CLOEXEC);
	err = fd < 0 ? -errno : 0;
	if (!err)
		err = read_pass(fd, check_object, &fp);
	t_check = agent_now();
	if (err) {
		a->metrics.source_errors++;
		log_msg(LOG_ERROR, "services file rejected", "path=%s error=\"%s\" (previous state kept)",
			a->cfg.services_file, pass_error(err));
		goto out;
	}
	err = read_pass(fd, apply_noted, &fp);
	if (err) { /* what was applied is valid; the next poll reads it all again */
		a->metrics.source_errors++;
		memset(&a->file.last, 0, sizeof(a->file.last));
		log_msg(LOG_WARN, "services file changed while read", "path=%s error=\"%s\"",
			a->cfg.services_file, pass_error(err));
	} else {
		delete_unseen(a, &seen, &aff);
	}
	t_apply = agent_now();
	agent_publish(a, &aff, since);
	t_done = agent_now();
	changed = aff.n;
	log_msg(LOG_INFO, "services file applied",
		"path=%s services=%zu slices=%zu changed=%zu check_ms=%.1f apply_ms=%.1f "
		"maps_ms=%.1f",
		a->cfg.services_file, a->store.services.count, a->store.slices.count, changed,
		(t_check - since) * 1e3, (t_apply - t_check) * 1e3, (t_done - t_apply) * 1e3);
	if (!err && !a->synced)
		agent_full_sync_done(a);
out:
	if (fd >= 0)
		close(fd);
	affected_free(&aff);
	htab_free(&seen);
	free(fp.todo);
	return err;
}

void file_source_free(struct file_source *f)
{
	htab_free(&f->digests);
}
