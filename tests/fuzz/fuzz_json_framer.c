// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The watch-stream framer: any bytes, cut into chunks where the input
 * says; every object it emits must be one the stream held whole. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "json_framer.h"

static int emit(void *arg, const char *obj, size_t len)
{
	cJSON *doc = cJSON_ParseWithLength(obj, len);

	(void)arg;
	if (len == 0 || (obj[0] != '{' && obj[0] != '['))
		abort(); /* the framer only hands out objects and arrays */
	cJSON_Delete(doc);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_framer f;
	size_t off = 1;

	if (!size)
		return 0;
	json_framer_init(&f, 4096);
	/* the first byte chooses the chunk size: every boundary gets its turn */
	while (off < size) {
		size_t n = (data[0] % 17) + 1;

		if (n > size - off)
			n = size - off;
		if (json_framer_feed(&f, (const char *)data + off, n, emit, NULL))
			break;
		off += n;
	}
	json_framer_free(&f);
	return 0;
}
