/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Typed Kubernetes objects: v1 Service and discovery.k8s.io/v1 EndpointSlice,
 * parsed from their JSON and validated. A malformed object is rejected as a
 * whole with a message; nothing else is affected.
 */
#ifndef BPFNET_AGENT_MODEL_H
#define BPFNET_AGENT_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include <cjson/cJSON.h>

#define K8S_NS_MAX 64    /* DNS label: 63 + NUL */
#define K8S_NAME_MAX 254 /* DNS subdomain: 253 + NUL */
#define K8S_PORT_NAME_MAX 64
#define K8S_RV_MAX 32

enum service_type { SVC_CLUSTER_IP, SVC_NODE_PORT, SVC_LOAD_BALANCER, SVC_EXTERNAL_NAME };

struct service_port {
	char name[K8S_PORT_NAME_MAX]; /* "" when unnamed */
	__u8 proto;                   /* IPPROTO_TCP / IPPROTO_UDP */
	__u16 port;
	__u16 node_port;
};

struct service_vip {
	__be32 addr;
	__u32 kind; /* BPFNET_SVC_F_CLUSTER_IP / _EXTERNAL_IP / _LOADBALANCER */
};

/* Strings are allocated to fit (a cache of 10,000 objects with fixed-size
 * buffers was ~10 MB); the K8S_*_MAX limits are still enforced. */
struct service {
	char *ns;
	char *name;
	enum service_type type;
	bool headless;
	struct service_vip *vips; /* IPv4 only; IPv6 addresses are skipped */
	size_t n_vips;
	struct service_port *ports; /* TCP and UDP; SCTP ports are skipped */
	size_t n_ports;
	bool affinity_client_ip;
	__u32 affinity_timeout_s;
	bool internal_local; /* internalTrafficPolicy: Local */
	bool external_local; /* externalTrafficPolicy: Local */
};

struct slice_port {
	char name[K8S_PORT_NAME_MAX];
	__u8 proto;
	__u16 port; /* 0: the slice gave no port (matches nothing) */
};

struct slice_endpoint {
	__be32 addr;
	bool ready, serving, terminating;
};

struct endpoint_slice {
	char *ns;
	char *name;
	char *service; /* label kubernetes.io/service-name; "" if none */
	bool ipv4;                  /* addressType IPv4; IPv6/FQDN slices carry nothing */
	struct slice_port *ports;
	size_t n_ports;
	struct slice_endpoint *eps;
	size_t n_eps;
};

#define NODE_POD_CIDRS_MAX 2 /* one per family */
#define CIDR_TEXT_MAX 48

/* v1 Node: what the dataplane needs of it. Cluster-scoped: the key is the name. */
struct node {
	char name[K8S_NAME_MAX];
	char resource_version[K8S_RV_MAX];
	char pod_cidrs[NODE_POD_CIDRS_MAX][CIDR_TEXT_MAX]; /* spec.podCIDRs as given */
	size_t n_pod_cidrs;
	__be32 internal_ip; /* status.addresses InternalIP (IPv4), 0 if none */
};

/* 0, or -EINVAL with a reason in @err. @out is freed by the caller either way. */
int service_parse(const cJSON *obj, struct service *out, char *err, size_t errlen);
void service_free(struct service *s);
int slice_parse(const cJSON *obj, struct endpoint_slice *out, char *err, size_t errlen);
void slice_free(struct endpoint_slice *s);
int node_parse(const cJSON *obj, struct node *out, char *err, size_t errlen);

/* "namespace/name" */
void object_key(char *buf, size_t len, const char *ns, const char *name);

#endif
