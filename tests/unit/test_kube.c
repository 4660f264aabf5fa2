// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The Kubernetes client's pieces that need no server: watch-stream framing
 * at every chunk boundary, YAML kubeconfigs, credential precedence, token
 * rotation, and the Node model. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json_framer.h"
#include "kubeconfig.h"
#include "model.h"
#include "testutil.h"
#include "yaml_json.h"

struct collected {
	char objs[16][512];
	int n;
};

static int collect(void *arg, const char *obj, size_t len)
{
	struct collected *c = arg;

	if (c->n == 16 || len >= sizeof(c->objs[0]))
		return -ENOSPC;
	memcpy(c->objs[c->n], obj, len);
	c->objs[c->n][len] = '\0';
	c->n++;
	return 0;
}

/* Braces and quotes inside strings, escapes, nesting, whitespace between
 * objects: the stream a watch sends, plus the awkward cases. */
static const char watch_stream[] =
	"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\"},\"x\":[1,{\"y\":2}]}}\n"
	"{\"type\":\"MODIFIED\",\"object\":{\"note\":\"} { ] [ \\\" \\\\\"}}\r\n"
	"  {\"type\":\"BOOKMARK\",\"object\":{\"s\":\"\\\\\"}}"
	"{\"type\":\"DELETED\",\"object\":{}}\n";
static const char *const watch_objs[] = {
	"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\"},\"x\":[1,{\"y\":2}]}}",
	"{\"type\":\"MODIFIED\",\"object\":{\"note\":\"} { ] [ \\\" \\\\\"}}",
	"{\"type\":\"BOOKMARK\",\"object\":{\"s\":\"\\\\\"}}",
	"{\"type\":\"DELETED\",\"object\":{}}",
};

static void expect_watch_objs(const struct collected *c, const char *how)
{
	ASSERT_EQ(c->n, 4, how);
	for (int i = 0; i < 4; i++)
		if (strcmp(c->objs[i], watch_objs[i]))
			FAIL("%s: object %d is %s", how, i, c->objs[i]);
}

TEST(json_framer_every_split_point)
{
	size_t n = strlen(watch_stream);

	(void)f;
	/* two chunks, cut at every byte */
	for (size_t cut = 0; cut <= n; cut++) {
		struct json_framer fr;
		struct collected c = {};
		char how[64];

		json_framer_init(&fr, 4096);
		snprintf(how, sizeof(how), "cut at %zu", cut);
		ASSERT_OK(json_framer_feed(&fr, watch_stream, cut, collect, &c), how);
		ASSERT_OK(json_framer_feed(&fr, watch_stream + cut, n - cut, collect, &c), how);
		expect_watch_objs(&c, how);
		json_framer_free(&fr);
	}
	/* one byte at a time */
	struct json_framer fr;
	struct collected c = {};

	json_framer_init(&fr, 4096);
	for (size_t i = 0; i < n; i++)
		ASSERT_OK(json_framer_feed(&fr, watch_stream + i, 1, collect, &c), "byte feed");
	expect_watch_objs(&c, "byte by byte");
	json_framer_free(&fr);
}

TEST(json_framer_limits_and_garbage)
{
	struct json_framer fr;
	struct collected c = {};
	char big[300];

	(void)f;
	/* an object over the limit, whether complete in one chunk or not */
	memset(big, 'x', sizeof(big));
	memcpy(big, "{\"a\":\"", 6);
	memcpy(big + sizeof(big) - 2, "\"}", 2);
	json_framer_init(&fr, 256);
	ASSERT_EQ(json_framer_feed(&fr, big, sizeof(big), collect, &c), -E2BIG, "one chunk");
	json_framer_reset(&fr);
	ASSERT_OK(json_framer_feed(&fr, big, 200, collect, &c), "first part");
	ASSERT_EQ(json_framer_feed(&fr, big + 200, 100, collect, &c), -E2BIG, "spanning");
	json_framer_free(&fr);

	/* bytes that cannot start an object: a list, a bare value, an HTML error page */
	json_framer_init(&fr, 256);
	ASSERT_EQ(json_framer_feed(&fr, "[1]", 3, collect, &c), -EPROTO, "array at top");
	json_framer_reset(&fr);
	ASSERT_EQ(json_framer_feed(&fr, "<html>", 6, collect, &c), -EPROTO, "html");
	/* after a reset (a new connection) a partial object is forgotten */
	json_framer_reset(&fr);
	ASSERT_OK(json_framer_feed(&fr, "{\"a\":\"{", 7, collect, &c), "partial");
	json_framer_reset(&fr);
	ASSERT_OK(json_framer_feed(&fr, "{\"b\":1}", 7, collect, &c), "fresh");
	ASSERT_EQ(c.n, 1, "objects");
	ASSERT_TRUE(!strcmp(c.objs[0], "{\"b\":1}"), "the fresh object only");
	/* the callback can stop the feed */
	ASSERT_EQ(json_framer_feed(&fr, "{}{}", 4, collect, &(struct collected){ .n = 16 }), -ENOSPC,
		  "callback error returned");
	json_framer_free(&fr);
}

static const char *tmpdir; /* the fixture's scratch directory */

static void write_file(const char *name, const char *text)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fp = fopen(path, "w");
	if (!fp)
		FAIL("cannot write %s", path);
	fputs(text, fp);
	fclose(fp);
}


TEST(yaml_to_json_kubeconfig_shapes)
{
	static const char text[] =
		"# a comment\n"
		"apiVersion: v1\n"
		"clusters:\n"
		"- cluster: {server: 'https://10.0.0.1:6443', insecure-skip-tls-verify: true}\n"
		"  name: \"c1\"\n"
		"users:\n"
		"- name: u\n"
		"  user:\n"
		"    token: |\n"
		"      abc\n"
		"    empty:\n";
	char err[128];
	cJSON *doc, *bad;
	const cJSON *cl, *user;

	(void)f;
	doc = yaml_to_json(text, strlen(text), err, sizeof(err));
	if (!doc)
		FAIL("parse: %s", err);
	cl = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "clusters"), 0);
	ASSERT_TRUE(!strcmp(cJSON_GetObjectItem(cJSON_GetObjectItem(cl, "cluster"), "server")->valuestring,
			    "https://10.0.0.1:6443"), "flow mapping, single quotes");
	ASSERT_TRUE(!strcmp(cJSON_GetObjectItem(cJSON_GetObjectItem(cl, "cluster"),
						"insecure-skip-tls-verify")->valuestring, "true"),
		    "booleans are strings");
	ASSERT_TRUE(!strcmp(cJSON_GetObjectItem(cl, "name")->valuestring, "c1"), "double quotes");
	user = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "users"), 0), "user");
	ASSERT_TRUE(!strcmp(cJSON_GetObjectItem(user, "token")->valuestring, "abc\n"), "block scalar");
	ASSERT_TRUE(cJSON_IsNull(cJSON_GetObjectItem(user, "empty")), "empty value is null");
	cJSON_Delete(doc);

	/* JSON is YAML */
	doc = yaml_to_json("{\"a\": [1, \"x\"]}", strlen("{\"a\": [1, \"x\"]}"), err, sizeof(err));
	ASSERT_TRUE(doc && cJSON_GetArraySize(cJSON_GetObjectItem(doc, "a")) == 2, "JSON input");
	cJSON_Delete(doc);

	bad = yaml_to_json("a: [1, 2\nb: c\n", 14, err, sizeof(err));
	ASSERT_TRUE(!bad && strstr(err, "line"), "syntax error names a line");
	bad = yaml_to_json("a: &x 1\nb: *x\n", 14, err, sizeof(err));
	ASSERT_TRUE(!bad && strstr(err, "alias"), "aliases refused");
	bad = yaml_to_json("", 0, err, sizeof(err));
	ASSERT_TRUE(!bad && strstr(err, "empty"), "empty document");
}

static const char kubeconfig_text[] =
	"apiVersion: v1\n"
	"kind: Config\n"
	"clusters:\n"
	"- name: prod\n"
	"  cluster:\n"
	"    server: https://192.0.2.1:6443/\n"
	"    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==\n"
	"- name: lab\n"
	"  cluster:\n"
	"    server: https://lab.example:6443\n"
	"    certificate-authority: certs/ca.crt\n"
	"    insecure-skip-tls-verify: false\n"
	"contexts:\n"
	"- name: prod-admin\n"
	"  context: {cluster: prod, user: admin}\n"
	"- name: lab-bot\n"
	"  context: {cluster: lab, user: bot}\n"
	"- name: lab-exec\n"
	"  context: {cluster: lab, user: sso}\n"
	"- name: lab-halfcert\n"
	"  context: {cluster: lab, user: halfcert}\n"
	"current-context: prod-admin\n"
	"users:\n"
	"- name: admin\n"
	"  user:\n"
	"    client-certificate-data: Y2VydA==\n"
	"    client-key-data: a2V5\n"
	"- name: bot\n"
	"  user:\n"
	"    tokenFile: bot.token\n"
	"- name: sso\n"
	"  user:\n"
	"    exec: {command: kubelogin, apiVersion: client.authentication.k8s.io/v1}\n"
	"- name: halfcert\n"
	"  user: {client-certificate: certs/ca.crt}\n";

TEST(kubeconfig_contexts_and_credentials)
{
	struct kube_conn c = {};
	char path[128], err[256];

	tmpdir = fixture_scratch(f);
	snprintf(path, sizeof(path), "%s/certs", tmpdir);
	mkdir(path, 0700);
	write_file("certs/ca.crt", "-----BEGIN CERTIFICATE-----\n");
	write_file("bot.token", "tok-1\n");
	write_file("config", kubeconfig_text);
	snprintf(path, sizeof(path), "%s/config", tmpdir);

	/* current context: inline (-data) CA and client certificate, trailing slash dropped */
	if (kube_conn_from_kubeconfig(&c, path, NULL, err, sizeof(err)))
		FAIL("prod-admin: %s", err);
	ASSERT_TRUE(!strcmp(c.server, "https://192.0.2.1:6443"), "server");
	ASSERT_TRUE(c.ca.data && !strcmp(c.ca.data, "-----BEGIN CERTIFICATE-----\n"), "CA data");
	ASSERT_TRUE(c.cert.data && !strcmp(c.cert.data, "cert") && c.cert.len == 4, "cert data");
	ASSERT_TRUE(c.key.data && !strcmp(c.key.data, "key"), "key data");
	ASSERT_TRUE(!c.insecure && !c.token, "no token, verified");
	kube_conn_free(&c);

	/* another context: paths relative to the kubeconfig, a token file */
	if (kube_conn_from_kubeconfig(&c, path, "lab-bot", err, sizeof(err)))
		FAIL("lab-bot: %s", err);
	ASSERT_TRUE(strstr(c.ca.path, "/certs/ca.crt") && c.ca.path[0] == '/', "relative CA path");
	ASSERT_TRUE(c.token && !strcmp(c.token, "tok-1"), "token from tokenFile, newline trimmed");
	kube_conn_free(&c);

	ASSERT_EQ(kube_conn_from_kubeconfig(&c, path, "lab-exec", err, sizeof(err)), -EOPNOTSUPP,
		  "exec credentials refused");
	ASSERT_TRUE(strstr(err, "exec"), "reason names exec");
	kube_conn_free(&c);
	ASSERT_EQ(kube_conn_from_kubeconfig(&c, path, "lab-halfcert", err, sizeof(err)), -EINVAL,
		  "certificate without key");
	kube_conn_free(&c);
	ASSERT_EQ(kube_conn_from_kubeconfig(&c, path, "nope", err, sizeof(err)), -EINVAL,
		  "unknown context");
	ASSERT_TRUE(strstr(err, "\"nope\" not found"), "reason names the context");
	kube_conn_free(&c);
	snprintf(path, sizeof(path), "%s/missing", tmpdir);
	ASSERT_EQ(kube_conn_from_kubeconfig(&c, path, NULL, err, sizeof(err)), -ENOENT, "no file");
	kube_conn_free(&c);
}

TEST(kube_conn_precedence_and_token_rotation)
{
	struct kube_conn c = {};
	char sa[128], cfg[128], tok[160], err[256];
	struct timespec later[2] = { { .tv_sec = 2000000000 }, { .tv_sec = 2000000000 } };

	tmpdir = fixture_scratch(f);
	snprintf(sa, sizeof(sa), "%s/sa", tmpdir);
	mkdir(sa, 0700);
	write_file("sa/token", "sa-token-1\n");
	write_file("sa/ca.crt", "pem");
	write_file("config", kubeconfig_text);
	snprintf(cfg, sizeof(cfg), "%s/config", tmpdir);
	snprintf(tok, sizeof(tok), "%s/token", sa);

	/* in a pod: service account + KUBERNETES_SERVICE_HOST/PORT */
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	if (kube_conn_resolve(&c, "", "", sa, false, err, sizeof(err)))
		FAIL("in-cluster: %s", err);
	ASSERT_TRUE(!strcmp(c.server, "https://10.96.0.1:443"), "server from env");
	ASSERT_TRUE(!strcmp(c.origin, "in-cluster") && strstr(c.ca.path, "sa/ca.crt"), "SA CA");
	ASSERT_TRUE(!strcmp(kube_conn_token(&c, false), "sa-token-1"), "SA token");

	/* the kubelet rotates the token: read again once its mtime changes */
	write_file("sa/token", "sa-token-2\n");
	utimensat(AT_FDCWD, tok, later, 0);
	ASSERT_TRUE(!strcmp(kube_conn_token(&c, false), "sa-token-2"), "rotated token");
	write_file("sa/token", ""); /* mid-rotation: keep the last good one */
	ASSERT_TRUE(!strcmp(kube_conn_token(&c, true), "sa-token-2"), "empty file ignored");
	kube_conn_free(&c);
	write_file("sa/token", "sa-token-3\n");

	/* the flag wins over the environment; service-account credentials stay */
	if (kube_conn_resolve(&c, "https://192.0.2.9:6443", "", sa, false, err, sizeof(err)))
		FAIL("flag: %s", err);
	ASSERT_TRUE(!strcmp(c.server, "https://192.0.2.9:6443") && c.token, "flag + SA token");
	kube_conn_free(&c);

	/* a kubeconfig wins over the service account; the flag over its server */
	if (kube_conn_resolve(&c, "https://192.0.2.9:6443", cfg, sa, false, err, sizeof(err)))
		FAIL("kubeconfig + flag: %s", err);
	ASSERT_TRUE(!strcmp(c.server, "https://192.0.2.9:6443"), "flag over kubeconfig server");
	ASSERT_TRUE(!strcmp(c.origin, "kubeconfig") && c.cert.data && !c.token, "kubeconfig creds");
	kube_conn_free(&c);

	/* IPv6 service host is bracketed; nothing at all is an error */
	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	if (kube_conn_resolve(&c, "", "", "/nonexistent", false, err, sizeof(err)))
		FAIL("v6: %s", err);
	ASSERT_TRUE(!strcmp(c.server, "https://[fd00::1]:443"), "IPv6 URL");
	kube_conn_free(&c);
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	ASSERT_EQ(kube_conn_resolve(&c, "", "", "/nonexistent", false, err, sizeof(err)), -EINVAL,
		  "no server anywhere");
	ASSERT_EQ(kube_conn_resolve(&c, "ftp://x", "", "/nonexistent", false, err, sizeof(err)), -EINVAL,
		  "not http(s)");
	/* a bearer token must not travel in clear unless asked for */
	ASSERT_EQ(kube_conn_resolve(&c, "http://192.0.2.9:8080", "", "/nonexistent", false, err,
				    sizeof(err)), -EPERM, "plain http refused");
	ASSERT_TRUE(strstr(err, "--k8s-insecure-http"), "the refusal names the way out");
	ASSERT_OK(kube_conn_resolve(&c, "http://192.0.2.9:8080", "", "/nonexistent", true, err,
				    sizeof(err)), "plain http when allowed");
	kube_conn_free(&c);
}

TEST(base64_decode_cases)
{
	unsigned char out[32];

	(void)f;
	ASSERT_EQ(base64_decode("aGVsbG8=", 8, out), 5, "padded");
	ASSERT_MEM_EQ(out, "hello", 5, "padded bytes");
	ASSERT_EQ(base64_decode("aGVs\nbG8", 8, out), 5, "unpadded, wrapped");
	ASSERT_MEM_EQ(out, "hello", 5, "wrapped bytes");
	ASSERT_EQ(base64_decode("+/8=", 4, out), 2, "+ and /");
	ASSERT_EQ(out[0], 0xfb, "byte 0");
	ASSERT_EQ(out[1], 0xff, "byte 1");
	ASSERT_EQ(base64_decode("a$b", 3, out), -EINVAL, "bad character");
}

TEST(node_parse_fields)
{
	struct node n;
	char err[128];
	cJSON *doc = cJSON_Parse(
		"{\"metadata\":{\"name\":\"node-a\",\"resourceVersion\":\"42\"},"
		"\"spec\":{\"podCIDR\":\"10.244.0.0/24\",\"podCIDRs\":[\"10.244.0.0/24\",\"fd00:10:244::/64\"]},"
		"\"status\":{\"addresses\":[{\"type\":\"Hostname\",\"address\":\"node-a\"},"
		"{\"type\":\"InternalIP\",\"address\":\"192.168.1.10\"}]}}");

	(void)f;
	ASSERT_OK(node_parse(doc, &n, err, sizeof(err)), "dual-stack node");
	ASSERT_EQ(n.n_pod_cidrs, 2, "both CIDRs");
	ASSERT_TRUE(!strcmp(n.pod_cidrs[1], "fd00:10:244::/64"), "IPv6 CIDR kept as text");
	ASSERT_EQ(n.internal_ip, inet_addr("192.168.1.10"), "InternalIP");
	cJSON_Delete(doc);

	doc = cJSON_Parse("{\"metadata\":{\"name\":\"old\"},\"spec\":{\"podCIDR\":\"10.1.0.0/16\"}}");
	ASSERT_OK(node_parse(doc, &n, err, sizeof(err)), "podCIDR only");
	ASSERT_TRUE(n.n_pod_cidrs == 1 && !strcmp(n.pod_cidrs[0], "10.1.0.0/16"), "podCIDR used");
	cJSON_Delete(doc);

	doc = cJSON_Parse("{\"metadata\":{\"name\":\"x\"},\"spec\":{\"podCIDRs\":[\"10.1.0.0/33\"]}}");
	ASSERT_EQ(node_parse(doc, &n, err, sizeof(err)), -EINVAL, "bad prefix length");
	cJSON_Delete(doc);
	doc = cJSON_Parse("{\"spec\":{}}");
	ASSERT_EQ(node_parse(doc, &n, err, sizeof(err)), -EINVAL, "no metadata");
	cJSON_Delete(doc);
}
