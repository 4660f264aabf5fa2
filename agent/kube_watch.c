// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "kube_watch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpfnet/names.h>

#include "agent.h"
#include "http.h"

#define WATCH_EVENT_MAX (64u << 20) /* one object; etcd's own limit is 1.5 MiB */
#define LIST_PAGE_MAX (512u << 20)
#define ERROR_BODY_MAX (64u << 10)
#define LIST_IDLE_S 30.0
#define CONNECT_TIMEOUT_MS 10000
#define BACKOFF_BASE_S 0.2
#define BACKOFF_MAX_S 30.0
#define RETRY_AFTER_MAX_S 600 /* a Retry-After beyond this is a mistake */

static const char *const kind_path[KIND_COUNT] = {
	[KIND_SERVICE] = "/api/v1/services",
	[KIND_SLICE] = "/apis/discovery.k8s.io/v1/endpointslices",
	[KIND_NODE] = "/api/v1/nodes",
};

static double jitter(void)
{
	return (double)random() / (double)RAND_MAX;
}

/* ---- publishing changes ---- */

/* Write the services @aff names; before the first full sync nothing is
 * written (that sync writes every cached service). */
static void publish(struct agent *a, struct affected *aff, double since)
{
	if (a->kube.synced)
		agent_publish(a, aff, since);
	affected_clear(aff);
}

static void maybe_first_sync(struct agent *a, double since)
{
	struct kube_source *ks = &a->kube;

	if (ks->synced || !ks->w[KIND_SERVICE].listed || !ks->w[KIND_SLICE].listed)
		return;
	double t0 = agent_now();

	ks->synced = true;
	agent_publish_all(a, since);
	agent_full_sync_done(a);
	log_msg(LOG_INFO, "api synced", "services=%zu slices=%zu nodes=%zu maps_ms=%.1f",
		a->store.services.count, a->store.slices.count, a->store.nodes.count,
		(agent_now() - t0) * 1e3);
}

/* ---- requests ---- */

static size_t on_data(char *p, size_t size, size_t n, void *arg);

static void finish_request(struct kube_watch *w)
{
	struct kube_source *ks = &w->agent->kube;

	if (w->easy) {
		curl_multi_remove_handle(ks->multi, w->easy);
		curl_easy_cleanup(w->easy);
		w->easy = NULL;
	}
	curl_slist_free_all(w->headers);
	w->headers = NULL;
	w->body_len = 0;
	w->status = 0;
}

static void set_pem(CURL *e, const struct kube_pem *p, CURLoption file_opt, CURLoption blob_opt)
{
	if (p->data) {
		struct curl_blob blob = { .data = p->data, .len = p->len, .flags = CURL_BLOB_COPY };

		curl_easy_setopt(e, blob_opt, &blob);
	} else if (p->path[0]) {
		curl_easy_setopt(e, file_opt, p->path);
	}
}

static int start_request(struct kube_watch *w, const char *url, enum kube_watch_state state)
{
	struct kube_source *ks = &w->agent->kube;
	/* a rejected token may have been rotated in place: read it again */
	const char *token = kube_conn_token(&ks->conn, w->auth_failed);
	struct curl_slist *h = NULL;
	CURL *e = curl_easy_init();

	finish_request(w);
	if (!e)
		return -ENOMEM;
	h = curl_slist_append(h, "Accept: application/json");
	if (token) {
		size_t len = strlen(token) + 32;
		char *auth = malloc(len);

		if (auth) {
			snprintf(auth, len, "Authorization: Bearer %s", token);
			h = curl_slist_append(h, auth);
			free(auth);
		}
	}
	w->headers = h;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "bpfnetd/" BPFNET_VERSION);
	curl_easy_setopt(e, CURLOPT_PRIVATE, w);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, w);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, ""); /* gzip for large lists */
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
	/* a peer that vanished without a FIN is found by the kernel */
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 15L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 5L);
	set_pem(e, &ks->conn.ca, CURLOPT_CAINFO, CURLOPT_CAINFO_BLOB);
	set_pem(e, &ks->conn.cert, CURLOPT_SSLCERT, CURLOPT_SSLCERT_BLOB);
	set_pem(e, &ks->conn.key, CURLOPT_SSLKEY, CURLOPT_SSLKEY_BLOB);
	if (ks->conn.insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (curl_multi_add_handle(ks->multi, e) != CURLM_OK) {
		curl_easy_cleanup(e);
		return -EIO;
	}
	w->easy = e;
	w->state = state;
	w->started = w->last_byte = agent_now();
	w->status = 0;
	w->stream_error = w->relist = false;
	w->events_this_watch = 0;
	w->why[0] = '\0';
	json_framer_reset(&w->framer);
	return 0;
}

static int start_list(struct kube_watch *w)
{
	struct kube_source *ks = &w->agent->kube;
	char url[8192];

	w->list_pending = true;
	if (!w->cont) {
		w->list_started = agent_now();
		w->list_parse_s = w->list_apply_s = 0;
		w->list_bytes = 0;
		/* a new list: forget the marks of an abandoned one */
		htab_free(&w->seen);
		if (htab_init(&w->seen, 1024))
			return -ENOMEM;
		affected_clear(&w->aff);
	}
	if (w->cont) {
		char *esc = curl_easy_escape(NULL, w->cont, 0);

		snprintf(url, sizeof(url), "%s%s?limit=%u&continue=%s", ks->conn.server,
			 kind_path[w->kind], ks->page_size, esc ? esc : "");
		curl_free(esc);
	} else {
		snprintf(url, sizeof(url), "%s%s?limit=%u", ks->conn.server, kind_path[w->kind],
			 ks->page_size);
	}
	log_msg(LOG_DEBUG, "api list", "kind=%s continue=%d", kube_kind_name[w->kind], !!w->cont);
	return start_request(w, url, KW_LIST);
}

static int start_watch(struct kube_watch *w)
{
	struct kube_source *ks = &w->agent->kube;
	char url[2048], *esc = curl_easy_escape(NULL, w->rv, 0);

	/* spread the reconnects of many agents, as client-go does */
	w->timeout_s = ks->watch_timeout_s + (unsigned)(jitter() * ks->watch_timeout_s / 5);
	snprintf(url, sizeof(url),
		 "%s%s?watch=true&allowWatchBookmarks=true&resourceVersion=%s&timeoutSeconds=%u",
		 ks->conn.server, kind_path[w->kind], esc ? esc : "", w->timeout_s);
	curl_free(esc);
	log_msg(LOG_DEBUG, "api watch", "kind=%s rv=%s", kube_kind_name[w->kind], w->rv);
	return start_request(w, url, KW_WATCH);
}

/* Give up on this request; try again after a jittered exponential delay. */
static void fail_request(struct kube_watch *w, const char *why)
{
	struct agent *a = w->agent;
	double delay;

	finish_request(w);
	a->metrics.api_errors++;
	w->failures++;
	delay = BACKOFF_BASE_S * (double)(1u << (w->failures < 8 ? w->failures - 1 : 8));
	if (delay > BACKOFF_MAX_S)
		delay = BACKOFF_MAX_S;
	delay = delay / 2 + jitter() * delay / 2;
	/* a server that says when to come back (429, 503) is obeyed */
	if (w->retry_after_s > delay)
		delay = w->retry_after_s;
	w->retry_after_s = 0;
	w->retry_at = agent_now() + delay;
	w->state = KW_IDLE;
	snprintf(w->why, sizeof(w->why), "%s", why);
	log_msg(w->failures > 3 ? LOG_ERROR : LOG_WARN, "api request failed",
		"kind=%s error=\"%s\" attempt=%u retry_in_s=%.2f", kube_kind_name[w->kind], why,
		w->failures, delay);
}

static void relist(struct kube_watch *w, const char *why)
{
	finish_request(w);
	w->agent->metrics.api_relists++;
	free(w->cont);
	w->cont = NULL;
	log_msg(LOG_INFO, "api relist", "kind=%s reason=\"%s\"", kube_kind_name[w->kind], why);
	if (start_list(w))
		fail_request(w, "cannot start a request");
}

/* ---- watch events ---- */

static const char *meta_rv(const cJSON *obj)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const cJSON *rv = meta ? cJSON_GetObjectItemCaseSensitive(meta, "resourceVersion") : NULL;

	return cJSON_IsString(rv) && rv->valuestring[0] ? rv->valuestring : NULL;
}

/* An ERROR event carries a metav1.Status. */
static int watch_error(struct kube_watch *w, const cJSON *status)
{
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(status, "code");
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(status, "message");

	snprintf(w->why, sizeof(w->why), "watch ERROR event: code=%d %s",
		 cJSON_IsNumber(code) ? code->valueint : 0,
		 cJSON_IsString(msg) ? msg->valuestring : "");
	if (cJSON_IsNumber(code) && code->valueint == 410)
		w->relist = true;
	else
		w->stream_error = true;
	return -ECANCELED;
}

static int on_event(void *arg, const char *text, size_t len)
{
	struct kube_watch *w = arg;
	struct agent *a = w->agent;
	double since = agent_now();
	cJSON *ev = cJSON_ParseWithLength(text, len);
	const cJSON *type = ev ? cJSON_GetObjectItemCaseSensitive(ev, "type") : NULL;
	const cJSON *obj = ev ? cJSON_GetObjectItemCaseSensitive(ev, "object") : NULL;
	const char *rv = obj ? meta_rv(obj) : NULL;
	char key[OBJECT_KEY_MAX];
	int ret = 0;

	w->events_this_watch++;
	a->metrics.api_events++;
	if (!cJSON_IsString(type) || !cJSON_IsObject(obj)) {
		a->metrics.rejected_other++;
		log_msg(LOG_WARN, "watch event rejected", "kind=%s reason=\"%s\"",
			kube_kind_name[w->kind], ev ? "no type or object" : "not JSON");
		goto out;
	}
	if (!strcmp(type->valuestring, "ERROR")) {
		ret = watch_error(w, obj);
		goto out;
	}
	if (!strcmp(type->valuestring, "BOOKMARK")) {
		/* nothing changed up to here: resume from it after a drop */
	} else if (!strcmp(type->valuestring, "ADDED") || !strcmp(type->valuestring, "MODIFIED")) {
		apply_put(a, w->kind, obj, &w->aff);
	} else if (!strcmp(type->valuestring, "DELETED")) {
		apply_object_key(w->kind, obj, key);
		if (key[0])
			apply_delete(a, w->kind, key, &w->aff);
	} else {
		a->metrics.rejected_other++;
		log_msg(LOG_WARN, "watch event rejected", "kind=%s reason=\"unknown type %.32s\"",
			kube_kind_name[w->kind], type->valuestring);
		goto out;
	}
	if (rv && strlen(rv) < sizeof(w->rv))
		strcpy(w->rv, rv);
	publish(a, &w->aff, since);
out:
	cJSON_Delete(ev);
	return ret;
}

static int append_body(struct kube_watch *w, const char *p, size_t n, size_t max)
{
	if (w->body_len + n > max)
		return -E2BIG;
	if (w->body_len + n + 1 > w->body_cap) {
		size_t cap = w->body_cap ? w->body_cap : 65536;
		char *b;

		while (cap < w->body_len + n + 1)
			cap *= 2;
		b = realloc(w->body, cap);
		if (!b)
			return -ENOMEM;
		w->body = b;
		w->body_cap = cap;
	}
	memcpy(w->body + w->body_len, p, n);
	w->body_len += n;
	w->body[w->body_len] = '\0';
	return 0;
}

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct kube_watch *w = arg;
	size_t len = size * n;
	int err;

	w->last_byte = agent_now();
	if (!w->status)
		curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &w->status);
	if (w->state == KW_WATCH && w->status == 200) {
		err = json_framer_feed(&w->framer, p, len, on_event, w);
		if (!err)
			return len;
		if (err != -ECANCELED) {
			w->stream_error = true;
			snprintf(w->why, sizeof(w->why), "watch stream unusable: %s", strerror(-err));
		}
		return 0; /* ends the transfer; request_done() decides what next */
	}
	err = append_body(w, p, len, w->status == 200 ? LIST_PAGE_MAX : ERROR_BODY_MAX);
	if (err) {
		snprintf(w->why, sizeof(w->why), "response too large");
		return 0;
	}
	return len;
}

/* ---- completed requests ---- */

static void sweep_unlisted(struct kube_watch *w)
{
	struct agent *a = w->agent;
	struct htab *table = apply_table(a, w->kind);
	char (*gone)[OBJECT_KEY_MAX] = NULL;
	size_t n = 0;

	if (table->count)
		gone = calloc(table->count, sizeof(*gone));
	if (!gone)
		return;
	htab_for_each(table, e, i) {
		if (htab_get(&w->seen, e->key, e->key_len) || e->key_len >= OBJECT_KEY_MAX)
			continue;
		memcpy(gone[n], e->key, e->key_len);
		gone[n][e->key_len] = '\0';
		n++;
	}
	for (size_t i = 0; i < n; i++)
		apply_delete(a, w->kind, gone[i], &w->aff);
	if (n)
		log_msg(LOG_INFO, "api sweep", "kind=%s deleted=%zu", kube_kind_name[w->kind], n);
	free(gone);
}

/* One page of a list: store its items; the last page sweeps and watches. */
static void list_page_done(struct kube_watch *w)
{
	struct agent *a = w->agent;
	double t0 = agent_now();
	cJSON *doc = cJSON_ParseWithLength(w->body, w->body_len);
	double t1 = agent_now();
	size_t page_bytes = w->body_len;
	const cJSON *items = doc ? cJSON_GetObjectItemCaseSensitive(doc, "items") : NULL;
	const cJSON *meta = doc ? cJSON_GetObjectItemCaseSensitive(doc, "metadata") : NULL;
	const cJSON *cont = meta ? cJSON_GetObjectItemCaseSensitive(meta, "continue") : NULL;
	const char *rv = doc ? meta_rv(doc) : NULL;
	const cJSON *it;
	char key[OBJECT_KEY_MAX];
	double since = w->list_started;

	if (!cJSON_IsArray(items) || !rv || strlen(rv) >= sizeof(w->rv)) {
		cJSON_Delete(doc);
		fail_request(w, doc ? "list response without items or resourceVersion" :
				      "list response is not JSON");
		return;
	}
	finish_request(w);
	strcpy(w->rv, rv);
	cJSON_ArrayForEach(it, items) {
		/* list items carry no kind: it is the list's */
		apply_object_key(w->kind, it, key);
		if (key[0])
			htab_put(&w->seen, key, strlen(key), (void *)1, NULL);
		apply_put(a, w->kind, it, &w->aff);
	}
	w->list_parse_s += t1 - t0;
	w->list_apply_s += agent_now() - t1;
	w->list_bytes += page_bytes;
	free(w->cont);
	w->cont = NULL;
	if (cJSON_IsString(cont) && cont->valuestring[0])
		w->cont = strdup(cont->valuestring);
	cJSON_Delete(doc);
	if (w->cont) {
		if (start_list(w))
			fail_request(w, "cannot start a request");
		return;
	}
	sweep_unlisted(w);
	w->list_pending = false;
	htab_free(&w->seen);
	memset(&w->seen, 0, sizeof(w->seen));
	w->listed = true;
	w->failures = 0;
	log_msg(LOG_INFO, "api listed",
		"kind=%s objects=%zu rv=%s bytes=%zu pages_ms=%.1f parse_ms=%.1f apply_ms=%.1f",
		kube_kind_name[w->kind], apply_table(a, w->kind)->count, w->rv, w->list_bytes,
		(agent_now() - since) * 1e3, w->list_parse_s * 1e3, w->list_apply_s * 1e3);
	publish(a, &w->aff, since);
	maybe_first_sync(a, since);
	if (w->kind == KIND_NODE)
		agent_nodes_listed(a);
	if (start_watch(w))
		fail_request(w, "cannot start a request");
}

/* What went wrong: the transport error, or the Status message the server sent. */
static void describe_error(struct kube_watch *w, CURLcode res, char *buf, size_t len)
{
	cJSON *st;
	const cJSON *msg;

	if (res != CURLE_OK && res != CURLE_WRITE_ERROR) {
		snprintf(buf, len, "%s", curl_easy_strerror(res));
		return;
	}
	if (w->status == 200) {
		snprintf(buf, len, "%s", w->why[0] ? w->why : curl_easy_strerror(res));
		return;
	}
	st = w->body_len ? cJSON_ParseWithLength(w->body, w->body_len) : NULL;
	msg = st ? cJSON_GetObjectItemCaseSensitive(st, "message") : NULL;
	snprintf(buf, len, "HTTP %ld: %s", w->status,
		 cJSON_IsString(msg) ? msg->valuestring : "(no Status in the response)");
	cJSON_Delete(st);
}

static void request_done(struct kube_watch *w, CURLcode res)
{
	curl_off_t retry_after = 0;
	char why[512];

	if (!w->status)
		curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &w->status);
	w->auth_failed = w->status == 401;
	/* seconds, or an HTTP date that libcurl turned into seconds */
	if (!curl_easy_getinfo(w->easy, CURLINFO_RETRY_AFTER, &retry_after) && retry_after > 0)
		w->retry_after_s = retry_after > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S
								   : (double)retry_after;
	if (w->state == KW_LIST) {
		if (res == CURLE_OK && w->status == 200) {
			list_page_done(w);
		} else if (w->status == 410) {
			relist(w, "continue token expired");
		} else {
			describe_error(w, res, why, sizeof(why));
			fail_request(w, why);
		}
		return;
	}
	/* a watch ended */
	if (w->relist || w->status == 410) {
		relist(w, w->relist ? w->why : "resourceVersion too old");
		return;
	}
	if (w->status == 200 && !w->stream_error && res == CURLE_OK &&
	    (w->events_this_watch || agent_now() - w->started >= 1.0)) {
		/* the server closed it (its timeout): carry on from where we are */
		w->failures = 0;
		if (start_watch(w))
			fail_request(w, "cannot start a request");
		return;
	}
	if (w->status == 200 && !w->stream_error && res == CURLE_OK)
		snprintf(why, sizeof(why), "watch closed at once");
	else if (w->stream_error)
		snprintf(why, sizeof(why), "%s", w->why);
	else
		describe_error(w, res, why, sizeof(why));
	fail_request(w, why);
}

/* ---- the loop ---- */

/* Seconds without a byte before a request counts as dead. A watch asked
 * the server to end it after timeout_s; allow some slack past that. */
static double idle_limit(const struct kube_watch *w)
{
	double slack;

	if (w->state != KW_WATCH)
		return LIST_IDLE_S;
	slack = w->timeout_s / 2.0;
	if (slack < 2)
		slack = 2;
	if (slack > 30)
		slack = 30;
	return w->timeout_s + slack;
}

static void start_due(struct agent *a, double now)
{
	struct kube_source *ks = &a->kube;

	for (int k = 0; k < KIND_COUNT; k++) {
		struct kube_watch *w = &ks->w[k];
		int err;

		if (w->state == KW_IDLE && now >= w->retry_at) {
			/* resume where we were: a watch from the last version seen,
			 * or the list that failed, from its start */
			if (!w->list_pending && w->listed && w->rv[0]) {
				a->metrics.api_reconnects++;
				err = start_watch(w);
			} else {
				free(w->cont);
				w->cont = NULL;
				err = start_list(w);
			}
			if (err)
				fail_request(w, "cannot start a request");
			continue;
		}
		if (w->state == KW_IDLE)
			continue;
		if (now - w->last_byte > idle_limit(w)) {
			char why[128];

			snprintf(why, sizeof(why), "no data for %.0f s", now - w->last_byte);
			fail_request(w, why);
		}
	}
}

void kube_source_step(struct agent *a, struct pollfd *extra, size_t n_extra, int timeout_ms)
{
	struct kube_source *ks = &a->kube;
	struct curl_waitfd wfd[HTTP_CONNS_MAX + 1];
	double now = agent_now(), next = now + timeout_ms / 1e3;
	unsigned int n = 0;
	CURLMsg *msg;
	int running, left;

	for (size_t i = 0; i < n_extra && n < sizeof(wfd) / sizeof(wfd[0]); i++, n++)
		wfd[n] = (struct curl_waitfd){
			.fd = extra[i].fd,
			.events = (short)((extra[i].events & POLLIN ? CURL_WAIT_POLLIN : 0) |
					  (extra[i].events & POLLOUT ? CURL_WAIT_POLLOUT : 0)),
		};
	for (int k = 0; k < KIND_COUNT; k++)
		if (ks->w[k].state == KW_IDLE && ks->w[k].retry_at < next)
			next = ks->w[k].retry_at;
	if (next < now)
		next = now;
	curl_multi_poll(ks->multi, wfd, n, (int)((next - now) * 1e3), NULL);
	for (unsigned int i = 0; i < n; i++)
		extra[i].revents = (short)((wfd[i].revents & CURL_WAIT_POLLIN ? POLLIN : 0) |
					   (wfd[i].revents & CURL_WAIT_POLLOUT ? POLLOUT : 0) |
					   (wfd[i].revents & CURL_WAIT_POLLPRI ? POLLPRI : 0));
	curl_multi_perform(ks->multi, &running);
	while ((msg = curl_multi_info_read(ks->multi, &left))) {
		struct kube_watch *w = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&w);
		if (w && w->easy == msg->easy_handle)
			request_done(w, msg->data.result);
	}
	start_due(a, agent_now());
}

int kube_source_start(struct agent *a)
{
	struct kube_source *ks = &a->kube;
	char err[512];
	int ret;

	ret = kube_conn_resolve(&ks->conn, a->cfg.api_server, a->cfg.kubeconfig,
				a->cfg.serviceaccount_dir, a->cfg.k8s_insecure_http, err, sizeof(err));
	if (ret) {
		log_msg(LOG_ERROR, "kubernetes config", "error=\"%s\"", err);
		return ret;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) || !(ks->multi = curl_multi_init())) {
		log_msg(LOG_ERROR, "curl init failed", "%s", "");
		return -ENOMEM;
	}
	ks->page_size = a->cfg.k8s_page_size ? a->cfg.k8s_page_size : 500;
	ks->watch_timeout_s = a->cfg.k8s_watch_timeout_s ? a->cfg.k8s_watch_timeout_s : 300;
	srandom((unsigned)(agent_now() * 1e6) ^ (unsigned)getpid());
	log_msg(LOG_INFO, "kubernetes api", "server=%s credentials=%s tls_verify=%d",
		ks->conn.server, ks->conn.origin, !ks->conn.insecure);
	for (int k = 0; k < KIND_COUNT; k++) {
		struct kube_watch *w = &ks->w[k];

		w->agent = a;
		w->kind = (enum kube_kind)k;
		json_framer_init(&w->framer, WATCH_EVENT_MAX);
		w->state = KW_IDLE;
		w->retry_at = 0; /* start_due() lists it now */
	}
	start_due(a, agent_now());
	return 0;
}

void kube_source_free(struct kube_source *ks)
{
	for (int k = 0; k < KIND_COUNT; k++) {
		struct kube_watch *w = &ks->w[k];

		if (w->agent)
			finish_request(w);
		json_framer_free(&w->framer);
		htab_free(&w->seen);
		affected_free(&w->aff);
		free(w->cont);
		free(w->body);
	}
	if (ks->multi) {
		curl_multi_cleanup(ks->multi);
		curl_global_cleanup();
	}
	kube_conn_free(&ks->conn);
	memset(ks, 0, sizeof(*ks));
}
