// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The services file's streaming reader: each object of a List (or the one
 * object) at every chunk boundary, and the documents it refuses. */
#include <errno.h>
#include <stdlib.h>

#include "list_reader.h"
#include "testutil.h"

struct items {
	char v[8][256];
	int n;
};

static int collect(void *arg, const char *item, size_t len)
{
	struct items *c = arg;

	if (c->n == 8 || len >= sizeof(c->v[0]))
		return -ENOSPC;
	memcpy(c->v[c->n], item, len);
	c->v[c->n][len] = '\0';
	c->n++;
	return 0;
}

/* Feed @doc cut at @cut, then finish. */
static int read_doc(const char *doc, size_t cut, size_t max, struct items *c)
{
	struct list_reader r;
	size_t n = strlen(doc);
	int err;

	list_reader_init(&r, max);
	err = list_reader_feed(&r, doc, cut, collect, c);
	if (!err)
		err = list_reader_feed(&r, doc + cut, n - cut, collect, c);
	if (!err)
		err = list_reader_finish(&r, collect, c);
	list_reader_free(&r);
	return err;
}

/* kubectl's shape, with the awkward parts: an "items" key nested in an
 * item and in the metadata, brackets and quotes and escapes in strings, a
 * key that starts like "items", metadata after the items. */
static const char list_doc[] =
	"{\n    \"apiVersion\": \"v1\",\n    \"itemsX\": [1, 2],\n"
	"    \"items\": [\n"
	"        {\"kind\":\"Service\",\"items\":[{\"a\":1}],\"n\":\"} ] \\\" \\\\\"},\n"
	"        {\"kind\":\"EndpointSlice\",\"e\":[[],{}]}\n"
	"    ],\n    \"kind\": \"List\",\n    \"metadata\": {\"items\": \"[\"}\n}\n";
static const char *const list_items[] = {
	"{\"kind\":\"Service\",\"items\":[{\"a\":1}],\"n\":\"} ] \\\" \\\\\"}",
	"{\"kind\":\"EndpointSlice\",\"e\":[[],{}]}",
};

TEST(list_reader_items_at_every_split_point)
{
	size_t n = strlen(list_doc);

	(void)f;
	for (size_t cut = 0; cut <= n; cut++) {
		struct items c = {};
		char how[64];

		snprintf(how, sizeof(how), "cut at %zu", cut);
		ASSERT_OK(read_doc(list_doc, cut, 4096, &c), how);
		ASSERT_EQ(c.n, 2, how);
		for (int i = 0; i < 2; i++)
			if (strcmp(c.v[i], list_items[i]))
				FAIL("%s: item %d is %s", how, i, c.v[i]);
	}
	/* byte by byte */
	struct list_reader r;
	struct items c = {};

	list_reader_init(&r, 4096);
	for (size_t i = 0; i < n; i++)
		ASSERT_OK(list_reader_feed(&r, list_doc + i, 1, collect, &c), "byte feed");
	ASSERT_OK(list_reader_finish(&r, collect, &c), "finish");
	ASSERT_EQ(c.n, 2, "byte by byte");
	list_reader_free(&r);
}

TEST(list_reader_single_object_and_empty_list)
{
	static const char one[] = " {\"kind\":\"Service\",\"spec\":{\"items\":[1]}} \n";
	struct items c = {};

	(void)f;
	ASSERT_OK(read_doc(one, 10, 4096, &c), "one object");
	ASSERT_EQ(c.n, 1, "emitted at the end");
	ASSERT_TRUE(!strcmp(c.v[0], "{\"kind\":\"Service\",\"spec\":{\"items\":[1]}}"),
		    "the object, without the surrounding space");
	c.n = 0;
	ASSERT_OK(read_doc("{\"kind\":\"List\",\"items\":[]}", 5, 4096, &c), "empty list");
	ASSERT_EQ(c.n, 0, "no items");
}

TEST(list_reader_refuses_broken_documents)
{
	static const struct {
		const char *doc;
		int err;
		const char *why;
	} cases[] = {
		{ "", -EPROTO, "empty" },
		{ "{ broken", -EPROTO, "cut short" },
		{ "{\"items\":[{\"a\":1}", -EPROTO, "cut after an item" },
		{ "{\"items\":[{\"a\":\"}]}", -EPROTO, "cut inside a string" },
		{ "[{\"a\":1}]", -EPROTO, "an array at the top" },
		{ "{\"items\":[1,2]}", -EPROTO, "items that are not objects" },
		{ "{\"items\":[\"x\"]}", -EPROTO, "a string item" },
		{ "{\"items\":[{\"a\":1]]}", -EPROTO, "mismatched brackets" },
		{ "{\"a\":1} {\"b\":2}", -EPROTO, "a second document" },
		{ "<html>", -EPROTO, "not JSON" },
	};

	(void)f;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct items c = {};

		ASSERT_EQ(read_doc(cases[i].doc, strlen(cases[i].doc) / 2, 4096, &c), cases[i].err,
			  cases[i].why);
	}
	/* an item over the limit; the one object over the limit */
	struct items c = {};
	char big[400];

	memset(big, ' ', sizeof(big));
	memcpy(big, "{\"items\":[{\"a\":\"", 16);
	memcpy(big + sizeof(big) - 5, "\"}]}", 5);
	ASSERT_EQ(read_doc(big, 100, 256, &c), -E2BIG, "item too large");
	memcpy(big, "{\"zzzzz\":[{\"a\":\"", 16);
	ASSERT_EQ(read_doc(big, 100, 256, &c), -E2BIG, "object too large");
	/* the callback stops the feed */
	ASSERT_EQ(read_doc(list_doc, 0, 4096, &(struct items){ .n = 8 }), -ENOSPC,
		  "callback error returned");
}
