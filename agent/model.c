// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "model.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpfnet/datapath.h>

#define DEFAULT_AFFINITY_TIMEOUT_S 10800 /* the API's default for ClientIP */

static int fail(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

void object_key(char *buf, size_t len, const char *ns, const char *name)
{
	snprintf(buf, len, "%s/%s", ns, name);
}

static const char *str_of(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Copy a required or optional string field, checking its length. */
static int copy_str(char *dst, size_t len, const char *src, const char *what, bool required,
		    char *err, size_t errlen)
{
	if (!src) {
		if (required)
			return fail(err, errlen, "%s missing", what);
		dst[0] = '\0';
		return 0;
	}
	if (strlen(src) >= len)
		return fail(err, errlen, "%s too long", what);
	strcpy(dst, src);
	return 0;
}

/* As copy_str, into an allocation that fits ("" when optional and absent). */
static int dup_str(char **dst, size_t max, const char *src, const char *what, bool required,
		   char *err, size_t errlen)
{
	if (!src && required)
		return fail(err, errlen, "%s missing", what);
	if (src && strlen(src) >= max)
		return fail(err, errlen, "%s too long", what);
	*dst = strdup(src ? src : "");
	return *dst ? 0 : -ENOMEM;
}

static int parse_meta(const cJSON *obj, char **ns, char **name, char *err, size_t errlen)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const char *rv;
	int ret;

	if (!cJSON_IsObject(meta))
		return fail(err, errlen, "metadata missing");
	ret = dup_str(name, K8S_NAME_MAX, str_of(meta, "name"), "metadata.name", true, err, errlen);
	if (!ret)
		ret = dup_str(ns, K8S_NS_MAX, str_of(meta, "namespace"), "metadata.namespace", true,
			      err, errlen);
	rv = str_of(meta, "resourceVersion");
	if (!ret && rv && strlen(rv) >= K8S_RV_MAX)
		ret = fail(err, errlen, "metadata.resourceVersion too long");
	if (!ret && (!(*name)[0] || !(*ns)[0]))
		ret = fail(err, errlen, "empty name or namespace");
	return ret;
}

/* Protocol names of the API; SCTP is valid but not load-balanced here. */
static int parse_proto(const cJSON *obj, __u8 *proto, bool *skip, char *err, size_t errlen)
{
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(obj, "protocol");

	*skip = false;
	if (!p || cJSON_IsNull(p)) {
		*proto = IPPROTO_TCP;
		return 0;
	}
	if (!cJSON_IsString(p))
		return fail(err, errlen, "protocol is not a string");
	if (!strcmp(p->valuestring, "TCP"))
		*proto = IPPROTO_TCP;
	else if (!strcmp(p->valuestring, "UDP"))
		*proto = IPPROTO_UDP;
	else if (!strcmp(p->valuestring, "SCTP"))
		*skip = true;
	else
		return fail(err, errlen, "unknown protocol %s", p->valuestring);
	return 0;
}

/* An integral JSON number in [lo, hi]. The range is checked on the double
 * before any conversion: casting one out of range is undefined behaviour. */
static bool json_int_in(const cJSON *v, double lo, double hi, long *out)
{
	double d;

	if (!cJSON_IsNumber(v))
		return false;
	d = v->valuedouble;
	if (!(d >= lo && d <= hi)) /* also refuses NaN */
		return false;
	*out = (long)d; /* in range now: defined */
	return (double)*out == d;
}

/* A port number field: absent gives 0 when allowed, anything else must be 1..65535. */
static int parse_port_num(const cJSON *obj, const char *key, bool required, __u16 *port,
			  char *err, size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	long n;

	*port = 0;
	if (!v || cJSON_IsNull(v))
		return required ? fail(err, errlen, "%s missing", key) : 0;
	if (!json_int_in(v, required ? 1 : 0, 65535, &n))
		return fail(err, errlen, "%s is not a port number", key);
	*port = (__u16)n;
	return 0;
}

static int add_vip(struct service *s, const char *ip, __u32 kind, char *err, size_t errlen)
{
	struct in6_addr a6;
	__be32 a;

	if (inet_pton(AF_INET, ip, &a) != 1)
		return inet_pton(AF_INET6, ip, &a6) == 1 ? 0 /* IPv6 until it lands */
			: fail(err, errlen, "bad IP address \"%s\"", ip);
	for (size_t i = 0; i < s->n_vips; i++)
		if (s->vips[i].addr == a) {
			s->vips[i].kind |= kind; /* e.g. an ExternalIP equal to an LB IP */
			return 0;
		}
	struct service_vip *v = realloc(s->vips, (s->n_vips + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	s->vips = v;
	s->vips[s->n_vips].addr = a;
	s->vips[s->n_vips].kind = kind;
	s->n_vips++;
	return 0;
}

static int add_vip_list(struct service *s, const cJSON *arr, __u32 kind, const char *what,
			char *err, size_t errlen)
{
	const cJSON *it;

	if (!arr || cJSON_IsNull(arr))
		return 0;
	if (!cJSON_IsArray(arr))
		return fail(err, errlen, "%s is not a list", what);
	cJSON_ArrayForEach(it, arr) {
		int ret;

		if (!cJSON_IsString(it))
			return fail(err, errlen, "%s holds a non-string", what);
		ret = add_vip(s, it->valuestring, kind, err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}

/* One element per item of @array, exactly: the cache holds thousands. */
static void *calloc_items(const cJSON *array, size_t size)
{
	int n = cJSON_GetArraySize(array);

	return calloc(n > 0 ? (size_t)n : 1, size);
}

static int parse_service_ports(struct service *s, const cJSON *ports, char *err, size_t errlen)
{
	const cJSON *p;

	if (!ports || cJSON_IsNull(ports))
		return 0;
	if (!cJSON_IsArray(ports))
		return fail(err, errlen, "spec.ports is not a list");
	s->ports = calloc_items(ports, sizeof(*s->ports));
	if (!s->ports)
		return -ENOMEM;
	cJSON_ArrayForEach(p, ports) {
		struct service_port *sp = &s->ports[s->n_ports];
		bool skip;
		int ret;

		if (!cJSON_IsObject(p))
			return fail(err, errlen, "spec.ports holds a non-object");
		ret = copy_str(sp->name, sizeof(sp->name), str_of(p, "name"), "port name", false, err,
			       errlen);
		if (!ret)
			ret = parse_proto(p, &sp->proto, &skip, err, errlen);
		if (!ret)
			ret = parse_port_num(p, "port", true, &sp->port, err, errlen);
		if (!ret)
			ret = parse_port_num(p, "nodePort", false, &sp->node_port, err, errlen);
		if (ret)
			return ret;
		if (!skip)
			s->n_ports++;
	}
	return 0;
}

int service_parse(const cJSON *obj, struct service *s, char *err, size_t errlen)
{
	const cJSON *spec, *status, *lb, *ing, *cfg;
	const char *type, *cip, *aff, *itp, *etp;
	int ret;

	memset(s, 0, sizeof(*s));
	ret = parse_meta(obj, &s->ns, &s->name, err, errlen);
	if (ret)
		return ret;
	spec = cJSON_GetObjectItemCaseSensitive(obj, "spec");
	if (!cJSON_IsObject(spec))
		return fail(err, errlen, "spec missing");

	type = str_of(spec, "type");
	if (!type || !strcmp(type, "ClusterIP"))
		s->type = SVC_CLUSTER_IP;
	else if (!strcmp(type, "NodePort"))
		s->type = SVC_NODE_PORT;
	else if (!strcmp(type, "LoadBalancer"))
		s->type = SVC_LOAD_BALANCER;
	else if (!strcmp(type, "ExternalName"))
		s->type = SVC_EXTERNAL_NAME;
	else
		return fail(err, errlen, "unknown spec.type %s", type);
	if (s->type == SVC_EXTERNAL_NAME)
		return 0; /* DNS only: nothing to load-balance */

	cip = str_of(spec, "clusterIP");
	if (cip && !strcmp(cip, "None")) {
		s->headless = true;
		return 0;
	}
	/* clusterIPs supersedes clusterIP (dual-stack); either may be absent */
	ret = add_vip_list(s, cJSON_GetObjectItemCaseSensitive(spec, "clusterIPs"),
			   BPFNET_SVC_F_CLUSTER_IP, "spec.clusterIPs", err, errlen);
	if (!ret && cip && cip[0])
		ret = add_vip(s, cip, BPFNET_SVC_F_CLUSTER_IP, err, errlen);
	if (!ret)
		ret = add_vip_list(s, cJSON_GetObjectItemCaseSensitive(spec, "externalIPs"),
				   BPFNET_SVC_F_EXTERNAL_IP, "spec.externalIPs", err, errlen);
	status = cJSON_GetObjectItemCaseSensitive(obj, "status");
	lb = status ? cJSON_GetObjectItemCaseSensitive(status, "loadBalancer") : NULL;
	ing = lb ? cJSON_GetObjectItemCaseSensitive(lb, "ingress") : NULL;
	if (!ret && cJSON_IsArray(ing)) {
		const cJSON *i;

		cJSON_ArrayForEach(i, ing) {
			const char *ip = str_of(i, "ip");

			if (ip && (ret = add_vip(s, ip, BPFNET_SVC_F_LOADBALANCER, err, errlen)))
				break;
		}
	}
	if (!ret)
		ret = parse_service_ports(s, cJSON_GetObjectItemCaseSensitive(spec, "ports"), err,
					  errlen);
	if (ret)
		return ret;

	aff = str_of(spec, "sessionAffinity");
	s->affinity_client_ip = aff && !strcmp(aff, "ClientIP");
	if (s->affinity_client_ip) {
		const cJSON *t;

		s->affinity_timeout_s = DEFAULT_AFFINITY_TIMEOUT_S;
		cfg = cJSON_GetObjectItemCaseSensitive(spec, "sessionAffinityConfig");
		cfg = cfg ? cJSON_GetObjectItemCaseSensitive(cfg, "clientIP") : NULL;
		t = cfg ? cJSON_GetObjectItemCaseSensitive(cfg, "timeoutSeconds") : NULL;
		if (t && !cJSON_IsNull(t)) {
			long n;

			if (!json_int_in(t, 1, 86400, &n))
				return fail(err, errlen, "sessionAffinityConfig timeout out of range");
			s->affinity_timeout_s = (__u32)n;
		}
	}
	itp = str_of(spec, "internalTrafficPolicy");
	etp = str_of(spec, "externalTrafficPolicy");
	s->internal_local = itp && !strcmp(itp, "Local");
	s->external_local = etp && !strcmp(etp, "Local");
	return 0;
}

void service_free(struct service *s)
{
	free(s->ns);
	free(s->name);
	free(s->vips);
	free(s->ports);
	s->ns = s->name = NULL;
	s->vips = NULL;
	s->ports = NULL;
}

/* nil conditions: ready and serving are "unknown", which consumers are to
 * read as true; terminating nil is false (as kube-proxy does). */
static bool cond(const cJSON *conds, const char *key, bool if_nil)
{
	const cJSON *v = conds ? cJSON_GetObjectItemCaseSensitive(conds, key) : NULL;

	if (!v || cJSON_IsNull(v))
		return if_nil;
	return cJSON_IsTrue(v);
}

int slice_parse(const cJSON *obj, struct endpoint_slice *s, char *err, size_t errlen)
{
	const cJSON *meta, *labels, *ports, *eps, *it;
	const char *at;
	int ret;

	memset(s, 0, sizeof(*s));
	ret = parse_meta(obj, &s->ns, &s->name, err, errlen);
	if (ret)
		return ret;
	meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	labels = cJSON_GetObjectItemCaseSensitive(meta, "labels");
	ret = dup_str(&s->service, K8S_NAME_MAX,
		      labels ? str_of(labels, "kubernetes.io/service-name") : NULL,
		      "service-name label", false, err, errlen);
	if (ret)
		return ret;
	at = str_of(obj, "addressType");
	if (!at)
		return fail(err, errlen, "addressType missing");
	if (strcmp(at, "IPv4") && strcmp(at, "IPv6") && strcmp(at, "FQDN"))
		return fail(err, errlen, "unknown addressType %s", at);
	s->ipv4 = !strcmp(at, "IPv4");

	ports = cJSON_GetObjectItemCaseSensitive(obj, "ports");
	if (ports && !cJSON_IsNull(ports)) {
		if (!cJSON_IsArray(ports))
			return fail(err, errlen, "ports is not a list");
		s->ports = calloc_items(ports, sizeof(*s->ports));
		if (!s->ports)
			return -ENOMEM;
		cJSON_ArrayForEach(it, ports) {
			struct slice_port *sp = &s->ports[s->n_ports];
			bool skip;

			if (!cJSON_IsObject(it))
				return fail(err, errlen, "ports holds a non-object");
			ret = copy_str(sp->name, sizeof(sp->name), str_of(it, "name"), "port name",
				       false, err, errlen);
			if (!ret)
				ret = parse_proto(it, &sp->proto, &skip, err, errlen);
			if (!ret)
				ret = parse_port_num(it, "port", false, &sp->port, err, errlen);
			if (ret)
				return ret;
			if (!skip)
				s->n_ports++;
		}
	}

	eps = cJSON_GetObjectItemCaseSensitive(obj, "endpoints");
	if (!eps || cJSON_IsNull(eps))
		return 0;
	if (!cJSON_IsArray(eps))
		return fail(err, errlen, "endpoints is not a list");
	s->eps = calloc_items(eps, sizeof(*s->eps));
	if (!s->eps)
		return -ENOMEM;
	cJSON_ArrayForEach(it, eps) {
		const cJSON *addrs = cJSON_GetObjectItemCaseSensitive(it, "addresses");
		const cJSON *conds = cJSON_GetObjectItemCaseSensitive(it, "conditions");
		const cJSON *first;
		struct slice_endpoint *e = &s->eps[s->n_eps];

		if (!cJSON_IsArray(addrs) || !(first = cJSON_GetArrayItem(addrs, 0)) ||
		    !cJSON_IsString(first))
			return fail(err, errlen, "endpoint without addresses");
		if (!s->ipv4)
			continue; /* parsed, carries nothing until IPv6 lands */
		/* consumers use the first address (the API's guidance) */
		if (inet_pton(AF_INET, first->valuestring, &e->addr) != 1)
			return fail(err, errlen, "bad endpoint address \"%s\"", first->valuestring);
		e->ready = cond(conds, "ready", true);
		e->serving = cond(conds, "serving", e->ready);
		e->terminating = cond(conds, "terminating", false);
		s->n_eps++;
	}
	return 0;
}

void slice_free(struct endpoint_slice *s)
{
	free(s->ns);
	free(s->name);
	free(s->service);
	free(s->ports);
	free(s->eps);
	s->ns = s->name = s->service = NULL;
	s->ports = NULL;
	s->eps = NULL;
}

/* An IPv4 or IPv6 CIDR: address/prefix, checked by inet_pton. */
static bool valid_cidr(const char *text)
{
	char addr[CIDR_TEXT_MAX];
	const char *slash = strchr(text, '/');
	unsigned char buf[16];
	char *end;
	long len;
	int family;

	if (!slash || (size_t)(slash - text) >= sizeof(addr))
		return false;
	memcpy(addr, text, (size_t)(slash - text));
	addr[slash - text] = '\0';
	family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	len = strtol(slash + 1, &end, 10);
	return inet_pton(family, addr, buf) == 1 && slash[1] && !*end && len >= 0 &&
	       len <= (family == AF_INET ? 32 : 128);
}

int node_parse(const cJSON *obj, struct node *n, char *err, size_t errlen)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(obj, "spec");
	const cJSON *status = cJSON_GetObjectItemCaseSensitive(obj, "status");
	const cJSON *cidrs = spec ? cJSON_GetObjectItemCaseSensitive(spec, "podCIDRs") : NULL;
	const cJSON *addrs = status ? cJSON_GetObjectItemCaseSensitive(status, "addresses") : NULL;
	const cJSON *it;
	const char *single;
	int ret;

	memset(n, 0, sizeof(*n));
	if (!cJSON_IsObject(meta))
		return fail(err, errlen, "metadata missing");
	if ((ret = copy_str(n->name, sizeof(n->name), str_of(meta, "name"), "metadata.name", true,
			    err, errlen)) ||
	    (ret = copy_str(n->resource_version, sizeof(n->resource_version),
			    str_of(meta, "resourceVersion"), "metadata.resourceVersion", false, err,
			    errlen)))
		return ret;
	if (cidrs && !cJSON_IsArray(cidrs))
		return fail(err, errlen, "spec.podCIDRs is not a list");
	cJSON_ArrayForEach(it, cidrs) {
		if (!cJSON_IsString(it) || !valid_cidr(it->valuestring))
			return fail(err, errlen, "spec.podCIDRs: not a CIDR");
		if (n->n_pod_cidrs == NODE_POD_CIDRS_MAX)
			return fail(err, errlen, "spec.podCIDRs: more than %d", NODE_POD_CIDRS_MAX);
		snprintf(n->pod_cidrs[n->n_pod_cidrs++], CIDR_TEXT_MAX, "%s", it->valuestring);
	}
	/* clusters older than dual-stack only set spec.podCIDR */
	single = spec ? str_of(spec, "podCIDR") : NULL;
	if (!n->n_pod_cidrs && single) {
		if (!valid_cidr(single))
			return fail(err, errlen, "spec.podCIDR: not a CIDR");
		snprintf(n->pod_cidrs[n->n_pod_cidrs++], CIDR_TEXT_MAX, "%s", single);
	}
	cJSON_ArrayForEach(it, addrs) {
		const char *type = str_of(it, "type"), *addr = str_of(it, "address");

		if (type && addr && !strcmp(type, "InternalIP") && !n->internal_ip &&
		    inet_pton(AF_INET, addr, &n->internal_ip) != 1)
			n->internal_ip = 0; /* IPv6: not used yet */
	}
	return 0;
}
