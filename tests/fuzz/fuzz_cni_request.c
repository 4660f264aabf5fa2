// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The CNI plugin's input: NUL-separated CNI_COMMAND, CNI_CONTAINERID,
 * CNI_IFNAME, CNI_NETNS and CNI_PATH, then the configuration. Whatever is
 * accepted must be what the plugin may safely use. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cni.h"

static const char *const vars[] = { "CNI_COMMAND", "CNI_CONTAINERID", "CNI_IFNAME", "CNI_NETNS",
				    "CNI_PATH" };

static void must_be_safe_name(const char *s)
{
	for (; *s; s++)
		if (*s == '/' || *s == '\n' || isspace((unsigned char)*s))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cni_req r = {};
	struct cni_error e = {};
	char *copy = malloc(size + 1), *p;
	size_t i = 0;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	p = copy;
	for (; i < 5; i++) {
		size_t len = strnlen(p, size - (size_t)(p - copy));

		if ((size_t)(p - copy) + len >= size)
			break;
		setenv(vars[i], p, 1);
		p += len + 1;
	}
	for (; i < 5; i++)
		unsetenv(vars[i]);
	r.stdin_text = p;
	r.stdin_len = size - (size_t)(p - copy);
	if (!cni_command_from_env(&r, &e) && !cni_request_parse(&r, &e)) {
		must_be_safe_name(r.container_id);
		must_be_safe_name(r.ifname);
		must_be_safe_name(r.name);
		if (r.netns[0] && r.netns[0] != '/')
			abort();
	}
	cJSON_Delete(r.conf);
	free(copy);
	return 0;
}
