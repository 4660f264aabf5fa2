// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "kubeconfig.h"

#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "readfile.h"
#include "yaml_json.h"

#define KUBECONFIG_MAX (4u << 20)

static int fail(char *err, size_t len, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t len, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return code;
}

long base64_decode(const char *in, size_t inlen, unsigned char *out)
{
	unsigned acc = 0, bits = 0;
	long n = 0;

	for (size_t i = 0; i < inlen; i++) {
		char c = in[i];
		int v;

		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= 'a' && c <= 'z')
			v = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			v = c - '0' + 52;
		else if (c == '+')
			v = 62;
		else if (c == '/')
			v = 63;
		else if (c == '=')
			break;
		else if (c == '\n' || c == '\r' || c == ' ' || c == '\t')
			continue;
		else
			return -EINVAL;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	return n;
}

static void pem_free(struct kube_pem *p)
{
	free(p->data);
	memset(p, 0, sizeof(*p));
}

void kube_conn_free(struct kube_conn *c)
{
	pem_free(&c->ca);
	pem_free(&c->cert);
	pem_free(&c->key);
	free(c->token);
	memset(c, 0, sizeof(*c));
}

static const char *str_of(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

/* Relative paths in a kubeconfig are relative to the file's directory. */
static int set_path(char *dst, size_t len, const char *dir, const char *path)
{
	int n = path[0] == '/' ? snprintf(dst, len, "%s", path) :
				 snprintf(dst, len, "%s/%s", dir, path);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* One PEM item: "<field>-data" (base64) wins over "<field>" (a path). */
static int load_pem(struct kube_pem *p, const cJSON *obj, const char *field, const char *dir,
		    const char *what, char *err, size_t errlen)
{
	char data_key[64];
	const char *data, *path;

	snprintf(data_key, sizeof(data_key), "%s-data", field);
	data = str_of(obj, data_key);
	path = str_of(obj, field);
	if (data) {
		long n;

		p->data = malloc(strlen(data) + 1);
		if (!p->data)
			return fail(err, errlen, -ENOMEM, "out of memory");
		n = base64_decode(data, strlen(data), (unsigned char *)p->data);
		if (n <= 0)
			return fail(err, errlen, -EINVAL, "%s: %s is not base64", what, data_key);
		p->len = (size_t)n;
		p->data[n] = '\0';
		return 0;
	}
	if (path && set_path(p->path, sizeof(p->path), dir, path))
		return fail(err, errlen, -ENAMETOOLONG, "%s: path too long", what);
	if (p->path[0] && access(p->path, R_OK))
		return fail(err, errlen, -errno, "%s %s: %s", what, p->path, strerror(errno));
	return 0;
}

/* The entry named @name in a kubeconfig list such as clusters: [{name, cluster}]. */
static const cJSON *named(const cJSON *doc, const char *list, const char *inner, const char *name)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(doc, list), *it;

	cJSON_ArrayForEach(it, arr) {
		const char *n = str_of(it, "name");

		if (n && !strcmp(n, name))
			return cJSON_GetObjectItemCaseSensitive(it, inner);
	}
	return NULL;
}

static int set_server(struct kube_conn *c, const char *url, char *err, size_t errlen)
{
	size_t n = strlen(url);

	if (strncmp(url, "https://", 8) && strncmp(url, "http://", 7))
		return fail(err, errlen, -EINVAL, "server %s is not an http(s) URL", url);
	while (n && url[n - 1] == '/')
		n--;
	if (n >= sizeof(c->server))
		return fail(err, errlen, -EINVAL, "server URL too long");
	memcpy(c->server, url, n);
	c->server[n] = '\0';
	return 0;
}

static int load_user(struct kube_conn *c, const cJSON *user, const char *dir, char *err,
		     size_t errlen)
{
	const char *token = str_of(user, "token"), *token_file = str_of(user, "tokenFile");
	int ret;

	if (cJSON_GetObjectItemCaseSensitive(user, "exec") ||
	    cJSON_GetObjectItemCaseSensitive(user, "auth-provider"))
		return fail(err, errlen, -EOPNOTSUPP,
			    "user uses exec/auth-provider credentials, which bpfnetd does not run; "
			    "use a token, tokenFile or client certificate");
	if (str_of(user, "username") || str_of(user, "password"))
		return fail(err, errlen, -EOPNOTSUPP, "basic auth is not supported");
	if ((ret = load_pem(&c->cert, user, "client-certificate", dir, "client certificate", err,
			    errlen)) ||
	    (ret = load_pem(&c->key, user, "client-key", dir, "client key", err, errlen)))
		return ret;
	if ((c->cert.path[0] || c->cert.data) != (c->key.path[0] || c->key.data))
		return fail(err, errlen, -EINVAL,
			    "a client certificate needs its key and the other way round");
	if (token) {
		c->token = strdup(token);
		if (!c->token)
			return fail(err, errlen, -ENOMEM, "out of memory");
	} else if (token_file && set_path(c->token_file, sizeof(c->token_file), dir, token_file)) {
		return fail(err, errlen, -ENAMETOOLONG, "tokenFile path too long");
	}
	if (c->token_file[0] && !kube_conn_token(c, true))
		return fail(err, errlen, -ENOENT, "tokenFile %s: unreadable or empty", c->token_file);
	return 0;
}

int kube_conn_from_kubeconfig(struct kube_conn *c, const char *path, const char *context,
			      char *err, size_t errlen)
{
	char dirbuf[4096];
	size_t len;
	char *text;
	int ret = 0;

	text = read_file(path, KUBECONFIG_MAX, &len, &ret);
	if (!text)
		return fail(err, errlen, ret, "kubeconfig %s: %s", path, strerror(-ret));
	snprintf(dirbuf, sizeof(dirbuf), "%s", path);
	ret = kube_conn_from_text(c, text, len, path, dirname(dirbuf), context, err, errlen);
	free(text);
	return ret;
}

int kube_conn_from_text(struct kube_conn *c, const char *text, size_t len, const char *path,
			const char *dir, const char *context, char *err, size_t errlen)
{
	const cJSON *ctx, *cluster, *user;
	const char *cluster_name, *user_name, *server, *insecure;
	cJSON *doc;
	int ret = 0;

	doc = yaml_to_json(text, len, err, errlen);
	if (!doc)
		return -EINVAL;

	if (!context)
		context = str_of(doc, "current-context");
	if (!context) {
		ret = fail(err, errlen, -EINVAL, "kubeconfig %s has no current-context", path);
		goto out;
	}
	ctx = named(doc, "contexts", "context", context);
	if (!ctx) {
		ret = fail(err, errlen, -EINVAL, "kubeconfig %s: context \"%s\" not found", path,
			   context);
		goto out;
	}
	cluster_name = str_of(ctx, "cluster");
	user_name = str_of(ctx, "user");
	cluster = cluster_name ? named(doc, "clusters", "cluster", cluster_name) : NULL;
	if (!cluster) {
		ret = fail(err, errlen, -EINVAL, "kubeconfig %s: context \"%s\" names no known cluster",
			   path, context);
		goto out;
	}
	server = str_of(cluster, "server");
	if (!server) {
		ret = fail(err, errlen, -EINVAL, "kubeconfig %s: cluster \"%s\" has no server", path,
			   cluster_name);
		goto out;
	}
	if ((ret = set_server(c, server, err, errlen)))
		goto out;
	insecure = str_of(cluster, "insecure-skip-tls-verify");
	c->insecure = insecure && !strcmp(insecure, "true");
	if ((ret = load_pem(&c->ca, cluster, "certificate-authority", dir, "certificate authority",
			    err, errlen)))
		goto out;
	if (user_name) {
		user = named(doc, "users", "user", user_name);
		if (!user) {
			ret = fail(err, errlen, -EINVAL, "kubeconfig %s: user \"%s\" not found", path,
				   user_name);
			goto out;
		}
		if ((ret = load_user(c, user, dir, err, errlen)))
			goto out;
	}
	snprintf(c->origin, sizeof(c->origin), "kubeconfig");
out:
	cJSON_Delete(doc);
	if (ret)
		kube_conn_free(c); /* nothing half loaded is left to the caller */
	return ret;
}

static int from_service_account(struct kube_conn *c, const char *sa_dir, char *err, size_t errlen)
{
	if (snprintf(c->token_file, sizeof(c->token_file), "%s/token", sa_dir) >=
		    (int)sizeof(c->token_file) ||
	    snprintf(c->ca.path, sizeof(c->ca.path), "%s/ca.crt", sa_dir) >= (int)sizeof(c->ca.path))
		return fail(err, errlen, -ENAMETOOLONG, "service-account path too long");
	if (!kube_conn_token(c, true))
		return fail(err, errlen, -ENOENT, "%s: unreadable or empty", c->token_file);
	if (access(c->ca.path, R_OK))
		c->ca.path[0] = '\0'; /* the system trust store then */
	snprintf(c->origin, sizeof(c->origin), "in-cluster");
	return 0;
}

int kube_conn_resolve(struct kube_conn *c, const char *api_server, const char *kubeconfig,
		      const char *sa_dir, bool allow_http, char *err, size_t errlen)
{
	char sa_token[4200];
	int ret;

	memset(c, 0, sizeof(*c));
	if (!sa_dir || !*sa_dir)
		sa_dir = KUBE_SA_DIR_DEFAULT;
	snprintf(sa_token, sizeof(sa_token), "%s/token", sa_dir);
	if (kubeconfig && *kubeconfig)
		ret = kube_conn_from_kubeconfig(c, kubeconfig, NULL, err, errlen);
	else if (access(sa_token, F_OK) == 0)
		ret = from_service_account(c, sa_dir, err, errlen);
	else
		ret = 0; /* no credentials: only an explicit, unauthenticated server */
	if (ret)
		goto fail;

	if (api_server && *api_server) {
		ret = set_server(c, api_server, err, errlen);
	} else if (!c->server[0]) {
		const char *host = getenv("KUBERNETES_SERVICE_HOST");
		const char *port = getenv("KUBERNETES_SERVICE_PORT");
		char url[600];

		if (!host || !*host) {
			ret = fail(err, errlen, -EINVAL,
				   "no API server: give --k8s-api-server or --kubeconfig, or run "
				   "in a pod (KUBERNETES_SERVICE_HOST)");
			goto fail;
		}
		/* an IPv6 literal needs brackets in a URL */
		snprintf(url, sizeof(url), strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s",
			 host, port && *port ? port : "443");
		ret = set_server(c, url, err, errlen);
	}
	if (ret)
		goto fail;
	if (!allow_http && !strncmp(c->server, "http://", 7)) {
		ret = fail(err, errlen, -EPERM,
			   "server %s is plain http: credentials would cross the network in clear; "
			   "use https, or --k8s-insecure-http for a test setup", c->server);
		goto fail;
	}
	if (!c->origin[0])
		snprintf(c->origin, sizeof(c->origin), "none");
	return 0;
fail:
	kube_conn_free(c);
	return ret;
}

const char *kube_conn_token(struct kube_conn *c, bool force)
{
	struct stat st;
	char *text, *end;
	size_t len;
	int err;

	if (!c->token_file[0])
		return c->token;
	if (stat(c->token_file, &st))
		return c->token; /* keep the last one; the server will say if it expired */
	if (!force && c->token && st.st_mtim.tv_sec == c->token_mtime.tv_sec &&
	    st.st_mtim.tv_nsec == c->token_mtime.tv_nsec)
		return c->token;
	text = read_file(c->token_file, 64 * 1024, &len, &err);
	if (!text)
		return c->token;
	end = text + len;
	while (end > text && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
		*--end = '\0';
	if (!*text) {
		free(text);
		return c->token;
	}
	free(c->token);
	c->token = text;
	c->token_mtime = st.st_mtim;
	return c->token;
}
