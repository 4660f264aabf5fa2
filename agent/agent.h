/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* bpfnetd: the one struct that holds the agent's state. */
#ifndef BPFNET_AGENT_H
#define BPFNET_AGENT_H

#include <stdbool.h>
#include <sys/stat.h>

#include "apply.h"
#include "conntrack.h"
#include "datapath.h"
#include "htab.h"
#include "http.h"
#include "kube_watch.h"
#include "log.h"
#include "maps.h"
#include "reconcile.h"
#include "store.h"

struct agent_config {
	char services_file[4096];
	char kubeconfig[4096];
	char api_server[512];
	char pin_dir[4096];
	char cgroup[4096]; /* "none": no socket LB */
	char http_addr[128];
	char node_name[256];
	const char *node_name_from;    /* "flag", "NODE_NAME" or "hostname" */
	char serviceaccount_dir[4096]; /* in-cluster credentials */
	char state_dir[4096];          /* files the CNI plugin reads (node.json) */
	unsigned k8s_page_size;        /* list page size (limit) */
	unsigned k8s_watch_timeout_s;  /* timeoutSeconds asked of each watch */
	unsigned ct_gc_interval_s;     /* a full conntrack sweep this often */
	bool k8s_insecure_http;        /* accept an http:// API server */
	enum log_level log_level;
	struct bpfnet_map_sizes sizes; /* 0 = the library's default */
	bool ct_other_sized;           /* --max-conntrack-other given */
};

/* event-to-map latency buckets, seconds */
#define LATENCY_BUCKETS 10
extern const double latency_bounds[LATENCY_BUCKETS];

struct agent_metrics {
	unsigned long rejected_services, rejected_slices, rejected_other;
	unsigned long full_syncs, service_syncs, source_errors;
	unsigned long api_errors, api_reconnects, api_relists, api_events;
	unsigned long latency_count[LATENCY_BUCKETS + 1]; /* +Inf last */
	double latency_sum;
	unsigned long latency_n;
};

struct file_source {
	struct stat last;
	bool seen;
	struct htab digests; /* object key -> content digest (uintptr_t) */
};

struct agent {
	struct agent_config cfg;
	struct bpfnet_maps maps;
	struct store store;
	struct reconciler rec;
	struct agent_metrics metrics;
	struct file_source file;
	struct kube_source kube;
	struct datapath_loader loader;
	struct ct_worker ct;  /* conntrack sweeps, in their own thread */
	struct http_server http;
	bool synced;          /* first full sync done */
	bool datapath_loaded; /* programs loaded, pinned and attached */
	bool ready;           /* both: /readyz says so */
	bool own_node_missing_logged;
	volatile int *stop;
};

/* Recompute the services @aff names from the store and write the
 * differences (new ones batched); @since is when the change that caused it
 * was seen (for the latency). Ids freed meanwhile are flushed from
 * conntrack once the agent has synced (before that, the full sync does it). */
void agent_publish(struct agent *a, const struct affected *aff, double since);
/* The same for every cached service (a first sync: no list of keys held). */
void agent_publish_all(struct agent *a, double since);
/* Hand ids freed since the last call to the conntrack worker, and make
 * those of finished flushes reusable. */
void agent_flush_freed(struct agent *a);
/* After a complete view of the cluster: sweep what nothing claims. */
void agent_full_sync_done(struct agent *a);
/* Ready once synced and the datapath is loaded: logs it the first time. */
void agent_check_ready(struct agent *a);
double agent_now(void);
/* Our own Node changed: publish its pod CIDRs for the CNI plugin. */
void agent_own_node_changed(struct agent *a, const struct node *n);
/* A complete list of Nodes arrived: say so when ours is not among them. */
void agent_nodes_listed(struct agent *a);

/* services file: re-read when it changed */
int file_source_poll(struct agent *a);
void file_source_free(struct file_source *f);


#endif
