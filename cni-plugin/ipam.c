// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "ipam.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define LAST_FILE "last_reserved_ip.0"

static int mkdir_p(const char *path)
{
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

int ipam_init(struct ipam *p, const char *data_dir, const char *network, __be32 net, int prefix)
{
	memset(p, 0, sizeof(*p));
	p->lock_fd = -1;
	/* prefix 0: no subnet known; enough to find, release and collect */
	if ((prefix && (prefix < 8 || prefix > 30)) || strchr(network, '/') || !*network ||
	    network[0] == '.')
		return -EINVAL;
	if (snprintf(p->dir, sizeof(p->dir), "%s/%s", data_dir, network) >= (int)sizeof(p->dir))
		return -ENAMETOOLONG;
	p->net = prefix ? net & htonl(~0u << (32 - prefix)) : 0;
	p->prefix = prefix;
	return 0;
}

int ipam_lock(struct ipam *p)
{
	char path[PATH_MAX + 8];
	int err = mkdir_p(p->dir);

	if (err)
		return err;
	snprintf(path, sizeof(path), "%s/lock", p->dir);
	p->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (p->lock_fd < 0)
		return -errno;
	while (flock(p->lock_fd, LOCK_EX)) {
		if (errno != EINTR) {
			err = -errno;
			close(p->lock_fd);
			p->lock_fd = -1;
			return err;
		}
	}
	return 0;
}

void ipam_unlock(struct ipam *p)
{
	if (p->lock_fd >= 0)
		close(p->lock_fd); /* releases the flock */
	p->lock_fd = -1;
}

/* "cid\nifname\n" of one allocation file. */
static int read_owner(struct ipam *p, const char *name, char *cid, size_t cidlen, char *ifname,
		      size_t iflen)
{
	char path[PATH_MAX + 32], buf[1024];
	FILE *f;
	char *nl;

	snprintf(path, sizeof(path), "%s/%s", p->dir, name);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return -EINVAL;
	}
	if ((nl = strchr(buf, '\n')))
		*nl = '\0';
	snprintf(cid, cidlen, "%s", buf);
	ifname[0] = '\0';
	if (fgets(buf, sizeof(buf), f)) {
		if ((nl = strchr(buf, '\n')))
			*nl = '\0';
		snprintf(ifname, iflen, "%s", buf);
	}
	fclose(f);
	return 0;
}

/* Allocation files are the ones named like an address. */
static bool is_addr_file(const char *name, __be32 *addr)
{
	return inet_pton(AF_INET, name, addr) == 1;
}

int ipam_find(struct ipam *p, const char *cid, const char *ifname, __be32 *addr)
{
	DIR *d = opendir(p->dir);
	struct dirent *de;
	char c[512], i[64];
	int ret = -ENOENT;

	if (!d)
		return errno == ENOENT ? -ENOENT : -errno;
	while ((de = readdir(d))) {
		__be32 a;

		if (!is_addr_file(de->d_name, &a) ||
		    read_owner(p, de->d_name, c, sizeof(c), i, sizeof(i)))
			continue;
		if (!strcmp(c, cid) && !strcmp(i, ifname)) {
			*addr = a;
			ret = 0;
			break;
		}
	}
	closedir(d);
	return ret;
}

/* A rename or unlink is durable only once its directory is: an allocation
 * must not come back, or vanish, after a power cut. */
static int sync_dir(struct ipam *p)
{
	int fd = open(p->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd))
		err = -errno;
	close(fd);
	return err;
}

static int write_atomic(struct ipam *p, const char *name, const char *text)
{
	char path[PATH_MAX + 32], tmp[PATH_MAX + 40];
	int fd;
	size_t len = strlen(text);

	snprintf(path, sizeof(path), "%s/%s", p->dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len || fsync(fd)) {
		int err = -errno;

		close(fd);
		unlink(tmp);
		return err ? err : -EIO;
	}
	close(fd);
	if (rename(tmp, path)) {
		int err = -errno;

		unlink(tmp);
		return err;
	}
	return sync_dir(p);
}

int ipam_allocate(struct ipam *p, const char *cid, const char *ifname, __be32 *addr)
{
	__u32 base = ntohl(p->net), size = 1u << (32 - p->prefix), start = 0;
	char name[INET_ADDRSTRLEN], owner[600], path[PATH_MAX + 32];
	FILE *f;
	int err;

	if (!ipam_find(p, cid, ifname, addr))
		return 0; /* the same ADD again: same answer */
	if (!p->prefix)
		return -EINVAL;
	/* continue after the last address handed out, as host-local does,
	 * so a just-released address is not reused at once */
	snprintf(path, sizeof(path), "%s/" LAST_FILE, p->dir);
	f = fopen(path, "r");
	if (f) {
		if (fgets(name, sizeof(name), f)) {
			__be32 last;

			name[strcspn(name, "\n")] = '\0';
			if (inet_pton(AF_INET, name, &last) == 1 && (ntohl(last) & ~(size - 1)) == base)
				start = ntohl(last) - base;
		}
		fclose(f);
	}
	for (__u32 i = 1; i <= size; i++) {
		__u32 off = (start + i) % size;
		__be32 a = htonl(base + off);

		/* the network and broadcast addresses (the pods' gateway is
		 * link-local: the node needs no address here) */
		if (off == 0 || off == size - 1)
			continue;
		inet_ntop(AF_INET, &a, name, sizeof(name));
		snprintf(path, sizeof(path), "%s/%s", p->dir, name);
		if (access(path, F_OK) == 0)
			continue;
		snprintf(owner, sizeof(owner), "%s\n%s\n", cid, ifname);
		if ((err = write_atomic(p, name, owner)))
			return err;
		write_atomic(p, LAST_FILE, name);
		*addr = a;
		return 0;
	}
	return -ENOSPC;
}

int ipam_release(struct ipam *p, const char *cid, const char *ifname, __be32 *released)
{
	char name[INET_ADDRSTRLEN], path[PATH_MAX + 32];
	__be32 a;
	int err = ipam_find(p, cid, ifname, &a);

	if (released)
		*released = 0;
	if (err == -ENOENT)
		return 0;
	if (err)
		return err;
	inet_ntop(AF_INET, &a, name, sizeof(name));
	snprintf(path, sizeof(path), "%s/%s", p->dir, name);
	if (unlink(path) && errno != ENOENT)
		return -errno;
	if (released)
		*released = a;
	return sync_dir(p);
}

int ipam_release_anywhere(const char *data_dir, const char *cid, const char *ifname,
			  __be32 *released)
{
	DIR *d = opendir(data_dir);
	struct dirent *de;
	int err = 0;

	*released = 0;
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while (!*released && !err && (de = readdir(d))) {
		struct ipam p;

		if (de->d_name[0] == '.' || de->d_type != DT_DIR ||
		    ipam_init(&p, data_dir, de->d_name, 0, 0))
			continue;
		if ((err = ipam_lock(&p)))
			break;
		err = ipam_release(&p, cid, ifname, released);
		ipam_unlock(&p);
	}
	closedir(d);
	return err;
}

int ipam_gc(struct ipam *p, const struct ipam_attachment *valid, size_t n_valid, ipam_gone_fn gone,
	    void *arg)
{
	DIR *d = opendir(p->dir);
	struct dirent *de;
	char c[512], i[64], path[PATH_MAX + 300];

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		bool keep = false;
		__be32 a;

		if (!is_addr_file(de->d_name, &a) ||
		    read_owner(p, de->d_name, c, sizeof(c), i, sizeof(i)))
			continue;
		for (size_t k = 0; k < n_valid && !keep; k++)
			keep = !strcmp(valid[k].container_id, c) && !strcmp(valid[k].ifname, i);
		if (keep)
			continue;
		snprintf(path, sizeof(path), "%s/%s", p->dir, de->d_name);
		if (unlink(path) == 0 && gone)
			gone(arg, c, i, a);
	}
	closedir(d);
	return 0;
}
