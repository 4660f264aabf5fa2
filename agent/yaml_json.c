// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "yaml_json.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#define YAML_MAX_DEPTH 64

struct yaml_reader {
	yaml_parser_t parser;
	char *err;
	size_t errlen;
};

static cJSON *fail(struct yaml_reader *r, const char *what, const yaml_event_t *ev)
{
	if (r->parser.error != YAML_NO_ERROR)
		snprintf(r->err, r->errlen, "%s at line %zu", r->parser.problem ? r->parser.problem : what,
			 r->parser.problem_mark.line + 1);
	else
		snprintf(r->err, r->errlen, "%s at line %zu", what, ev ? ev->start_mark.line + 1 : 0);
	return NULL;
}

static cJSON *read_node(struct yaml_reader *r, yaml_event_t *ev, int depth);

/* Reads events until the end of the collection opened by the caller. */
static cJSON *read_collection(struct yaml_reader *r, bool mapping, int depth)
{
	cJSON *out = mapping ? cJSON_CreateObject() : cJSON_CreateArray();
	yaml_event_t ev;

	if (!out)
		return fail(r, "out of memory", NULL);
	for (;;) {
		cJSON *key = NULL, *val;
		bool added;

		if (!yaml_parser_parse(&r->parser, &ev))
			goto err;
		if (ev.type == (mapping ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT)) {
			yaml_event_delete(&ev);
			return out;
		}
		if (mapping) {
			key = read_node(r, &ev, depth + 1);
			yaml_event_delete(&ev);
			if (!key)
				goto err;
			if (!cJSON_IsString(key)) {
				cJSON_Delete(key);
				fail(r, "a mapping key that is not a scalar", NULL);
				goto err;
			}
			if (!yaml_parser_parse(&r->parser, &ev)) {
				cJSON_Delete(key);
				goto err;
			}
		}
		val = read_node(r, &ev, depth + 1);
		yaml_event_delete(&ev);
		if (!val) {
			cJSON_Delete(key);
			goto err;
		}
		if (mapping) {
			/* a repeated key: the last one wins, as in most readers */
			cJSON_DeleteItemFromObjectCaseSensitive(out, key->valuestring);
			added = cJSON_AddItemToObject(out, key->valuestring, val);
			cJSON_Delete(key);
		} else {
			added = cJSON_AddItemToArray(out, val);
		}
		if (!added) { /* the key's copy could not be made */
			cJSON_Delete(val);
			fail(r, "out of memory", NULL);
			goto err;
		}
	}
err:
	cJSON_Delete(out);
	return NULL;
}

/* @ev is the node's first event; the caller deletes it. */
static cJSON *read_node(struct yaml_reader *r, yaml_event_t *ev, int depth)
{
	if (depth > YAML_MAX_DEPTH)
		return fail(r, "nesting too deep", ev);
	switch (ev->type) {
	case YAML_SCALAR_EVENT: {
		const char *v = (const char *)ev->data.scalar.value;
		bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;

		/* an empty plain scalar or "~" / "null" is YAML's null */
		if (plain && (!*v || !strcmp(v, "~") || !strcmp(v, "null")))
			return cJSON_CreateNull();
		return cJSON_CreateString(v);
	}
	case YAML_MAPPING_START_EVENT:
		return read_collection(r, true, depth);
	case YAML_SEQUENCE_START_EVENT:
		return read_collection(r, false, depth);
	case YAML_ALIAS_EVENT:
		return fail(r, "YAML aliases are not supported", ev);
	default:
		return fail(r, "unexpected YAML structure", ev);
	}
}

cJSON *yaml_to_json(const char *text, size_t len, char *err, size_t errlen)
{
	struct yaml_reader r = { .err = err, .errlen = errlen };
	yaml_event_t ev;
	cJSON *out = NULL;

	if (!yaml_parser_initialize(&r.parser)) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	yaml_parser_set_input_string(&r.parser, (const unsigned char *)text, len);
	/* stream start, document start, then the root node */
	for (;;) {
		if (!yaml_parser_parse(&r.parser, &ev)) {
			fail(&r, "YAML syntax error", NULL);
			break;
		}
		if (ev.type == YAML_STREAM_START_EVENT || ev.type == YAML_DOCUMENT_START_EVENT) {
			yaml_event_delete(&ev);
			continue;
		}
		if (ev.type == YAML_STREAM_END_EVENT) {
			snprintf(err, errlen, "empty document");
		} else {
			out = read_node(&r, &ev, 0);
			if (!out && r.parser.error != YAML_NO_ERROR)
				fail(&r, "YAML syntax error", NULL);
		}
		yaml_event_delete(&ev);
		break;
	}
	yaml_parser_delete(&r.parser);
	return out;
}
