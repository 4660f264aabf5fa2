// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* A kubeconfig (YAML or JSON), as the agent reads it from its file. */
#include <stdint.h>
#include <stdlib.h>
#include <cjson/cJSON.h>

#include "kubeconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kube_conn c = {};
	char err[512];

	/* relative credential paths point into a directory that does not exist */
	if (!kube_conn_from_text(&c, (const char *)data, size, "fuzz", "/nonexistent", NULL, err,
				 sizeof(err)))
		kube_conn_free(&c);
	return 0;
}
