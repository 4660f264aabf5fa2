// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "json_framer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void json_framer_init(struct json_framer *f, size_t max)
{
	memset(f, 0, sizeof(*f));
	f->max = max;
}

void json_framer_reset(struct json_framer *f)
{
	f->len = 0;
	f->depth = 0;
	f->in_string = f->escaped = false;
}

void json_framer_free(struct json_framer *f)
{
	free(f->buf);
	json_framer_init(f, f->max);
}

static int append(struct json_framer *f, const char *p, size_t n)
{
	if (f->len + n > f->max)
		return -E2BIG;
	if (f->len + n > f->cap) {
		size_t cap = f->cap ? f->cap : 4096;
		char *b;

		while (cap < f->len + n)
			cap *= 2;
		b = realloc(f->buf, cap);
		if (!b)
			return -ENOMEM;
		f->buf = b;
		f->cap = cap;
	}
	memcpy(f->buf + f->len, p, n);
	f->len += n;
	return 0;
}

int json_framer_feed(struct json_framer *f, const char *data, size_t n, json_framer_emit emit,
		     void *arg)
{
	size_t start = 0; /* first byte of the current object inside @data */
	int err;

	for (size_t i = 0; i < n; i++) {
		char c = data[i];
		size_t piece;

		if (f->depth == 0) {
			/* between objects: only whitespace, then '{' */
			if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
				continue;
			if (c != '{')
				return -EPROTO;
			f->depth = 1;
			start = i;
			continue;
		}
		if (f->in_string) {
			if (f->escaped)
				f->escaped = false;
			else if (c == '\\')
				f->escaped = true;
			else if (c == '"')
				f->in_string = false;
			continue;
		}
		if (c == '"') {
			f->in_string = true;
			continue;
		}
		if (c == '{' || c == '[') {
			f->depth++;
			continue;
		}
		if ((c != '}' && c != ']') || --f->depth)
			continue;
		/* complete: straight from @data unless it spanned chunks */
		piece = i + 1 - start;
		if (f->len + piece > f->max)
			return -E2BIG;
		if (f->len) {
			if ((err = append(f, data + start, piece)))
				return err;
			err = emit(arg, f->buf, f->len);
			f->len = 0;
		} else {
			err = emit(arg, data + start, piece);
		}
		if (err)
			return err;
	}
	if (f->depth)
		return append(f, data + start, n - start);
	return 0;
}
