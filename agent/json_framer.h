/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Splits a stream of concatenated JSON objects (a Kubernetes watch body)
 * into whole objects as bytes arrive, whatever the chunk boundaries. The
 * API server separates events with a newline, but the framing is the JSON
 * itself, so nothing here depends on the newline.
 */
#ifndef BPFNET_AGENT_JSON_FRAMER_H
#define BPFNET_AGENT_JSON_FRAMER_H

#include <stdbool.h>
#include <stddef.h>

struct json_framer {
	char *buf; /* the object in progress, when it spans chunks */
	size_t len, cap;
	size_t max; /* largest object accepted */
	unsigned depth;
	bool in_string, escaped;
};

/* Called for each complete object; a non-zero return stops the feed and
 * is returned by json_framer_feed(). */
typedef int (*json_framer_emit)(void *arg, const char *obj, size_t len);

void json_framer_init(struct json_framer *f, size_t max);
/* Forget a partial object (a new connection starts clean). */
void json_framer_reset(struct json_framer *f);
void json_framer_free(struct json_framer *f);
/* 0; -E2BIG for an object over the limit; -EPROTO for bytes that cannot
 * start an object; -ENOMEM; or the emit callback's non-zero return. */
int json_framer_feed(struct json_framer *f, const char *data, size_t n, json_framer_emit emit,
		     void *arg);

#endif
