/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Reads a JSON document as `kubectl get -o json` prints it, a List whose
 * "items" array holds the objects, or one object alone, from bytes fed in
 * any chunks, and hands out each object's text as soon as it is complete.
 * Only one object is held at a time, never the whole document, so a large
 * services file costs the size of its largest object. The scan tracks
 * strings, escapes and nesting; the objects themselves are parsed by the
 * caller.
 */
#ifndef BPFNET_AGENT_LIST_READER_H
#define BPFNET_AGENT_LIST_READER_H

#include <stdbool.h>
#include <stddef.h>

struct list_reader_stack;

struct list_reader {
	struct list_reader_stack *stack;
	char *buf;  /* the item in progress, or the document outside the items */
	size_t len, cap, max;
	unsigned depth;
	bool in_string, escaped;
	bool started, ended;   /* the top-level object opened / closed */
	bool in_items;         /* inside the top-level "items" array */
	bool in_item;          /* inside one of its elements */
	bool items_seen;
	bool key_next;         /* at depth 1, the next string is a key */
	bool key_is_items;     /* the depth-1 key just read is "items" */
	bool value_next;       /* at depth 1, after the colon */
	bool in_key;
	char key[8];
	size_t key_len;
};

/* Called with each object's text; a non-zero return stops the feed and is
 * returned by list_reader_feed()/_finish(). */
typedef int (*list_item_fn)(void *arg, const char *item, size_t len);

void list_reader_init(struct list_reader *r, size_t max_item);
void list_reader_free(struct list_reader *r);
/* 0; -EPROTO for a document that is not a JSON object or an items element
 * that is not an object; -E2BIG for an object over the limit; -ENOMEM; or
 * @fn's non-zero return. */
int list_reader_feed(struct list_reader *r, const char *p, size_t n, list_item_fn fn, void *arg);
/* At the end of the bytes: -EPROTO when the document is incomplete; a
 * document without an "items" array is itself the one object. */
int list_reader_finish(struct list_reader *r, list_item_fn fn, void *arg);

#endif
