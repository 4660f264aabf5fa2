// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "list_reader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Nesting the scan checks bracket by bracket; Kubernetes objects stay far
 * below it, and cJSON refuses deeper ones anyway. */
#define MAX_DEPTH 256

/* Whether each open level is an array: a bit per level. */
struct list_reader_stack {
	unsigned char is_array[MAX_DEPTH / 8];
};

void list_reader_init(struct list_reader *r, size_t max_item)
{
	memset(r, 0, sizeof(*r));
	r->max = max_item;
}

void list_reader_free(struct list_reader *r)
{
	free(r->buf);
	free(r->stack);
	memset(r, 0, sizeof(*r));
}

static int grow(struct list_reader *r)
{
	size_t cap = r->cap ? r->cap * 2 : 4096;
	char *b;

	if (r->cap >= r->max)
		return -E2BIG;
	if (cap > r->max)
		cap = r->max;
	b = realloc(r->buf, cap);
	if (!b)
		return -ENOMEM;
	r->buf = b;
	r->cap = cap;
	return 0;
}

static inline int append(struct list_reader *r, char c)
{
	int err;

	if (r->len == r->cap && (err = grow(r)))
		return err;
	r->buf[r->len++] = c;
	return 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int open_bracket(struct list_reader *r, char c)
{
	unsigned d = r->depth;

	if (d >= MAX_DEPTH)
		return -EPROTO;
	if (!r->stack && !(r->stack = calloc(1, sizeof(*r->stack))))
		return -ENOMEM;
	if (c == '[')
		r->stack->is_array[d / 8] |= (unsigned char)(1u << (d % 8));
	else
		r->stack->is_array[d / 8] &= (unsigned char)~(1u << (d % 8));
	r->depth++;
	return 0;
}

static int close_bracket(struct list_reader *r, char c)
{
	unsigned d;

	if (!r->depth)
		return -EPROTO;
	d = --r->depth;
	if (!!(r->stack->is_array[d / 8] & (1u << (d % 8))) != (c == ']'))
		return -EPROTO; /* {] or [} */
	return 0;
}

/* One byte outside a string. */
static int structural(struct list_reader *r, char c, list_item_fn fn, void *arg)
{
	bool between_items = r->in_items && !r->in_item && r->depth == 2;
	int err;

	switch (c) {
	case '"':
		if (between_items)
			return -EPROTO; /* an item that is not an object */
		r->in_string = true;
		if (r->depth == 1 && r->key_next) {
			r->in_key = true;
			r->key_len = 0;
			r->key_next = false;
		}
		r->value_next = r->value_next && r->depth != 1;
		return 0;
	case '{':
	case '[':
		if (between_items) {
			if (c != '{')
				return -EPROTO;
			r->in_item = true;
			r->len = 0;
			if ((err = append(r, c)))
				return err;
		} else if (r->depth == 1 && r->value_next && r->key_is_items && c == '[') {
			r->in_items = r->items_seen = true;
		}
		if (r->depth == 1)
			r->value_next = false;
		return open_bracket(r, c);
	case '}':
	case ']':
		if ((err = close_bracket(r, c)))
			return err;
		if (r->in_item && r->depth == 2) {
			r->in_item = false;
			err = fn(arg, r->buf, r->len);
			r->len = 0;
			return err;
		}
		if (r->in_items && r->depth == 1)
			r->in_items = false;
		r->ended = r->depth == 0;
		return 0;
	case ':':
		if (r->depth == 1)
			r->value_next = true;
		return 0;
	case ',':
		if (r->depth == 1) {
			r->key_next = true;
			r->key_is_items = false;
		}
		return 0;
	default:
		if (is_space(c))
			return 0;
		if (between_items)
			return -EPROTO;
		if (r->depth == 1)
			r->value_next = false;
		return 0;
	}
}

int list_reader_feed(struct list_reader *r, const char *p, size_t n, list_item_fn fn, void *arg)
{
	int err;

	for (size_t i = 0; i < n; i++) {
		char c = p[i];

		if (r->ended) {
			if (!is_space(c))
				return -EPROTO; /* something after the document */
			continue;
		}
		if (!r->started) {
			if (is_space(c))
				continue;
			if (c != '{')
				return -EPROTO;
			r->started = r->key_next = true;
			if ((err = open_bracket(r, c)) || (err = append(r, c)))
				return err;
			continue;
		}
		/* an item's bytes, or the document's outside the items (it may
		 * turn out to be the one object) */
		if ((r->in_item || (!r->in_items && !r->items_seen)) && (err = append(r, c)))
			return err;
		if (!r->in_string) {
			if ((err = structural(r, c, fn, arg)))
				return err;
			continue;
		}
		if (r->escaped) {
			r->escaped = false;
		} else if (c == '\\') {
			r->escaped = true;
		} else if (c == '"') {
			r->in_string = false;
			if (r->in_key) {
				r->in_key = false;
				r->key_is_items = r->key_len == 5 && !memcmp(r->key, "items", 5);
			}
		} else if (r->in_key && r->key_len < sizeof(r->key)) {
			r->key[r->key_len++] = c; /* a longer key never matches "items" */
		}
	}
	return 0;
}

int list_reader_finish(struct list_reader *r, list_item_fn fn, void *arg)
{
	if (!r->ended)
		return -EPROTO; /* empty or cut short */
	if (r->items_seen)
		return 0;
	return fn(arg, r->buf, r->len);
}
