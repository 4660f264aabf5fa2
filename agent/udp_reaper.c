// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "udp_reaper.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfnet_sock_destroy.skel.h"
#include "loader.h"
#include "log.h"

struct sock_target {
	__be32 addr;
	__be16 port;
	__u16 pad0;
};

int udp_reaper_init(struct udp_reaper *r, const char *state_dir, bool supported)
{
	struct bpf_link *link;
	int err;

	memset(r, 0, sizeof(*r));
	r->link_fd = -1;
	snprintf(r->pods_dir, sizeof(r->pods_dir), "%s/" UDP_REAPER_PODS_DIR, state_dir);
	if (!supported) {
		log_msg(LOG_INFO, "connected UDP sockets to removed backends stay connected",
			"reason=\"kernel has no bpf_sock_destroy (6.5+)\"");
		return 0;
	}
	r->skel = bpfnet_sock_destroy_load(&err);
	if (!r->skel) {
		log_msg(LOG_WARN, "connected UDP sockets to removed backends stay connected",
			"reason=\"iterator did not load\" err=%d", err);
		return 0;
	}
	link = bpf_program__attach_iter(r->skel->progs.destroy_udp_to_gone_backends, NULL);
	if (!link) {
		log_msg(LOG_WARN, "connected UDP sockets to removed backends stay connected",
			"reason=\"iterator did not attach\" err=%d", -errno);
		bpfnet_sock_destroy_skel__destroy(r->skel);
		r->skel = NULL;
		return 0;
	}
	r->link_fd = dup(bpf_link__fd(link));
	bpf_link__destroy(link);
	return 0;
}

void udp_reaper_free(struct udp_reaper *r)
{
	if (r->link_fd >= 0)
		close(r->link_fd);
	bpfnet_sock_destroy_skel__destroy(r->skel);
	r->skel = NULL;
	r->link_fd = -1;
}

bool udp_reaper_active(const struct udp_reaper *r)
{
	return r->skel && r->link_fd >= 0;
}

/* One pass over the UDP sockets of the namespace this thread is in. */
static int iterate_here(int link_fd)
{
	char buf[256];
	int fd = bpf_iter_create(link_fd), err = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	if (n < 0)
		err = -errno;
	close(fd);
	return err;
}

/* Each pod's namespace, as the CNI plugin recorded its path; a pod that
 * went meanwhile is skipped. */
static int iterate_pods(struct udp_reaper *r)
{
	DIR *d = opendir(r->pods_dir);
	struct dirent *de;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		char rec[4500], path[4096];
		FILE *f;
		int ns;

		if (de->d_name[0] == '.')
			continue;
		snprintf(rec, sizeof(rec), "%s/%s", r->pods_dir, de->d_name);
		f = fopen(rec, "r");
		if (!f)
			continue;
		if (!fgets(path, sizeof(path), f)) {
			fclose(f);
			continue;
		}
		fclose(f);
		path[strcspn(path, "\n")] = '\0';
		ns = open(path, O_RDONLY | O_CLOEXEC);
		if (ns < 0)
			continue; /* the pod went meanwhile */
		if (setns(ns, CLONE_NEWNET)) {
			close(ns);
			continue;
		}
		close(ns);
		iterate_here(r->link_fd);
	}
	closedir(d);
	return 0;
}

int udp_reaper_run(struct udp_reaper *r, const struct bpfnet_backend *gone, size_t n,
		   unsigned long *destroyed)
{
	int map = -1, home = -1, err = 0;
	__u64 before;
	__u8 one = 1;

	*destroyed = 0;
	if (!udp_reaper_active(r) || !n)
		return 0;
	map = bpf_map__fd(r->skel->maps.sock_doomed);
	for (size_t i = 0; i < n; i++) {
		struct sock_target t = { gone[i].addr, gone[i].port, 0 };

		if (gone[i].proto == IPPROTO_UDP)
			bpf_map_update_elem(map, &t, &one, BPF_ANY);
	}
	before = r->skel->bss->destroyed;
	/* this thread visits the pods' namespaces and comes back */
	home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (home < 0) {
		err = -errno;
		goto out;
	}
	err = iterate_here(r->link_fd);
	if (!err)
		err = iterate_pods(r);
	if (setns(home, CLONE_NEWNET)) {
		/* a thread left in a pod's namespace would be worse than none */
		log_msg(LOG_ERROR, "cannot return to the agent's network namespace", "errno=%d",
			errno);
		abort();
	}
	*destroyed = r->skel->bss->destroyed - before;
out:
	if (home >= 0)
		close(home);
	for (size_t i = 0; i < n; i++) {
		struct sock_target t = { gone[i].addr, gone[i].port, 0 };

		bpf_map_delete_elem(map, &t);
	}
	return err;
}
