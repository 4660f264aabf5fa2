// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Kubernetes objects to frontends: any JSON as a Service, an
 * EndpointSlice and a Node; what parses goes through the watch cache and
 * the translation, whose result must be well formed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "model.h"
#include "store.h"
#include "translate.h"

/* A slice the cache always holds, so that fuzzed services find endpoints. */
static const char slice_text[] =
	"{\"metadata\":{\"name\":\"s-1\",\"namespace\":\"ns\",\"labels\":{\"kubernetes.io/"
	"service-name\":\"s\"}},\"addressType\":\"IPv4\",\"ports\":[{\"name\":\"p\",\"port\":8080},"
	"{\"port\":53,\"protocol\":\"UDP\"}],\"endpoints\":[{\"addresses\":[\"10.244.1.1\"]},"
	"{\"addresses\":[\"10.244.1.2\"],\"conditions\":{\"ready\":false,\"serving\":true,"
	"\"terminating\":true}}]}";

static void check(const struct frontend_set *set)
{
	for (size_t i = 0; i < set->n; i++) {
		const struct frontend *fe = &set->v[i];

		if (fe->n_slots > fe->n_backends || fe->n_backends > BPFNET_MAX_BACKENDS_PER_SVC ||
		    !memchr(fe->name, '\0', sizeof(fe->name)))
			abort();
	}
}

static void translate_checked(struct store *st, const char *key)
{
	struct frontend_set set;

	if (key[0] && !translate_service(st, key, &set)) {
		check(&set);
		frontend_set_free(&set);
	}
}

/* the cache lives across inputs (as the agent's does); the fixed slice is
 * put back whenever an input replaced or removed it */
static struct store *cache(void)
{
	static struct store st;
	static bool ready;
	char err[256], a1[OBJECT_KEY_MAX], a2[OBJECT_KEY_MAX];
	cJSON *fixed;

	if (!ready && store_init(&st))
		abort();
	ready = true;
	if (htab_get_str(&st.slices, "ns/s-1"))
		return &st;
	fixed = cJSON_Parse(slice_text);
	struct endpoint_slice *fs = calloc(1, sizeof(*fs));
	if (!fixed || !fs || slice_parse(fixed, fs, err, sizeof(err)) ||
	    store_put_slice(&st, fs, a1, a2))
		abort();
	cJSON_Delete(fixed);
	return &st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *doc = cJSON_ParseWithLength((const char *)data, size);
	char err[256], a1[OBJECT_KEY_MAX], a2[OBJECT_KEY_MAX], key[OBJECT_KEY_MAX];
	struct store *st = cache();
	struct node n;

	if (!doc)
		return 0;
	struct service *svc = calloc(1, sizeof(*svc));
	if (svc && !service_parse(doc, svc, err, sizeof(err))) {
		object_key(key, sizeof(key), svc->ns, svc->name);
		if (store_put_service(st, svc)) {
			service_free(svc);
			free(svc);
		} else {
			translate_checked(st, key);
			store_del_service(st, key);
		}
	} else if (svc) {
		service_free(svc);
		free(svc);
	}
	struct endpoint_slice *sl = calloc(1, sizeof(*sl));
	if (sl && !slice_parse(doc, sl, err, sizeof(err))) {
		object_key(key, sizeof(key), sl->ns, sl->name);
		if (store_put_slice(st, sl, a1, a2)) {
			slice_free(sl);
			free(sl);
		} else {
			translate_checked(st, a1);
			translate_checked(st, a2);
			store_del_slice(st, key, a1);
		}
	} else if (sl) {
		slice_free(sl);
		free(sl);
	}
	node_parse(doc, &n, err, sizeof(err));
	cJSON_Delete(doc);
	return 0;
}
