// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The services-file reader: a List streamed in chunks; every item it
 * hands out must be a JSON value it saw whole. */
#include <stdint.h>
#include <stdlib.h>
#include <cjson/cJSON.h>

#include "list_reader.h"

static int item(void *arg, const char *text, size_t len)
{
	cJSON *doc = cJSON_ParseWithLength(text, len);

	(void)arg;
	if (!len)
		abort();
	cJSON_Delete(doc);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct list_reader r;
	size_t off = 1;
	int err = 0;

	if (!size)
		return 0;
	list_reader_init(&r, 8192);
	while (off < size && !err) {
		size_t n = (data[0] % 13) + 1;

		if (n > size - off)
			n = size - off;
		err = list_reader_feed(&r, (const char *)data + off, n, item, NULL);
		off += n;
	}
	if (!err)
		list_reader_finish(&r, item, NULL);
	list_reader_free(&r);
	return 0;
}
