// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Out of memory everywhere: each operation runs once for every allocation
 * it makes, that allocation failing (fault.h). After every run nothing may
 * leak (a leak check), nothing may be used after it was freed (ASan), and
 * what the operation left must be consistent: the watch cache's index
 * names exactly its slices, the maps serve only whole services.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sanitizer/lsan_interface.h>
#include <bpf/bpf.h>

#include "agent.h"
#include "fault.h"
#include "json_framer.h"
#include "kubeconfig.h"
#include "list_reader.h"
#include "reconcile.h"
#include "testutil.h"
#include "translate.h"
#include "yaml_json.h"

static const char svc_web[] =
	"{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"web\","
	"\"namespace\":\"shop\",\"resourceVersion\":\"7\"},\"spec\":{\"type\":\"LoadBalancer\","
	"\"clusterIP\":\"10.96.0.80\",\"clusterIPs\":[\"10.96.0.80\"],\"externalIPs\":"
	"[\"192.0.2.10\"],\"sessionAffinity\":\"ClientIP\",\"sessionAffinityConfig\":{\"clientIP\":"
	"{\"timeoutSeconds\":600}},\"ports\":[{\"name\":\"http\",\"protocol\":\"TCP\",\"port\":80,"
	"\"nodePort\":30080},{\"name\":\"dns\",\"protocol\":\"UDP\",\"port\":53}]},\"status\":"
	"{\"loadBalancer\":{\"ingress\":[{\"ip\":\"192.0.2.20\"}]}}}";

/* slice NAME of SERVICE with three endpoints, the last terminating */
static void slice_text(char *buf, size_t len, const char *name, const char *svc, int first)
{
	snprintf(buf, len,
		 "{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\",\"metadata\":"
		 "{\"name\":\"%s\",\"namespace\":\"shop\",\"labels\":{\"kubernetes.io/service-name\":"
		 "\"%s\"}},\"addressType\":\"IPv4\",\"ports\":[{\"name\":\"http\",\"protocol\":\"TCP\","
		 "\"port\":8080},{\"name\":\"dns\",\"protocol\":\"UDP\",\"port\":5353}],\"endpoints\":"
		 "[{\"addresses\":[\"10.244.1.%d\"],\"conditions\":{\"ready\":true}},{\"addresses\":"
		 "[\"10.244.1.%d\"]},{\"addresses\":[\"10.244.1.%d\"],\"conditions\":{\"ready\":false,"
		 "\"serving\":true,\"terminating\":true}}]}",
		 name, svc, first, first + 1, first + 2);
}

static const char node_a[] =
	"{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"node-a\","
	"\"resourceVersion\":\"3\"},\"spec\":{\"podCIDRs\":[\"10.244.0.0/24\",\"fd00::/64\"]},"
	"\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"192.0.2.1\"}]}}";

/* Run @op once for every allocation it makes, that one failing; after
 * each run @check the state and free it, then look for leaks. */
static void each_allocation_failing(void (*op)(void *), void (*check)(void *), void *ctx)
{
	for (long n = 0;; n++) {
		bool fired;

		fault_arm(n);
		op(ctx);
		fault_disarm();
		fired = fault_fired();
		check(ctx);
		if (__lsan_do_recoverable_leak_check())
			FAIL("memory leaked when allocation %ld failed", n);
		if (!fired)
			return; /* every allocation of the operation has failed once */
		if (n > 20000)
			FAIL("no end to the allocations");
	}
}

/* ---- the model ---- */

static void parse_all(void *arg)
{
	char slice[1024], err[256];
	const char *texts[] = { svc_web, slice, node_a };

	(void)arg;
	slice_text(slice, sizeof(slice), "web-1", "web", 1);
	for (int i = 0; i < 3; i++) {
		cJSON *doc = cJSON_Parse(texts[i]);
		struct service s;
		struct endpoint_slice sl;
		struct node nd;

		if (!doc)
			continue; /* cJSON ran out: fine, nothing to parse */
		if (i == 0 && !service_parse(doc, &s, err, sizeof(err)))
			ASSERT_EQ(s.n_vips, 3, "whole service or nothing");
		if (i == 0)
			service_free(&s);
		if (i == 1 && !slice_parse(doc, &sl, err, sizeof(err)))
			ASSERT_EQ(sl.n_eps, 3, "whole slice or nothing");
		if (i == 1)
			slice_free(&sl);
		if (i == 2 && !node_parse(doc, &nd, err, sizeof(err)))
			ASSERT_EQ(nd.n_pod_cidrs, 2, "whole node or nothing");
		cJSON_Delete(doc);
	}
}

static void nothing(void *arg)
{
	(void)arg;
}

TEST(faults_model_parses_whole_objects_or_none)
{
	(void)f;
	each_allocation_failing(parse_all, nothing, NULL);
}

/* ---- the watch cache, fed as watch events would ---- */

struct cache_ctx {
	struct agent a;
	struct affected aff;
};

static void apply_text(struct agent *a, enum kube_kind kind, const char *text,
		       struct affected *aff)
{
	cJSON *doc = cJSON_Parse(text);

	if (doc)
		apply_put(a, kind, doc, aff);
	cJSON_Delete(doc);
}

static void cache_events(void *arg)
{
	struct cache_ctx *c = arg;
	char slice[1024];

	apply_text(&c->a, KIND_SERVICE, svc_web, &c->aff);
	slice_text(slice, sizeof(slice), "web-1", "web", 1);
	apply_text(&c->a, KIND_SLICE, slice, &c->aff);
	slice_text(slice, sizeof(slice), "web-2", "web", 20);
	apply_text(&c->a, KIND_SLICE, slice, &c->aff);
	slice_text(slice, sizeof(slice), "web-1", "web", 4); /* an update */
	apply_text(&c->a, KIND_SLICE, slice, &c->aff);
	slice_text(slice, sizeof(slice), "web-2", "api", 30); /* moves to another service */
	apply_text(&c->a, KIND_SLICE, slice, &c->aff);
	apply_text(&c->a, KIND_NODE, node_a, &c->aff);
	apply_delete(&c->a, KIND_SLICE, "shop/web-1", &c->aff);
}

/* Every slice is in the index under its service, and the index holds no
 * slice the cache does not (a freed one would be found by ASan here). */
static void cache_check(void *arg)
{
	struct cache_ctx *c = arg;
	struct store *st = &c->a.store;
	size_t indexed = 0, labelled = 0;

	htab_for_each(&st->by_service, e, i) {
		const struct slice_ref_list *l = e->value;

		for (size_t j = 0; j < l->n; j++) {
			char key[OBJECT_KEY_MAX];

			object_key(key, sizeof(key), l->v[j]->ns, l->v[j]->name);
			ASSERT_TRUE(htab_get_str(&st->slices, key) == l->v[j],
				    "the index names a slice the cache holds");
			indexed++;
		}
	}
	htab_for_each(&st->slices, e, i)
		labelled += ((const struct endpoint_slice *)e->value)->service[0] != '\0';
	ASSERT_EQ(indexed, labelled, "every labelled slice indexed once");
	htab_for_each(&st->services, e, i) {
		struct frontend_set set;
		char key[OBJECT_KEY_MAX];

		memcpy(key, e->key, e->key_len);
		key[e->key_len] = '\0';
		if (!translate_service(st, key, &set))
			frontend_set_free(&set);
	}
	store_free(st);
	affected_free(&c->aff);
	memset(&c->aff, 0, sizeof(c->aff));
	ASSERT_OK(store_init(st), "store for the next run");
}

TEST(faults_watch_cache_stays_consistent)
{
	struct cache_ctx *c = calloc(1, sizeof(*c));

	ASSERT_TRUE(c, "context");
	ASSERT_OK(store_init(&c->a.store), "store");
	snprintf(c->a.cfg.node_name, sizeof(c->a.cfg.node_name), "node-a");
	snprintf(c->a.cfg.state_dir, sizeof(c->a.cfg.state_dir), "%s", fixture_scratch(f));
	each_allocation_failing(cache_events, cache_check, c);
	store_free(&c->a.store);
	free(c);
}

/* ---- from the cache to the maps ---- */

struct sync_ctx {
	struct fixture *f;
	struct store st;
	struct reconciler r;
};

static void sync_services(void *arg)
{
	struct sync_ctx *c = arg;
	struct frontend_set set;

	if (reconciler_init(&c->r, &c->f->maps))
		return;
	reconcile_bulk_begin(&c->r);
	if (!translate_service(&c->st, "shop/web", &set)) {
		reconcile_service(&c->r, "shop/web", &set);
		frontend_set_free(&set);
	}
	reconcile_bulk_end(&c->r);
	/* a change, then the service goes */
	if (!translate_service(&c->st, "shop/web", &set)) {
		if (set.n)
			set.n--;
		reconcile_service(&c->r, "shop/web", &set);
		set.n++;
		frontend_set_free(&set);
	}
	reconcile_flush_freed(&c->r);
}

/* Whatever was written is whole: every service's live slots name backends. */
static int whole(const void *key, const void *val, void *arg)
{
	const struct bpfnet_svc_value *v = val;
	struct sync_ctx *c = arg;
	struct bpfnet_svc_value now;
	__u32 ids[16];
	int n = bpfnet_service_get(&c->f->maps, key, &now, ids, 16);

	for (int i = 0; i < n && i < (int)v->count; i++) {
		struct bpfnet_backend be;

		if (bpfnet_backend_get(&c->f->maps, ids[i], &be))
			FAIL("service %u slot %d names no backend", v->id, i);
	}
	return 0;
}

static void sync_check(void *arg)
{
	struct sync_ctx *c = arg;
	struct frontend_set none = {};

	ASSERT_OK(bpfnet_map_iterate(&c->f->maps, BPFNET_M_SVC, whole, c), "walk services");
	if (!c->r.maps)
		return; /* init itself failed */
	fault_disarm();
	reconcile_service(&c->r, "shop/web", &none);
	reconcile_sweep_adopted(&c->r);
	reconciler_free(&c->r);
	memset(&c->r, 0, sizeof(c->r));
	ASSERT_EQ(map_entries(c->f, BPFNET_M_SVC), 0, "every service removed again");
	ASSERT_EQ(map_entries(c->f, BPFNET_M_BACKEND), 0, "and its backends");
}

TEST(faults_map_sync_writes_whole_services)
{
	struct sync_ctx c = { .f = f };
	char slice[1024], err[256];
	struct service *s = calloc(1, sizeof(*s));
	struct endpoint_slice *sl = calloc(1, sizeof(*sl));
	cJSON *doc;

	ASSERT_OK(store_init(&c.st), "store");
	doc = cJSON_Parse(svc_web);
	ASSERT_OK(service_parse(doc, s, err, sizeof(err)), "service");
	cJSON_Delete(doc);
	ASSERT_OK(store_put_service(&c.st, s), "cache service");
	slice_text(slice, sizeof(slice), "web-1", "web", 1);
	doc = cJSON_Parse(slice);
	ASSERT_OK(slice_parse(doc, sl, err, sizeof(err)), "slice");
	cJSON_Delete(doc);
	char a1[OBJECT_KEY_MAX], a2[OBJECT_KEY_MAX];
	ASSERT_OK(store_put_slice(&c.st, sl, a1, a2), "cache slice");
	each_allocation_failing(sync_services, sync_check, &c);
	store_free(&c.st);
}

/* ---- parsers of outside input ---- */

static int drop_item(void *arg, const char *item, size_t len)
{
	(void)arg;
	(void)item;
	(void)len;
	return 0;
}

static void read_streams(void *arg)
{
	static const char list[] = "{\"kind\":\"List\",\"items\":[{\"a\":[1,2,{\"b\":\"}\"}]},"
				   "{\"c\":\"d\"}],\"metadata\":{}}";
	static const char events[] = "{\"type\":\"ADDED\",\"object\":{\"x\":1}}\n"
				     "{\"type\":\"DELETED\",\"object\":{\"y\":[2]}}\n";
	struct list_reader r;
	struct json_framer fr;
	char err[128];
	cJSON *y;

	(void)arg;
	list_reader_init(&r, 4096);
	for (size_t i = 0; i < sizeof(list) - 1; i += 5)
		if (list_reader_feed(&r, list + i, sizeof(list) - 1 - i < 5 ? sizeof(list) - 1 - i : 5,
				     drop_item, NULL))
			break;
	list_reader_finish(&r, drop_item, NULL);
	list_reader_free(&r);
	json_framer_init(&fr, 4096);
	for (size_t i = 0; i < sizeof(events) - 1; i += 7)
		if (json_framer_feed(&fr, events + i,
				     sizeof(events) - 1 - i < 7 ? sizeof(events) - 1 - i : 7, drop_item,
				     NULL))
			break;
	json_framer_free(&fr);
	static const char yaml[] = "a: [1, {b: c}]\nd:\n  e: f\n  g: ~\n";

	y = yaml_to_json(yaml, sizeof(yaml) - 1, err, sizeof(err));
	cJSON_Delete(y);
}

TEST(faults_stream_readers_free_what_they_hold)
{
	(void)f;
	each_allocation_failing(read_streams, nothing, NULL);
}
