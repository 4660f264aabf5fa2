// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Agent model and translation: realistic Service / EndpointSlice JSON in,
 * typed objects and frontends out. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>

#include "model.h"
#include "store.h"
#include "testutil.h"
#include "translate.h"

static cJSON *json(const char *text)
{
	cJSON *doc = cJSON_Parse(text);

	if (!doc)
		FAIL("test JSON does not parse: %.80s", text);
	return doc;
}

/* Parse @text into the store; fails the test on a parse error. */
static void put(struct store *st, const char *text)
{
	cJSON *doc = json(text);
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(doc, "kind");
	char err[256], a1[OBJECT_KEY_MAX], a2[OBJECT_KEY_MAX];

	if (!strcmp(kind->valuestring, "Service")) {
		struct service *s = malloc(sizeof(*s));

		if (service_parse(doc, s, err, sizeof(err)))
			FAIL("service rejected: %s", err);
		ASSERT_OK(store_put_service(st, s), "store service");
	} else {
		struct endpoint_slice *s = malloc(sizeof(*s));

		if (slice_parse(doc, s, err, sizeof(err)))
			FAIL("slice rejected: %s", err);
		ASSERT_OK(store_put_slice(st, s, a1, a2), "store slice");
	}
	cJSON_Delete(doc);
}

static const struct frontend *fe_of(const struct frontend_set *set, const char *vip,
				    uint16_t port, uint8_t proto)
{
	__be32 a;

	inet_pton(AF_INET, vip, &a);
	for (size_t i = 0; i < set->n; i++)
		if (set->v[i].key.addr == a && ntohs(set->v[i].key.port) == port &&
		    set->v[i].key.proto == proto)
			return &set->v[i];
	return NULL;
}

static void expect_backends(const struct frontend *fe, const char *const *want, size_t n,
			    uint16_t port, const char *what)
{
	char a[INET_ADDRSTRLEN];

	ASSERT_TRUE(fe != NULL, what);
	ASSERT_EQ(fe->n_backends, n, what);
	for (size_t i = 0; i < n; i++) {
		inet_ntop(AF_INET, &fe->backends[i].addr, a, sizeof(a));
		if (strcmp(a, want[i]))
			FAIL("%s: backend %zu is %s, want %s", what, i, a, want[i]);
		ASSERT_EQ(ntohs(fe->backends[i].port), port, what);
	}
}

#define SVC_HEAD(name, ns) \
	"{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"" name \
	"\",\"namespace\":\"" ns "\",\"resourceVersion\":\"7\"},"
#define SLICE_HEAD(name, ns, svc) \
	"{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\",\"metadata\":{\"name\":\"" \
	name "\",\"namespace\":\"" ns "\",\"labels\":{\"kubernetes.io/service-name\":\"" svc "\"}},"

TEST(model_multi_port_named_target_ports)
{
	struct store st;
	struct frontend_set set;

	ASSERT_OK(store_init(&st), "store");
	put(&st, SVC_HEAD("web", "shop")
	    "\"spec\":{\"clusterIP\":\"10.96.1.1\",\"clusterIPs\":[\"10.96.1.1\"],\"ports\":["
	    "{\"name\":\"http\",\"port\":80,\"targetPort\":\"http-alt\"},"
	    "{\"name\":\"metrics\",\"protocol\":\"TCP\",\"port\":9090,\"targetPort\":9100},"
	    "{\"name\":\"syslog\",\"protocol\":\"UDP\",\"port\":514,\"targetPort\":5140}]}}");
	/* the slice carries the resolved target ports, matched by name */
	put(&st, SLICE_HEAD("web-abc", "shop", "web")
	    "\"addressType\":\"IPv4\",\"endpoints\":[{\"addresses\":[\"10.244.1.5\"],"
	    "\"conditions\":{\"ready\":true}}],\"ports\":["
	    "{\"name\":\"metrics\",\"protocol\":\"TCP\",\"port\":9100},"
	    "{\"name\":\"http\",\"protocol\":\"TCP\",\"port\":8081},"
	    "{\"name\":\"syslog\",\"protocol\":\"UDP\",\"port\":5140}]}");
	ASSERT_OK(translate_service(&st, "shop/web", &set), "translate");
	ASSERT_EQ(set.n, 3, "one frontend per port");
	const char *b[] = { "10.244.1.5" };
	expect_backends(fe_of(&set, "10.96.1.1", 80, IPPROTO_TCP), b, 1, 8081, "http -> 8081");
	expect_backends(fe_of(&set, "10.96.1.1", 9090, IPPROTO_TCP), b, 1, 9100, "metrics");
	expect_backends(fe_of(&set, "10.96.1.1", 514, IPPROTO_UDP), b, 1, 5140, "syslog/udp");
	ASSERT_TRUE(!strcmp(fe_of(&set, "10.96.1.1", 80, IPPROTO_TCP)->name, "shop/web:http"),
		    "name");
	ASSERT_EQ(fe_of(&set, "10.96.1.1", 80, IPPROTO_TCP)->flags, BPFNET_SVC_F_CLUSTER_IP, "flags");
	frontend_set_free(&set);
	store_free(&st);
}

TEST(model_slices_merged_and_deduplicated)
{
	struct store st;
	struct frontend_set set;

	ASSERT_OK(store_init(&st), "store");
	put(&st, SVC_HEAD("api", "default")
	    "\"spec\":{\"clusterIP\":\"10.96.2.2\",\"ports\":[{\"port\":443}]}}");
	/* unnamed port: the slice port has no name either */
	put(&st, SLICE_HEAD("api-1", "default", "api")
	    "\"addressType\":\"IPv4\",\"ports\":[{\"port\":8443}],\"endpoints\":["
	    "{\"addresses\":[\"10.244.0.9\"]},{\"addresses\":[\"10.244.0.3\"]}]}");
	put(&st, SLICE_HEAD("api-2", "default", "api")
	    "\"addressType\":\"IPv4\",\"ports\":[{\"port\":8443}],\"endpoints\":["
	    "{\"addresses\":[\"10.244.0.3\"]},{\"addresses\":[\"10.244.0.7\"]}]}");
	ASSERT_OK(translate_service(&st, "default/api", &set), "translate");
	const char *b[] = { "10.244.0.3", "10.244.0.7", "10.244.0.9" };
	expect_backends(fe_of(&set, "10.96.2.2", 443, IPPROTO_TCP), b, 3, 8443,
			"merged, sorted, 10.244.0.3 once");
	ASSERT_TRUE(!strcmp(set.v[0].name, "default/api:443"), "unnamed port named by number");
	frontend_set_free(&set);
	store_free(&st);
}

TEST(model_terminating_endpoints_only_without_ready_ones)
{
	static const char *svc = SVC_HEAD("db", "default")
		"\"spec\":{\"clusterIP\":\"10.96.3.3\",\"ports\":[{\"name\":\"pg\",\"port\":5432}]}}";
	struct store st;
	struct frontend_set set;

	ASSERT_OK(store_init(&st), "store");
	put(&st, svc);
	put(&st, SLICE_HEAD("db-1", "default", "db")
	    "\"addressType\":\"IPv4\",\"ports\":[{\"name\":\"pg\",\"port\":5432}],\"endpoints\":["
	    "{\"addresses\":[\"10.244.0.1\"],\"conditions\":{\"ready\":true,\"serving\":true,\"terminating\":false}},"
	    "{\"addresses\":[\"10.244.0.2\"],\"conditions\":{\"ready\":false,\"serving\":true,\"terminating\":true}},"
	    "{\"addresses\":[\"10.244.0.3\"],\"conditions\":{\"ready\":false,\"serving\":false,\"terminating\":false}}]}");
	ASSERT_OK(translate_service(&st, "default/db", &set), "translate");
	/* new flows go to the ready one; the serving terminating one is
	 * retained for its existing flows; the not-ready one is absent */
	const char *both[] = { "10.244.0.1", "10.244.0.2" };
	expect_backends(&set.v[0], both, 2, 5432, "ready + retained");
	ASSERT_EQ(set.v[0].n_slots, 1, "only the ready one takes new flows");
	ASSERT_EQ(set.v[0].backends[1].state, BPFNET_BACKEND_TERMINATING, "retained state");
	frontend_set_free(&set);

	/* the ready one is gone: the serving terminating one takes over */
	put(&st, SLICE_HEAD("db-1", "default", "db")
	    "\"addressType\":\"IPv4\",\"ports\":[{\"name\":\"pg\",\"port\":5432}],\"endpoints\":["
	    "{\"addresses\":[\"10.244.0.2\"],\"conditions\":{\"ready\":false,\"serving\":true,\"terminating\":true}},"
	    "{\"addresses\":[\"10.244.0.3\"],\"conditions\":{\"ready\":false}}]}");
	ASSERT_OK(translate_service(&st, "default/db", &set), "translate");
	const char *term[] = { "10.244.0.2" };
	expect_backends(&set.v[0], term, 1, 5432, "terminating fallback");
	ASSERT_EQ(set.v[0].n_slots, 1, "it takes new flows");
	ASSERT_EQ(set.v[0].backends[0].state, BPFNET_BACKEND_TERMINATING, "state");
	frontend_set_free(&set);

	/* terminating and not serving: nothing; not-ready never */
	put(&st, SLICE_HEAD("db-1", "default", "db")
	    "\"addressType\":\"IPv4\",\"ports\":[{\"name\":\"pg\",\"port\":5432}],\"endpoints\":["
	    "{\"addresses\":[\"10.244.0.2\"],\"conditions\":{\"ready\":false,\"serving\":false,\"terminating\":true}},"
	    "{\"addresses\":[\"10.244.0.3\"],\"conditions\":{\"ready\":false}}]}");
	ASSERT_OK(translate_service(&st, "default/db", &set), "translate");
	ASSERT_EQ(set.n, 1, "frontend kept");
	ASSERT_EQ(set.v[0].n_backends, 0, "no backend: the service rejects");
	frontend_set_free(&set);
	store_free(&st);
}

TEST(model_headless_and_external_name_have_no_frontends)
{
	struct store st;
	struct frontend_set set;

	ASSERT_OK(store_init(&st), "store");
	put(&st, SVC_HEAD("hl", "default")
	    "\"spec\":{\"clusterIP\":\"None\",\"ports\":[{\"port\":80}]}}");
	put(&st, SVC_HEAD("ext", "default")
	    "\"spec\":{\"type\":\"ExternalName\",\"externalName\":\"db.example.org\"}}");
	put(&st, SLICE_HEAD("hl-1", "default", "hl")
	    "\"addressType\":\"IPv4\",\"ports\":[{\"port\":80}],\"endpoints\":[{\"addresses\":[\"10.244.0.1\"]}]}");
	ASSERT_OK(translate_service(&st, "default/hl", &set), "headless");
	ASSERT_EQ(set.n, 0, "headless: DNS only");
	ASSERT_OK(translate_service(&st, "default/ext", &set), "externalname");
	ASSERT_EQ(set.n, 0, "ExternalName: DNS only");
	ASSERT_OK(translate_service(&st, "default/missing", &set), "missing");
	ASSERT_EQ(set.n, 0, "no service");
	store_free(&st);
}

/* No selector: the endpoints are a hand-written slice with the label. */
TEST(model_selectorless_service_uses_manual_slice)
{
	struct store st;
	struct frontend_set set;

	ASSERT_OK(store_init(&st), "store");
	put(&st, SVC_HEAD("legacy-db", "ops")
	    "\"spec\":{\"clusterIP\":\"10.96.4.4\",\"ports\":[{\"name\":\"mysql\",\"port\":3306}]}}");
	put(&st, SLICE_HEAD("legacy-db-manual", "ops", "legacy-db")
	    "\"addressType\":\"IPv4\",\"ports\":[{\"name\":\"mysql\",\"port\":3306,\"protocol\":\"TCP\"}],"
	    "\"endpoints\":[{\"addresses\":[\"192.0.2.10\"]}]}");
	ASSERT_OK(translate_service(&st, "ops/legacy-db", &set), "translate");
	const char *b[] = { "192.0.2.10" };
	expect_backends(&set.v[0], b, 1, 3306, "manual endpoint");
	frontend_set_free(&set);
	store_free(&st);
}

TEST(model_dual_stack_uses_ipv4_and_ignores_ipv6)
{
	struct store st;
	struct frontend_set set;

	ASSERT_OK(store_init(&st), "store");
	put(&st, SVC_HEAD("ds", "default")
	    "\"spec\":{\"ipFamilyPolicy\":\"PreferDualStack\",\"ipFamilies\":[\"IPv4\",\"IPv6\"],"
	    "\"clusterIP\":\"10.96.5.5\",\"clusterIPs\":[\"10.96.5.5\",\"fd00:10:96::5\"],"
	    "\"ports\":[{\"name\":\"http\",\"port\":80}]}}");
	put(&st, SLICE_HEAD("ds-v4", "default", "ds")
	    "\"addressType\":\"IPv4\",\"ports\":[{\"name\":\"http\",\"port\":8080}],"
	    "\"endpoints\":[{\"addresses\":[\"10.244.0.5\"]}]}");
	put(&st, SLICE_HEAD("ds-v6", "default", "ds")
	    "\"addressType\":\"IPv6\",\"ports\":[{\"name\":\"http\",\"port\":8080}],"
	    "\"endpoints\":[{\"addresses\":[\"fd00:10:244::5\"]}]}");
	ASSERT_OK(translate_service(&st, "default/ds", &set), "translate");
	ASSERT_EQ(set.n, 1, "IPv4 frontend only");
	const char *b[] = { "10.244.0.5" };
	expect_backends(&set.v[0], b, 1, 8080, "IPv4 backends only");
	frontend_set_free(&set);
	store_free(&st);
}

TEST(model_external_and_lb_ips_with_policies)
{
	struct store st;
	struct frontend_set set;

	ASSERT_OK(store_init(&st), "store");
	put(&st, SVC_HEAD("ingress", "infra")
	    "\"spec\":{\"type\":\"LoadBalancer\",\"clusterIP\":\"10.96.6.6\","
	    "\"externalIPs\":[\"198.51.100.7\"],\"externalTrafficPolicy\":\"Local\","
	    "\"internalTrafficPolicy\":\"Local\",\"sessionAffinity\":\"ClientIP\","
	    "\"sessionAffinityConfig\":{\"clientIP\":{\"timeoutSeconds\":600}},"
	    "\"ports\":[{\"name\":\"https\",\"port\":443,\"nodePort\":30443}]},"
	    "\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"203.0.113.9\"},{\"hostname\":\"lb.example\"}]}}}");
	ASSERT_OK(translate_service(&st, "infra/ingress", &set), "translate");
	ASSERT_EQ(set.n, 3, "ClusterIP, ExternalIP, LB IP");
	const struct frontend *c = fe_of(&set, "10.96.6.6", 443, IPPROTO_TCP);
	const struct frontend *e = fe_of(&set, "198.51.100.7", 443, IPPROTO_TCP);
	const struct frontend *l = fe_of(&set, "203.0.113.9", 443, IPPROTO_TCP);
	__u32 common = BPFNET_SVC_F_AFFINITY_CLIENT_IP | BPFNET_SVC_F_INTERNAL_LOCAL |
		       BPFNET_SVC_F_EXTERNAL_LOCAL;
	ASSERT_TRUE(c && e && l, "all three frontends");
	ASSERT_EQ(c->flags, common | BPFNET_SVC_F_CLUSTER_IP, "ClusterIP flags");
	ASSERT_EQ(e->flags, common | BPFNET_SVC_F_EXTERNAL_IP, "ExternalIP flags");
	ASSERT_EQ(l->flags, common | BPFNET_SVC_F_LOADBALANCER, "LB flags");
	ASSERT_EQ(c->affinity_timeout_s, 600, "affinity timeout");
	frontend_set_free(&set);
	store_free(&st);
}

TEST(model_unknown_fields_are_ignored)
{
	char err[256];
	struct service s;
	cJSON *doc = json(SVC_HEAD("x", "default")
			  "\"futureField\":{\"a\":[1,2,3]},\"spec\":{\"clusterIP\":\"10.96.7.7\","
			  "\"trafficDistribution\":\"PreferClose\",\"newThing\":true,"
			  "\"ports\":[{\"port\":80,\"appProtocol\":\"kubernetes.io/h2c\"}]}}");

	ASSERT_OK(service_parse(doc, &s, err, sizeof(err)), err);
	ASSERT_EQ(s.n_ports, 1, "port");
	service_free(&s);
	cJSON_Delete(doc);
}

/* Each malformed object is rejected with a reason. */
TEST(model_malformed_values_are_rejected)
{
	static const char *const bad_services[] = {
		SVC_HEAD("p", "d") "\"spec\":{\"clusterIP\":\"10.96.0.1\",\"ports\":[{\"port\":\"eighty\"}]}}",
		SVC_HEAD("p", "d") "\"spec\":{\"clusterIP\":\"10.96.0.1\",\"ports\":[{\"port\":70000}]}}",
		SVC_HEAD("p", "d") "\"spec\":{\"clusterIP\":\"10.96.0.1\",\"ports\":[{\"port\":80.5}]}}",
		/* beyond any integer: converting them unchecked is undefined */
		SVC_HEAD("p", "d") "\"spec\":{\"clusterIP\":\"10.96.0.1\",\"ports\":[{\"port\":1e300}]}}",
		SVC_HEAD("p", "d") "\"spec\":{\"clusterIP\":\"10.96.0.1\",\"ports\":[{\"port\":-1e300}]}}",
		SVC_HEAD("p", "d") "\"spec\":{\"clusterIP\":\"10.96.0.1\",\"ports\":[{\"port\":80,"
			"\"nodePort\":4e9}]}}",
		SVC_HEAD("p", "d") "\"spec\":{\"clusterIP\":\"10.96.0.1\",\"sessionAffinity\":\"ClientIP\","
			"\"sessionAffinityConfig\":{\"clientIP\":{\"timeoutSeconds\":1e20}},\"ports\":[{\"port\":80}]}}",
		SVC_HEAD("p", "d") "\"spec\":{\"clusterIP\":\"10.96.0.1\",\"sessionAffinity\":\"ClientIP\","
			"\"sessionAffinityConfig\":{\"clientIP\":{\"timeoutSeconds\":30.5}},\"ports\":[{\"port\":80}]}}",
		SVC_HEAD("p", "d") "\"spec\":{\"clusterIP\":\"10.96.0.300\",\"ports\":[{\"port\":80}]}}",
		SVC_HEAD("p", "d") "\"spec\":{\"clusterIP\":\"10.96.0.1\",\"ports\":[{\"port\":80,\"protocol\":\"QUIC\"}]}}",
		SVC_HEAD("p", "d") "\"spec\":{\"type\":\"Mystery\"}}",
		SVC_HEAD("p", "d") "\"spec\":{\"clusterIP\":\"10.96.0.1\",\"externalIPs\":\"1.2.3.4\"}}",
		SVC_HEAD("p", "d") "\"spec\":{\"clusterIP\":\"10.96.0.1\",\"sessionAffinity\":\"ClientIP\","
			"\"sessionAffinityConfig\":{\"clientIP\":{\"timeoutSeconds\":0}},\"ports\":[{\"port\":80}]}}",
		"{\"kind\":\"Service\",\"metadata\":{\"namespace\":\"d\"},\"spec\":{}}",
		"{\"kind\":\"Service\",\"metadata\":{\"name\":\"p\",\"namespace\":\"d\"}}",
	};
	static const char *const bad_slices[] = {
		SLICE_HEAD("s", "d", "p") "\"addressType\":\"IPv5\",\"endpoints\":[]}",
		SLICE_HEAD("s", "d", "p") "\"addressType\":\"IPv4\",\"endpoints\":[{\"addresses\":[\"banana\"]}]}",
		SLICE_HEAD("s", "d", "p") "\"addressType\":\"IPv4\",\"endpoints\":[{\"addresses\":[]}]}",
		SLICE_HEAD("s", "d", "p") "\"addressType\":\"IPv4\",\"ports\":[{\"port\":-1}]}",
		SLICE_HEAD("s", "d", "p") "\"endpoints\":[]}",
	};
	char err[256];

	for (size_t i = 0; i < sizeof(bad_services) / sizeof(*bad_services); i++) {
		struct service s;
		cJSON *doc = json(bad_services[i]);
		int ret;

		err[0] = '\0';
		ret = service_parse(doc, &s, err, sizeof(err));
		service_free(&s);
		cJSON_Delete(doc);
		if (ret != -EINVAL || !err[0])
			FAIL("bad service %zu accepted (ret %d)", i, ret);
	}
	for (size_t i = 0; i < sizeof(bad_slices) / sizeof(*bad_slices); i++) {
		struct endpoint_slice s;
		cJSON *doc = json(bad_slices[i]);
		int ret;

		err[0] = '\0';
		ret = slice_parse(doc, &s, err, sizeof(err));
		slice_free(&s);
		cJSON_Delete(doc);
		if (ret != -EINVAL || !err[0])
			FAIL("bad slice %zu accepted (ret %d)", i, ret);
	}
}
