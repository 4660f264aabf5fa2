/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Loading and attaching the datapath programs. Every program object is
 * loaded against the pinned maps of one bpfnet_maps, so all share state.
 */
#ifndef BPFNET_LIB_LOADER_H
#define BPFNET_LIB_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include "maps.h"

struct bpf_object;
struct bpfnet_sock_skel;
struct bpfnet_lxc_skel;
struct bpfnet_sock_destroy_skel;

/* Kernel capabilities that change what the programs do. */
struct bpfnet_features {
	bool set_retval; /* bpf_set_retval (5.18+): ECONNREFUSED instead of EPERM */
	bool sk_storage; /* socket storage from sock_addr hooks: per-socket peer */
	bool sock_destroy; /* the bpf_sock_destroy kfunc (6.5+): end sockets of gone backends */
};

void bpfnet_probe_features(struct bpfnet_features *f);

/* Point every bpfnet map of @obj (opened, not loaded) at the pinned one. */
int bpfnet_obj_use_maps(struct bpf_object *obj, const struct bpfnet_maps *m);

/* Open and load; NULL with *err set on failure. Free with __destroy(). */
struct bpfnet_sock_skel *bpfnet_sock_load(const struct bpfnet_maps *m,
					   const struct bpfnet_features *f, int *err);
struct bpfnet_lxc_skel *bpfnet_lxc_load(const struct bpfnet_maps *m, int *err);
/* The UDP socket iterator that destroys sockets of gone backends (its own
 * map, no pinned ones); only where f->sock_destroy. */
struct bpfnet_sock_destroy_skel *bpfnet_sock_destroy_load(int *err);

/*
 * Attach the socket-LB programs to @cgroup_path with bpf_links pinned under
 * @pin_dir, so they stay attached after the process exits. Links already
 * pinned there are switched to the new programs in place (no gap).
 */
int bpfnet_sock_attach(struct bpfnet_sock_skel *s, const char *cgroup_path, const char *pin_dir);
/* Unpin the socket-LB links: the programs detach once nothing holds them. */
int bpfnet_sock_detach(const char *pin_dir);

/* tc clsact attach on @ifindex of the caller's netns; replaces bpfnet's
 * filter if present, leaves other filters alone. */
int bpfnet_tc_attach(int ifindex, bool ingress, int prog_fd);
int bpfnet_tc_detach(int ifindex, bool ingress);
/* The id of the program bpfnet's filter runs there; -ENOENT if none. */
int bpfnet_tc_query(int ifindex, bool ingress, __u32 *prog_id);

/*
 * Make bpfnet's filter on @ifindex run the program pinned at @pin_path now.
 * An agent that pins a new datapath re-attaches it on every endpoint it
 * finds registered; a pod attached before that pin but registered after
 * the agent's walk is brought along by calling this once registered.
 * *@changed tells whether it had to attach. 0 or a negative errno.
 */
int bpfnet_tc_follow_pin(int ifindex, bool ingress, const char *pin_path, bool *changed);

/* The id of the program @fd refers to (0 when it cannot be read). */
__u32 bpfnet_prog_id(int fd);

/* Where cgroup v2 is mounted, from /proc/mounts. */
int bpfnet_cgroup2_mount(char *buf, size_t len);

#endif
