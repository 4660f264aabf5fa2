// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "fault.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
char *__real_strdup(const char *s);

static long fault_at = -1; /* allocations to let through before failing one */
static bool fired;

static bool fail_now(void)
{
	if (fault_at < 0)
		return false;
	if (fault_at-- > 0)
		return false;
	fired = true;
	errno = ENOMEM;
	return true;
}

void *__wrap_malloc(size_t size)
{
	return fail_now() ? NULL : __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size)
{
	return fail_now() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
	return fail_now() ? NULL : __real_realloc(p, size);
}

char *__wrap_strdup(const char *s)
{
	return fail_now() ? NULL : __real_strdup(s);
}

static void *cjson_malloc(size_t size)
{
	return fail_now() ? NULL : __real_malloc(size);
}

static void cjson_free(void *p)
{
	free(p);
}

void fault_arm(long n)
{
	static bool hooked;

	if (!hooked) {
		cJSON_Hooks hooks = { .malloc_fn = cjson_malloc, .free_fn = cjson_free };

		cJSON_InitHooks(&hooks);
		hooked = true;
	}
	fired = false;
	fault_at = n;
}

void fault_disarm(void)
{
	fault_at = -1;
}

bool fault_fired(void)
{
	return fired;
}
