/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Where the Kubernetes API is and how to authenticate to it, from (in that
 * order of precedence) the --k8s-api-server flag, a kubeconfig file, and
 * the in-cluster service-account files. TLS is verified unless the
 * kubeconfig says insecure-skip-tls-verify.
 */
#ifndef BPFNET_AGENT_KUBECONFIG_H
#define BPFNET_AGENT_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define KUBE_SA_DIR_DEFAULT "/var/run/secrets/kubernetes.io/serviceaccount"

/* PEM material is either a file path or bytes decoded from a *-data field. */
struct kube_pem {
	char path[4096];
	char *data;
	size_t len;
};

struct kube_conn {
	char server[1024]; /* scheme://host[:port][/prefix], no trailing slash */
	struct kube_pem ca, cert, key;
	bool insecure;
	char *token;          /* bearer token, or NULL */
	char token_file[4096]; /* re-read when it changes (projected tokens rotate) */
	struct timespec token_mtime;
	char origin[64]; /* where the credentials came from, for logs */
};

/*
 * @api_server: the flag, or "" (then the kubeconfig's or the in-cluster
 * KUBERNETES_SERVICE_HOST/PORT); @kubeconfig: a path or "" (then the
 * service-account files in @sa_dir if present). A plain http:// server is
 * refused unless @allow_http. 0, or -errno with a reason.
 */
int kube_conn_resolve(struct kube_conn *c, const char *api_server, const char *kubeconfig,
		      const char *sa_dir, bool allow_http, char *err, size_t errlen);
/* Load one kubeconfig; @context NULL means its current-context. On
 * failure @c holds nothing (freed). */
int kube_conn_from_kubeconfig(struct kube_conn *c, const char *path, const char *context,
			      char *err, size_t errlen);
/* The same from its text (@path names it in errors; relative paths in it
 * are relative to @dir). */
int kube_conn_from_text(struct kube_conn *c, const char *text, size_t len, const char *path,
			const char *dir, const char *context, char *err, size_t errlen);
/* The bearer token to send now: re-reads token_file when its mtime changed
 * (or always when @force). NULL when there is none. */
const char *kube_conn_token(struct kube_conn *c, bool force);
void kube_conn_free(struct kube_conn *c);

/* Standard base64 (padding optional); returns the length or -EINVAL. */
long base64_decode(const char *in, size_t inlen, unsigned char *out);

#endif
