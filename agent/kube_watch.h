/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * List+watch of Services, EndpointSlices and Nodes over libcurl's multi
 * interface, in the agent's one thread. Per kind:
 *
 *   LIST (pages of --k8s-page-size, limit/continue) -> sweep what the list
 *   did not name -> WATCH from the list's resourceVersion (bookmarks on)
 *   -> on a normal end, WATCH again from the last resourceVersion seen;
 *   on 410 Gone (HTTP or an ERROR event), LIST again; on any other
 *   failure, back off (exponential, jittered) and resume.
 *
 * No service is written to the maps until both Services and EndpointSlices
 * have been listed once, so a restarting agent never publishes a service
 * without its endpoints. A watch that delivers nothing for longer than the
 * timeout it asked the server for is treated as dead.
 */
#ifndef BPFNET_AGENT_KUBE_WATCH_H
#define BPFNET_AGENT_KUBE_WATCH_H

#include <poll.h>
#include <stdbool.h>
#include <curl/curl.h>

#include "apply.h"
#include "json_framer.h"
#include "kubeconfig.h"

struct agent;

enum kube_watch_state { KW_IDLE, KW_LIST, KW_WATCH };

struct kube_watch {
	struct agent *agent;
	enum kube_kind kind;
	enum kube_watch_state state;
	CURL *easy;
	struct curl_slist *headers;
	char rv[64];  /* last resourceVersion seen (list or event) */
	char *cont;   /* continue token of the list in progress */
	char *body;   /* list page, or an error response */
	size_t body_len, body_cap;
	long status;  /* HTTP status of the response in progress */
	struct json_framer framer;
	struct htab seen;          /* keys named by the list in progress */
	struct affected aff;       /* services the list in progress touched */
	bool listed;               /* one complete list done */
	bool list_pending;         /* a list was started and has not completed */
	bool relist;               /* the watch reported 410: list again */
	bool stream_error;         /* the watch stream was unusable */
	bool auth_failed;          /* the last response was 401 */
	char why[256];             /* the last failure, for the log */
	double started, last_byte, retry_at;
	double list_started;       /* the first page of the list in progress */
	double list_parse_s, list_apply_s; /* its JSON parsing and caching so far */
	size_t list_bytes;
	unsigned failures, events_this_watch;
	unsigned timeout_s;        /* the timeoutSeconds of the current watch */
	double retry_after_s;      /* the server's Retry-After on the failed response */
};

struct kube_source {
	struct kube_conn conn;
	CURLM *multi;
	struct kube_watch w[KIND_COUNT];
	unsigned page_size;
	unsigned watch_timeout_s;
	bool synced;             /* Services and EndpointSlices listed once */
};

/* Resolve the connection, start listing. 0 or -errno (logged). */
int kube_source_start(struct agent *a);
/* Wait up to @timeout_ms for API data or one of @extra (their revents are
 * set, as poll() would); handle the API data that arrived. */
void kube_source_step(struct agent *a, struct pollfd *extra, size_t n_extra, int timeout_ms);
void kube_source_free(struct kube_source *ks);

#endif
