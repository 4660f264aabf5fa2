// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "datapath.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agent.h"
#include "bpfnet_lxc.skel.h"
#include "bpfnet_sock.skel.h"
#include "loader.h"

/* Pin @prog under @name atomically: a CNI plugin never sees a missing pin. */
static int pin_program(const char *pin_dir, const char *name, struct bpf_program *prog)
{
	char path[4200], tmp[4300];

	snprintf(path, sizeof(path), "%s/%s", pin_dir, name);
	snprintf(tmp, sizeof(tmp), "%s_new", path); /* bpffs names cannot hold dots */
	unlink(tmp);
	if (bpf_obj_pin(bpf_program__fd(prog), tmp))
		return -errno;
	if (rename(tmp, path)) {
		int err = -errno;

		unlink(tmp);
		return err;
	}
	return 0;
}

struct reattach {
	int prog_fd;
	__u32 prog_id;
	unsigned int moved, current, failed;
};

static int reattach_one(const void *key, const void *val, void *arg)
{
	const struct bpfnet_endpoint *ep = val;
	struct reattach *r = arg;
	__u32 running = 0;
	int err;

	(void)key;
	/* only veths that run bpfnet's filter: one that went away, or an
	 * index some other interface has now, is left alone */
	if (bpfnet_tc_query((int)ep->ifindex, true, &running))
		return 0;
	if (running == r->prog_id) {
		r->current++;
		return 0;
	}
	/* cls_bpf swaps the program of an existing filter in one step:
	 * every packet runs either the old program or the new one */
	err = bpfnet_tc_attach((int)ep->ifindex, true, r->prog_fd);
	if (err) {
		r->failed++;
		log_msg(LOG_WARN, "datapath upgrade failed on an endpoint", "ifindex=%u err=%d",
			ep->ifindex, err);
		return 0;
	}
	r->moved++;
	return 0;
}

/* Bring every registered pod onto the program just pinned: CNI ADD alone
 * attaches, so without this an agent upgrade would never reach the pods
 * already running (and CNI CHECK would fail for each of them). */
static void reattach_endpoints(struct agent *a, struct bpf_program *prog)
{
	struct reattach r = { .prog_fd = bpf_program__fd(prog) };
	int err;

	r.prog_id = bpfnet_prog_id(r.prog_fd);
	err = bpfnet_map_iterate(&a->maps, BPFNET_M_ENDPOINT, reattach_one, &r);
	if (err)
		log_msg(LOG_WARN, "endpoints not walked", "err=%d", err);
	atomic_store(&a->loader.endpoints_upgraded, r.moved);
	log_msg(LOG_INFO, "datapath on endpoints", "upgraded=%u current=%u failed=%u prog_id=%u",
		r.moved, r.current, r.failed, r.prog_id);
}

/* Runs in the loader thread: reads a->cfg and the map fds, which the main
 * thread does not change, and nothing else of @a. */
/* Every program runs on the current maps now: the old layout's last
 * entries come over and its pins go. */
static void retire_old_maps(struct agent *a)
{
	struct bpfnet_migration mig;
	int err = bpfnet_maps_migrate(&a->maps, true, &mig);

	if (err)
		log_msg(LOG_WARN, "maps of an older layout not retired", "err=%d", err);
	else if (mig.maps_found)
		log_msg(LOG_INFO, "maps of an older layout retired", "maps=%u entries=%lu skipped=%lu",
			mig.maps_retired, mig.copied, mig.skipped);
}

static int load_datapath(struct agent *a)
{
	struct bpfnet_features feat;
	struct bpfnet_lxc_skel *lxc;
	struct bpfnet_sock_skel *sock;
	char cg[4096];
	int err;

	bpfnet_probe_features(&feat);
	lxc = bpfnet_lxc_load(&a->maps, &err);
	if (!lxc) {
		log_msg(LOG_ERROR, "load failed", "object=bpf_lxc err=%d", err);
		return err;
	}
	err = pin_program(a->cfg.pin_dir, BPFNET_PROG_FROM_CONTAINER, lxc->progs.from_container);
	if (err) {
		bpfnet_lxc_skel__destroy(lxc);
		log_msg(LOG_ERROR, "pin failed", "program=from_container err=%d", err);
		return err;
	}
	reattach_endpoints(a, lxc->progs.from_container);
	bpfnet_lxc_skel__destroy(lxc);
	/* flows an old datapath opened since the agent started: they must be
	 * in the new tables before their next packet, which the pods' new
	 * program handles now */
	{
		struct bpfnet_migration mig;

		bpfnet_maps_migrate(&a->maps, false, &mig);
	}
	if (!strcmp(a->cfg.cgroup, "none")) {
		log_msg(LOG_INFO, "socket LB off", "reason=\"--cgroup none\"");
		retire_old_maps(a);
		return 0;
	}
	if (a->cfg.cgroup[0])
		snprintf(cg, sizeof(cg), "%s", a->cfg.cgroup);
	else if ((err = bpfnet_cgroup2_mount(cg, sizeof(cg)))) {
		log_msg(LOG_ERROR, "no cgroup2 mount", "err=%d", err);
		return err;
	}
	sock = bpfnet_sock_load(&a->maps, &feat, &err);
	if (!sock) {
		log_msg(LOG_ERROR, "load failed", "object=bpf_sock err=%d", err);
		return err;
	}
	err = bpfnet_sock_attach(sock, cg, a->cfg.pin_dir);
	bpfnet_sock_skel__destroy(sock);
	if (err) {
		log_msg(LOG_ERROR, "attach failed", "cgroup=%s err=%d", cg, err);
		return err;
	}
	log_msg(LOG_INFO, "datapath loaded", "cgroup=%s set_retval=%d sk_storage=%d", cg,
		feat.set_retval, feat.sk_storage);
	retire_old_maps(a);
	return 0;
}

static void *loader_main(void *arg)
{
	struct agent *a = arg;

	a->loader.err = load_datapath(a);
	atomic_store(&a->loader.finished, true);
	return NULL;
}

int datapath_load_start(struct agent *a)
{
	int err = pthread_create(&a->loader.thread, NULL, loader_main, a);

	if (err) {
		log_msg(LOG_ERROR, "loader thread", "error=\"%s\"", strerror(err));
		return -err;
	}
	a->loader.started = true;
	return 0;
}

int datapath_load_poll(struct agent *a, bool wait)
{
	struct datapath_loader *l = &a->loader;

	if (!l->started)
		return -EINVAL;
	if (!l->joined) {
		if (!wait && !atomic_load(&l->finished))
			return 0;
		pthread_join(l->thread, NULL);
		l->joined = true;
	}
	return l->err ? l->err : 1;
}
