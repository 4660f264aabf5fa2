// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "loader.h"

#include <errno.h>
#include <fcntl.h>
#include <mntent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "bpfnet_lxc.skel.h"
#include "bpfnet_sock.skel.h"
#include "bpfnet_sock_destroy.skel.h"

/* bpfnet's tc filter identity on every interface it owns */
#define BPFNET_TC_HANDLE 0xb9f
#define BPFNET_TC_PRIO 1

void bpfnet_probe_features(struct bpfnet_features *f)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();

	f->set_retval = libbpf_probe_bpf_helper(BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
						BPF_FUNC_set_retval, NULL) == 1;
	f->sk_storage = libbpf_probe_bpf_helper(BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
						BPF_FUNC_sk_storage_get, NULL) == 1;
	/* a kfunc is there when the kernel's BTF has it */
	f->sock_destroy = vmlinux &&
			  btf__find_by_name_kind(vmlinux, "bpf_sock_destroy", BTF_KIND_FUNC) > 0;
	btf__free(vmlinux);
}

int bpfnet_obj_use_maps(struct bpf_object *obj, const struct bpfnet_maps *m)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj) {
		int id = bpfnet_map_id_by_name(bpf_map__name(map));
		int err;

		if (id < 0)
			continue; /* .rodata and other object-private maps */
		if (m->fd[id] < 0)
			return -EBADF;
		err = bpf_map__reuse_fd(map, m->fd[id]);
		if (err)
			return err;
	}
	return 0;
}

struct bpfnet_sock_skel *bpfnet_sock_load(const struct bpfnet_maps *m,
					   const struct bpfnet_features *f, int *err)
{
	struct bpfnet_sock_skel *s = bpfnet_sock_skel__open();

	if (!s) {
		*err = -errno;
		return NULL;
	}
	s->rodata->cfg_has_set_retval = f->set_retval;
	s->rodata->cfg_has_sk_storage = f->sk_storage;
	s->rodata->cfg_sock_pending_slots = m->max_entries[BPFNET_M_SOCK_PENDING];
	*err = bpfnet_obj_use_maps(s->obj, m);
	if (!*err)
		*err = bpfnet_sock_skel__load(s);
	if (*err) {
		bpfnet_sock_skel__destroy(s);
		return NULL;
	}
	return s;
}

struct bpfnet_lxc_skel *bpfnet_lxc_load(const struct bpfnet_maps *m, int *err)
{
	struct bpfnet_lxc_skel *s = bpfnet_lxc_skel__open();

	if (!s) {
		*err = -errno;
		return NULL;
	}
	*err = bpfnet_obj_use_maps(s->obj, m);
	if (!*err)
		*err = bpfnet_lxc_skel__load(s);
	if (*err) {
		bpfnet_lxc_skel__destroy(s);
		return NULL;
	}
	return s;
}

struct bpfnet_sock_destroy_skel *bpfnet_sock_destroy_load(int *err)
{
	struct bpfnet_sock_destroy_skel *s = bpfnet_sock_destroy_skel__open_and_load();

	*err = s ? 0 : -errno;
	return s;
}

static const char *const sock_link_pins[] = {
	"link_sock_connect4_v1",
	"link_sock_sendmsg4_v1",
	"link_sock_recvmsg4_v1",
	"link_sock_getpeername4_v1",
	"link_sock_connect6_v1",
	"link_sock_sendmsg6_v1",
	"link_sock_recvmsg6_v1",
	"link_sock_getpeername6_v1",
};

static int sock_attach_one(struct bpf_program *prog, int cg_fd, const char *pin)
{
	struct bpf_link *link;
	int err, fd;

	fd = bpf_obj_get(pin);
	if (fd >= 0) {
		/* an earlier agent's link: swap the program, never detach */
		err = bpf_link_update(fd, bpf_program__fd(prog), NULL);
		close(fd);
		return err ? -errno : 0;
	}
	link = bpf_program__attach_cgroup(prog, cg_fd);
	if (!link)
		return -errno;
	err = bpf_link__pin(link, pin);
	bpf_link__destroy(link); /* the pin keeps it attached */
	return err;
}

int bpfnet_sock_attach(struct bpfnet_sock_skel *s, const char *cgroup_path, const char *pin_dir)
{
	struct bpf_program *progs[] = {
		s->progs.sock_connect4,
		s->progs.sock_sendmsg4,
		s->progs.sock_recvmsg4,
		s->progs.sock_getpeername4,
		s->progs.sock_connect6,
		s->progs.sock_sendmsg6,
		s->progs.sock_recvmsg6,
		s->progs.sock_getpeername6,
	};
	_Static_assert(sizeof(progs) / sizeof(progs[0]) ==
		       sizeof(sock_link_pins) / sizeof(sock_link_pins[0]), "a pin per program");
	char pin[PATH_MAX];
	int cg_fd, err = 0;

	cg_fd = open(cgroup_path, O_RDONLY | O_DIRECTORY);
	if (cg_fd < 0)
		return -errno;
	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]) && !err; i++) {
		if (snprintf(pin, sizeof(pin), "%s/%s", pin_dir, sock_link_pins[i]) >=
		    (int)sizeof(pin))
			err = -ENAMETOOLONG;
		else
			err = sock_attach_one(progs[i], cg_fd, pin);
	}
	close(cg_fd);
	if (err)
		bpfnet_sock_detach(pin_dir);
	return err;
}

int bpfnet_sock_detach(const char *pin_dir)
{
	char pin[PATH_MAX];
	int err = 0;

	for (size_t i = 0; i < sizeof(sock_link_pins) / sizeof(sock_link_pins[0]); i++) {
		snprintf(pin, sizeof(pin), "%s/%s", pin_dir, sock_link_pins[i]);
		if (unlink(pin) && errno != ENOENT)
			err = -errno;
	}
	return err;
}

int bpfnet_tc_attach(int ifindex, bool ingress, int prog_fd)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = BPFNET_TC_HANDLE,
			    .priority = BPFNET_TC_PRIO, .prog_fd = prog_fd,
			    .flags = BPF_TC_F_REPLACE);
	int err = bpf_tc_hook_create(&hook);

	if (err && err != -EEXIST)
		return err;
	return bpf_tc_attach(&hook, &opts);
}

int bpfnet_tc_detach(int ifindex, bool ingress)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = BPFNET_TC_HANDLE,
			    .priority = BPFNET_TC_PRIO);
	int err = bpf_tc_detach(&hook, &opts);

	return err == -ENOENT ? 0 : err;
}

int bpfnet_tc_query(int ifindex, bool ingress, __u32 *prog_id)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = BPFNET_TC_HANDLE,
			    .priority = BPFNET_TC_PRIO);
	int err = bpf_tc_query(&hook, &opts);

	if (!err)
		*prog_id = opts.prog_id;
	return err;
}

__u32 bpfnet_prog_id(int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

int bpfnet_tc_follow_pin(int ifindex, bool ingress, const char *pin_path, bool *changed)
{
	*changed = false;
	/* the pin may move on while we attach: a few rounds settle it */
	for (int round = 0; round < 4; round++) {
		__u32 attached = 0, pinned;
		int fd = bpf_obj_get(pin_path), err;

		if (fd < 0)
			return -errno;
		pinned = bpfnet_prog_id(fd);
		err = bpfnet_tc_query(ifindex, ingress, &attached);
		if (!err && attached == pinned) {
			close(fd);
			return 0;
		}
		err = bpfnet_tc_attach(ifindex, ingress, fd);
		close(fd);
		if (err)
			return err;
		*changed = true;
	}
	return -EAGAIN;
}

int bpfnet_cgroup2_mount(char *buf, size_t len)
{
	struct mntent *ent;
	FILE *f = setmntent("/proc/mounts", "r");
	int err = -ENOENT;

	if (!f)
		return -errno;
	while ((ent = getmntent(f))) {
		if (strcmp(ent->mnt_type, "cgroup2"))
			continue;
		if (strlen(ent->mnt_dir) >= len) {
			err = -ENAMETOOLONG;
			break;
		}
		strcpy(buf, ent->mnt_dir);
		err = 0;
		break;
	}
	endmntent(f);
	return err;
}
