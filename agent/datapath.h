/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Loading and attaching the datapath programs the agent owns, and bringing
 * every pod already running onto them (an agent upgrade changes the
 * programs; CNI ADD only attaches new pods). Verifying them takes tens of
 * milliseconds of kernel time that does not depend on the cluster, so it
 * runs in a thread while the lists are transferred; the agent reports
 * ready only after both.
 */
#ifndef BPFNET_AGENT_DATAPATH_H
#define BPFNET_AGENT_DATAPATH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

struct agent;

struct datapath_loader {
	pthread_t thread;
	bool started, joined;
	atomic_bool finished; /* the thread is done; err is set */
	int err;
	atomic_uint endpoints_upgraded; /* pods moved onto the new program */
};

/* Start loading the programs (maps are open): 0 or a negative errno. */
int datapath_load_start(struct agent *a);
/* 1 once loaded, 0 while loading, a negative errno when loading failed;
 * @wait blocks until the thread is done. */
int datapath_load_poll(struct agent *a, bool wait);

#endif
