/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The first YAML document of a file as a cJSON tree: mappings become
 * objects, sequences arrays, and every scalar a string (kubeconfig readers
 * interpret "true" themselves). JSON is YAML, so JSON kubeconfigs load too.
 */
#ifndef BPFNET_AGENT_YAML_JSON_H
#define BPFNET_AGENT_YAML_JSON_H

#include <stddef.h>
#include <cjson/cJSON.h>

/* NULL on error, with the reason (and line) in @err. */
cJSON *yaml_to_json(const char *text, size_t len, char *err, size_t errlen);

#endif
