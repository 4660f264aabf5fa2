// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * ADD, DEL, CHECK, STATUS and GC.
 *
 * Wiring, and why: the pod gets its address as a /32 and a default route
 * via 169.254.1.1, a link-local next hop that a permanent neighbour entry
 * maps to the host veth's MAC. No address is spent on gateways, no bridge
 * or ARP is involved, and every packet the pod sends reaches the host veth
 * where bpfnet's tc program sees it. The host routes the pod's /32 to the
 * veth, and the endpoints map tells the datapath where the pod is, so it
 * can deliver to the pod directly.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "cni.h"
#include "ipam.h"
#include "loader.h"
#include "maps.h"
#include "netlink.h"

#define DEFAULT_MTU 1500

void cni_host_ifname(const char *cid, const char *ifname, char out[16])
{
	unsigned long long h = 14695981039346656037ull; /* FNV-1a 64 */
	const char *parts[] = { cid, "/", ifname };

	for (int i = 0; i < 3; i++)
		for (const unsigned char *p = (const unsigned char *)parts[i]; *p; p++)
			h = (h ^ *p) * 1099511628211ull;
	snprintf(out, 16, "lxc%011llx", h & 0xfffffffffffull);
}

static void fmt_mac(char *buf, const unsigned char m[6])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

/* ---- the pod CIDR: static in the config, else what the agent wrote ---- */

static int load_subnet(struct cni_req *r, struct cni_error *e)
{
	char path[PATH_MAX + 16], buf[4096];
	const cJSON *cidrs, *it;
	cJSON *doc;
	size_t n;
	FILE *f;

	if (r->subnet_prefix)
		return 0;
	snprintf(path, sizeof(path), "%s/node.json", r->state_dir);
	f = fopen(path, "r");
	if (!f)
		return cni_fail(e, CNI_ERR_TRY_AGAIN, path,
				"no pod CIDR yet: ipam.subnet is not set and bpfnetd has not "
				"written this node's podCIDRs");
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	doc = cJSON_Parse(buf);
	cidrs = doc ? cJSON_GetObjectItemCaseSensitive(doc, "podCIDRs") : NULL;
	cJSON_ArrayForEach(it, cidrs) {
		char text[64], *slash, *end;
		long len;

		if (!cJSON_IsString(it) || strlen(it->valuestring) >= sizeof(text))
			continue;
		strcpy(text, it->valuestring);
		slash = strchr(text, '/');
		if (!slash || strchr(text, ':'))
			continue; /* IPv6 comes later */
		*slash = '\0';
		len = strtol(slash + 1, &end, 10);
		if (inet_pton(AF_INET, text, &r->subnet) == 1 && !*end && len >= 8 && len <= 30) {
			r->subnet_prefix = (int)len;
			break;
		}
	}
	cJSON_Delete(doc);
	if (!r->subnet_prefix)
		return cni_fail(e, CNI_ERR_TRY_AGAIN, path, "node.json has no usable IPv4 pod CIDR");
	return 0;
}

/* ---- delegated IPAM: another plugin, run as the spec says ---- */

static int run_delegate(struct cni_req *r, const char *command, cJSON **result, struct cni_error *e)
{
	char path[PATH_MAX], *dirs, *save = NULL, out[65536];
	int in_pipe[2], out_pipe[2], status;
	size_t n = 0;
	ssize_t got;
	pid_t pid;

	path[0] = '\0';
	dirs = strdup(r->cni_path);
	for (char *d = dirs ? strtok_r(dirs, ":", &save) : NULL; d; d = strtok_r(NULL, ":", &save)) {
		snprintf(path, sizeof(path), "%s/%s", d, r->ipam_type);
		if (access(path, X_OK) == 0)
			break;
		path[0] = '\0';
	}
	free(dirs);
	if (!path[0])
		return cni_fail(e, CNI_ERR_INVALID_CONFIG, r->cni_path,
				"IPAM plugin %s not found in CNI_PATH", r->ipam_type);
	if (pipe2(in_pipe, O_CLOEXEC) || pipe2(out_pipe, O_CLOEXEC))
		return cni_fail(e, CNI_ERR_DELEGATE, strerror(errno), "pipe failed");
	pid = fork();
	if (pid == 0) {
		dup2(in_pipe[0], 0);
		dup2(out_pipe[1], 1);
		setenv("CNI_COMMAND", command, 1);
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	close(in_pipe[0]);
	close(out_pipe[1]);
	/* a plugin that stops reading early answers for itself (SIGPIPE is ignored) */
	(void)!write(in_pipe[1], r->stdin_text, r->stdin_len);
	close(in_pipe[1]);
	while (n < sizeof(out) - 1 && (got = read(out_pipe[0], out + n, sizeof(out) - 1 - n)) > 0)
		n += (size_t)got;
	out[n] = '\0';
	close(out_pipe[0]);
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return cni_fail(e, CNI_ERR_DELEGATE, strerror(errno), "could not run %s", path);
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		cJSON *err = cJSON_Parse(out);
		const cJSON *msg = err ? cJSON_GetObjectItemCaseSensitive(err, "msg") : NULL;

		cni_fail(e, CNI_ERR_DELEGATE, out, "IPAM plugin %s %s failed: %s", r->ipam_type, command,
			 cJSON_IsString(msg) ? msg->valuestring : "no error object");
		cJSON_Delete(err);
		return -1;
	}
	if (result) {
		*result = cJSON_Parse(out);
		if (!*result)
			return cni_fail(e, CNI_ERR_DELEGATE, out, "IPAM plugin %s answered no JSON",
					r->ipam_type);
	}
	return 0;
}

/* The first IPv4 address of an IPAM result. */
static int delegate_addr(const cJSON *res, __be32 *addr)
{
	const cJSON *ips = cJSON_GetObjectItemCaseSensitive(res, "ips"), *it;

	cJSON_ArrayForEach(it, ips) {
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(it, "address");
		char text[64], *slash;

		if (!cJSON_IsString(a) || strlen(a->valuestring) >= sizeof(text))
			continue;
		strcpy(text, a->valuestring);
		if ((slash = strchr(text, '/')))
			*slash = '\0';
		if (inet_pton(AF_INET, text, addr) == 1)
			return 0;
	}
	return -ENOENT;
}

/* ---- IPAM front: built in or delegated ---- */

static int ipam_open(struct cni_req *r, struct ipam *p, struct cni_error *e)
{
	int err = ipam_init(p, r->ipam_dir, r->name, r->subnet, r->subnet_prefix);

	if (err)
		return cni_fail(e, CNI_ERR_INVALID_CONFIG, strerror(-err), "bad IPAM configuration");
	if ((err = ipam_lock(p)))
		return cni_fail(e, CNI_ERR_IPAM_STORE, strerror(-err), "cannot lock %s", p->dir);
	return 0;
}

static int ipam_get(struct cni_req *r, __be32 *addr, struct cni_error *e)
{
	struct ipam p;
	int err;

	if (r->ipam_type[0]) {
		cJSON *res = NULL;

		if (run_delegate(r, "ADD", &res, e))
			return -1;
		err = delegate_addr(res, addr);
		cJSON_Delete(res);
		if (err)
			return cni_fail(e, CNI_ERR_DELEGATE, NULL, "IPAM plugin %s gave no IPv4 address",
					r->ipam_type);
		return 0;
	}
	if (load_subnet(r, e) || ipam_open(r, &p, e))
		return -1;
	err = ipam_allocate(&p, r->container_id, r->ifname, addr);
	ipam_unlock(&p);
	if (err == -ENOSPC) {
		char net[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &r->subnet, net, sizeof(net));
		return cni_fail(e, CNI_ERR_IPAM_FULL, NULL, "no free address in %s/%d", net,
				r->subnet_prefix);
	}
	if (err)
		return cni_fail(e, CNI_ERR_IPAM_STORE, strerror(-err), "cannot allocate in %s", p.dir);
	return 0;
}

/* @addr gets the released address (0 if none was known). */
static int ipam_put(struct cni_req *r, __be32 *addr, struct cni_error *e)
{
	struct ipam p;
	int err;

	*addr = 0;
	if (r->ipam_type[0])
		return run_delegate(r, "DEL", NULL, e);
	if (ipam_open(r, &p, e))
		return -1;
	err = ipam_release(&p, r->container_id, r->ifname, addr);
	ipam_unlock(&p);
	if (err)
		return cni_fail(e, CNI_ERR_IPAM_STORE, strerror(-err), "cannot release in %s", p.dir);
	return 0;
}

/* ---- the pods' namespaces, for the agent ---- */

/* <stateDir>/pods/<container>_<ifname>: the pod's namespace path, so that
 * the agent can reach its sockets (it destroys connected UDP sockets to
 * backends that left). Best effort: without it only that is missed. */
static void pod_record_path(const struct cni_req *r, const char *cid, const char *ifname,
			    char *buf, size_t len)
{
	snprintf(buf, len, "%s/pods/%s_%s", r->state_dir, cid, ifname);
}

static void pod_record_write(struct cni_req *r)
{
	char dir[PATH_MAX + 8], path[PATH_MAX + 600], tmp[PATH_MAX + 610];
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/pods", r->state_dir);
	if (mkdir(r->state_dir, 0755) && errno != EEXIST)
		return;
	if (mkdir(dir, 0755) && errno != EEXIST)
		return;
	pod_record_path(r, r->container_id, r->ifname, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return;
	if (fprintf(f, "%s\n", r->netns) < 0 || fclose(f)) {
		unlink(tmp);
		return;
	}
	if (rename(tmp, path))
		unlink(tmp);
}

static void pod_record_remove(const struct cni_req *r, const char *cid, const char *ifname)
{
	char path[PATH_MAX + 600];

	pod_record_path(r, cid, ifname, path, sizeof(path));
	unlink(path);
}

/* ---- ADD ---- */

static int write_sysctl(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, value, strlen(value));
	close(fd);
	return n == (ssize_t)strlen(value) ? 0 : -EIO;
}

struct datapath {
	struct bpfnet_maps maps;
	int prog_fd;
};

/* The agent loads and pins the programs; without them, ADD waits for it. */
static int datapath_open(struct cni_req *r, struct datapath *dp, struct cni_error *e)
{
	char path[PATH_MAX + 64];
	int err;

	snprintf(path, sizeof(path), "%s/%s", r->pin_dir, BPFNET_PROG_FROM_CONTAINER);
	dp->prog_fd = bpf_obj_get(path);
	if (dp->prog_fd < 0)
		return cni_fail(e, CNI_ERR_TRY_AGAIN, path,
				"the bpfnet datapath is not loaded yet (is bpfnetd running?)");
	err = bpfnet_maps_open(&dp->maps, r->pin_dir, NULL, 0);
	if (err) {
		close(dp->prog_fd);
		return cni_fail(e, CNI_ERR_TRY_AGAIN, strerror(-err),
				"the bpfnet maps under %s are not there yet", r->pin_dir);
	}
	return 0;
}

static void datapath_close(struct datapath *dp)
{
	bpfnet_maps_close(&dp->maps);
	close(dp->prog_fd);
}

static cJSON *add_result(struct cni_req *r, const char *host_name, const struct nl_link *host,
			 const struct nl_link *pod, __be32 addr)
{
	cJSON *res = cJSON_CreateObject(), *ifaces, *o, *ips, *routes;
	const cJSON *dns = cJSON_GetObjectItemCaseSensitive(r->conf, "dns");
	char mac[18], ip[INET_ADDRSTRLEN + 4];

	cJSON_AddStringToObject(res, "cniVersion", r->version);
	ifaces = cJSON_AddArrayToObject(res, "interfaces");
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", host_name);
	fmt_mac(mac, host->mac);
	cJSON_AddStringToObject(o, "mac", mac);
	cJSON_AddItemToArray(ifaces, o);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", r->ifname);
	fmt_mac(mac, pod->mac);
	cJSON_AddStringToObject(o, "mac", mac);
	cJSON_AddNumberToObject(o, "mtu", pod->mtu);
	cJSON_AddStringToObject(o, "sandbox", r->netns);
	cJSON_AddItemToArray(ifaces, o);
	ips = cJSON_AddArrayToObject(res, "ips");
	o = cJSON_CreateObject();
	inet_ntop(AF_INET, &addr, ip, INET_ADDRSTRLEN);
	strcat(ip, "/32");
	cJSON_AddStringToObject(o, "address", ip);
	cJSON_AddStringToObject(o, "gateway", CNI_GATEWAY);
	cJSON_AddNumberToObject(o, "interface", 1);
	cJSON_AddItemToArray(ips, o);
	routes = cJSON_AddArrayToObject(res, "routes");
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "dst", "0.0.0.0/0");
	cJSON_AddStringToObject(o, "gw", CNI_GATEWAY);
	cJSON_AddItemToArray(routes, o);
	cJSON_AddItemToObject(res, "dns", dns ? cJSON_Duplicate(dns, 1) : cJSON_CreateObject());
	return res;
}

/* Inside the pod: its address, the link-local gateway, the default route. */
static int wire_pod(struct nl *nl, struct cni_req *r, const struct nl_link *host, __be32 addr,
		    struct nl_link *pod)
{
	__be32 gw = inet_addr(CNI_GATEWAY);
	int err;

	if ((err = nl_link_get(nl, r->ifname, pod)) || (err = nl_addr_add(nl, pod->ifindex, addr, 32)) ||
	    (err = nl_link_up(nl, pod->ifindex)) ||
	    (err = nl_route_replace(nl, gw, 32, 0, pod->ifindex)) ||
	    (err = nl_neigh_replace(nl, pod->ifindex, gw, host->mac)) ||
	    (err = nl_route_replace(nl, 0, 0, gw, pod->ifindex)))
		return err;
	return 0;
}

int cni_add(struct cni_req *r, struct cni_error *e, cJSON **result)
{
	struct nl host_nl = {}, pod_nl = {};
	struct nl_link host = {}, pod = {}, stale;
	struct datapath dp;
	struct bpfnet_endpoint ep = {};
	char host_name[16], sysctl[128];
	__be32 addr = 0;
	unsigned int mtu;
	int netns_fd, err;

	if (datapath_open(r, &dp, e))
		return -1;
	netns_fd = open(r->netns, O_RDONLY | O_CLOEXEC);
	if (netns_fd < 0) {
		cni_fail(e, CNI_ERR_INVALID_ENV, strerror(errno), "cannot open CNI_NETNS %s", r->netns);
		goto out_dp;
	}
	if (nl_open(&host_nl, -1) || nl_open(&pod_nl, netns_fd)) {
		cni_fail(e, CNI_ERR_NETLINK, host_nl.err[0] ? host_nl.err : pod_nl.err,
			 "netlink unavailable");
		goto out_nl;
	}
	if (ipam_get(r, &addr, e))
		goto out_nl;

	/* a retry after an ADD that died half way: start over */
	cni_host_ifname(r->container_id, r->ifname, host_name);
	if (!nl_link_get(&host_nl, host_name, &stale)) {
		cni_log(r, "msg=\"removing %s left by an earlier attempt\"", host_name);
		nl_link_del(&host_nl, stale.ifindex);
	}
	mtu = r->mtu ? r->mtu : nl_default_route_mtu(&host_nl);
	if (!mtu)
		mtu = DEFAULT_MTU;
	err = nl_veth_add(&host_nl, host_name, r->ifname, netns_fd, mtu);
	if (err) {
		cni_fail(e, CNI_ERR_NETLINK, host_nl.err, "cannot create the pod's veth");
		goto out_release;
	}
	if ((err = nl_link_get(&host_nl, host_name, &host)) ||
	    (err = wire_pod(&pod_nl, r, &host, addr, &pod))) {
		cni_fail(e, CNI_ERR_NETLINK, host_nl.err[0] ? host_nl.err : pod_nl.err,
			 "cannot set up %s in the pod", r->ifname);
		goto out_link;
	}
	if ((err = nl_link_up(&host_nl, host.ifindex)) ||
	    (err = nl_route_replace(&host_nl, addr, 32, 0, host.ifindex)) ||
	    (err = nl_neigh_replace(&host_nl, host.ifindex, addr, pod.mac))) {
		cni_fail(e, CNI_ERR_NETLINK, host_nl.err, "cannot route to the pod");
		goto out_link;
	}
	/* the node forwards between pods and out; rp_filter would drop a
	 * reply the datapath rewrote to come from a service address */
	write_sysctl("/proc/sys/net/ipv4/ip_forward", "1");
	snprintf(sysctl, sizeof(sysctl), "/proc/sys/net/ipv4/conf/%s/rp_filter", host_name);
	write_sysctl(sysctl, "0");

	err = bpfnet_tc_attach(host.ifindex, true, dp.prog_fd);
	if (err) {
		cni_fail(e, CNI_ERR_DATAPATH, strerror(-err), "cannot attach the datapath to %s",
			 host_name);
		goto out_link;
	}
	ep.ifindex = (__u32)host.ifindex;
	memcpy(ep.pod_mac, pod.mac, 6);
	memcpy(ep.host_mac, host.mac, 6);
	err = bpfnet_endpoint_upsert(&dp.maps, addr, &ep);
	if (err) {
		cni_fail(e, CNI_ERR_DATAPATH, strerror(-err), "cannot register the pod in endpoint_v1");
		goto out_link;
	}
	/* an agent upgrading the datapath meanwhile re-attached the endpoints
	 * it found; registered only now, this pod follows its pin itself */
	{
		char pin[PATH_MAX + 64];
		bool changed;

		snprintf(pin, sizeof(pin), "%s/%s", r->pin_dir, BPFNET_PROG_FROM_CONTAINER);
		err = bpfnet_tc_follow_pin(host.ifindex, true, pin, &changed);
		if (err) {
			bpfnet_endpoint_delete(&dp.maps, addr);
			cni_fail(e, CNI_ERR_DATAPATH, strerror(-err),
				 "cannot attach the current datapath to %s", host_name);
			goto out_link;
		}
		if (changed)
			cni_log(r, "msg=\"the datapath was upgraded during ADD: followed it\"");
	}
	pod_record_write(r);
	*result = add_result(r, host_name, &host, &pod, addr);
	{
		char ip[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &addr, ip, sizeof(ip));
		cni_log(r, "msg=added address=%s host_if=%s mtu=%u", ip, host_name, mtu);
	}
	nl_close(&host_nl);
	nl_close(&pod_nl);
	close(netns_fd);
	datapath_close(&dp);
	return 0;

out_link:
	if (host.ifindex || !nl_link_get(&host_nl, host_name, &host))
		nl_link_del(&host_nl, host.ifindex); /* takes the pod side with it */
out_release:
	{
		__be32 released;
		struct cni_error ignored = {};

		ipam_put(r, &released, &ignored);
	}
out_nl:
	nl_close(&host_nl);
	nl_close(&pod_nl);
	if (netns_fd >= 0)
		close(netns_fd);
out_dp:
	datapath_close(&dp);
	return -1;
}

/* ---- DEL: idempotent; whatever is already gone is fine ---- */

struct forget {
	struct bpfnet_maps *maps;
	__be32 addr;          /* the released address, 0 if not known */
	int host_ifindex;     /* the pod's host veth, -1 if it was gone */
	__be32 doomed[64];
	size_t n;
};

/* This pod's entry, found by its address or by its veth (a delegated IPAM
 * plugin never tells DEL the address), and entries left behind by pods
 * whose veth is gone (a DEL that died half way). */
static int forget_one(const void *key, const void *val, void *arg)
{
	const struct bpfnet_endpoint *ep = val;
	struct forget *f = arg;
	char name[IF_NAMESIZE];
	__be32 addr = *(const __be32 *)key;
	bool ours = (f->addr && addr == f->addr &&
		     (f->host_ifindex <= 0 || (int)ep->ifindex == f->host_ifindex || !ep->ifindex)) ||
		    (f->host_ifindex > 0 && (int)ep->ifindex == f->host_ifindex);

	if ((ours || !if_indextoname(ep->ifindex, name)) && f->n < sizeof(f->doomed) / 4)
		f->doomed[f->n++] = addr;
	return 0;
}

static void forget_endpoint(struct cni_req *r, __be32 addr, int host_ifindex)
{
	struct bpfnet_maps maps;
	struct forget f = { .maps = &maps, .addr = addr, .host_ifindex = host_ifindex };

	if (bpfnet_maps_open(&maps, r->pin_dir, NULL, 0))
		return; /* no datapath: nothing registered to forget */
	/* only our own entry: the address may already belong to a newer pod */
	bpfnet_map_iterate(&maps, BPFNET_M_ENDPOINT, forget_one, &f);
	for (size_t i = 0; i < f.n; i++)
		bpfnet_endpoint_delete(&maps, f.doomed[i]);
	bpfnet_maps_close(&maps);
}

int cni_del(struct cni_req *r, struct cni_error *e)
{
	struct nl nl = {};
	struct nl_link host = {};
	char host_name[16], undone[256] = "";
	__be32 addr = 0;
	int host_ifindex = -1;

	cni_host_ifname(r->container_id, r->ifname, host_name);
	if (!nl_open(&nl, -1)) {
		if (!nl_link_get(&nl, host_name, &host)) {
			host_ifindex = host.ifindex;
			if (nl_link_del(&nl, host.ifindex) && nl_link_get(&nl, host_name, &host) == 0) {
				cni_fail(e, CNI_ERR_NETLINK, nl.err, "cannot delete %s", host_name);
				nl_close(&nl);
				return -1;
			}
		}
		nl_close(&nl);
	}
	/* the host side was gone, but the pod side may linger in its netns */
	if (host_ifindex < 0 && r->netns[0]) {
		int fd = open(r->netns, O_RDONLY | O_CLOEXEC);
		struct nl_link pod;

		if (fd >= 0 && !nl_open(&nl, fd)) {
			if (!nl_link_get(&nl, r->ifname, &pod))
				nl_link_del(&nl, pod.ifindex);
			nl_close(&nl);
		}
		if (fd >= 0)
			close(fd);
	}
	if (r->ipam_type[0] && r->conf_error[0]) {
		/* the delegated plugin needs the configuration that is broken */
		snprintf(undone, sizeof(undone), "the address IPAM plugin %s holds", r->ipam_type);
	} else if (!r->name[0]) {
		int err = ipam_release_anywhere(r->ipam_dir, r->container_id, r->ifname, &addr);

		if (err)
			snprintf(undone, sizeof(undone), "the address (%s: %s)", r->ipam_dir,
				 strerror(-err));
	} else if (ipam_put(r, &addr, e)) {
		if (!r->conf_error[0])
			return -1;
		snprintf(undone, sizeof(undone), "the address (%s)", e->msg);
	}
	forget_endpoint(r, addr, host_ifindex);
	pod_record_remove(r, r->container_id, r->ifname);
	if (!r->conf_error[0])
		return 0;
	cni_log(r, "msg=\"DEL with an invalid configuration: %s\" removed=\"veth %s and the "
		   "endpoint entry\"%s%s", r->conf_error, host_name, undone[0] ? " left=" : "",
		undone);
	if (undone[0])
		return cni_fail(e, CNI_ERR_INVALID_CONFIG, r->conf_error,
				"the configuration is invalid: removed the pod's veth and endpoint "
				"entry, but not %s; DEL again once it is fixed", undone);
	return 0;
}

/* ---- CHECK: the wiring still matches prevResult ---- */

static int prev_addr(struct cni_req *r, __be32 *addr, struct cni_error *e)
{
	const cJSON *prev = cJSON_GetObjectItemCaseSensitive(r->conf, "prevResult");

	if (!cJSON_IsObject(prev))
		return cni_fail(e, CNI_ERR_INVALID_CONFIG, NULL, "CHECK needs prevResult");
	if (delegate_addr(prev, addr))
		return cni_fail(e, CNI_ERR_INVALID_CONFIG, NULL, "prevResult has no IPv4 address");
	return 0;
}

int cni_check(struct cni_req *r, struct cni_error *e)
{
	struct nl host_nl = {}, pod_nl = {};
	struct nl_link host, pod;
	struct bpfnet_endpoint ep;
	struct bpf_prog_info info = {};
	__u32 info_len = sizeof(info), prog_id = 0;
	struct datapath dp;
	char host_name[16], ip[INET_ADDRSTRLEN];
	__be32 addr, gw = inet_addr(CNI_GATEWAY), owned;
	int fd, ret = -1;

	if (prev_addr(r, &addr, e) || datapath_open(r, &dp, e))
		return -1;
	inet_ntop(AF_INET, &addr, ip, sizeof(ip));
	cni_host_ifname(r->container_id, r->ifname, host_name);
	fd = open(r->netns, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		cni_fail(e, CNI_ERR_INVALID_ENV, strerror(errno), "cannot open CNI_NETNS %s", r->netns);
		goto out;
	}
	if (nl_open(&host_nl, -1) || nl_open(&pod_nl, fd)) {
		cni_fail(e, CNI_ERR_NETLINK, host_nl.err[0] ? host_nl.err : pod_nl.err,
			 "netlink unavailable");
		goto out;
	}
	if (nl_link_get(&pod_nl, r->ifname, &pod) || !pod.up) {
		cni_fail(e, CNI_ERR_CHECK, pod_nl.err, "%s is missing or down in the pod", r->ifname);
		goto out;
	}
	if (nl_addr_has(&pod_nl, pod.ifindex, addr, 32) != 1) {
		cni_fail(e, CNI_ERR_CHECK, NULL, "%s does not have %s/32", r->ifname, ip);
		goto out;
	}
	if (nl_route_has(&pod_nl, 0, 0, gw, pod.ifindex) != 1) {
		cni_fail(e, CNI_ERR_CHECK, NULL, "the pod has no default route via " CNI_GATEWAY);
		goto out;
	}
	if (nl_link_get(&host_nl, host_name, &host) || !host.up) {
		cni_fail(e, CNI_ERR_CHECK, host_nl.err, "host veth %s is missing or down", host_name);
		goto out;
	}
	if (nl_route_has(&host_nl, addr, 32, 0, host.ifindex) != 1) {
		cni_fail(e, CNI_ERR_CHECK, NULL, "no host route %s/32 via %s", ip, host_name);
		goto out;
	}
	if (bpf_map_lookup_elem(dp.maps.fd[BPFNET_M_ENDPOINT], &addr, &ep) ||
	    (int)ep.ifindex != host.ifindex || memcmp(ep.pod_mac, pod.mac, 6) ||
	    memcmp(ep.host_mac, host.mac, 6)) {
		cni_fail(e, CNI_ERR_CHECK, NULL, "endpoint_v1 has no matching entry for %s", ip);
		goto out;
	}
	if (bpfnet_tc_query(host.ifindex, true, &prog_id) ||
	    bpf_obj_get_info_by_fd(dp.prog_fd, &info, &info_len) || info.id != prog_id) {
		cni_fail(e, CNI_ERR_CHECK, NULL, "%s does not run the pinned datapath program",
			 host_name);
		goto out;
	}
	if (!r->ipam_type[0]) {
		struct ipam p;
		int err;

		if (ipam_open(r, &p, e))
			goto out;
		err = ipam_find(&p, r->container_id, r->ifname, &owned);
		ipam_unlock(&p);
		if (err || owned != addr) {
			cni_fail(e, CNI_ERR_CHECK, NULL, "%s is not allocated to this container", ip);
			goto out;
		}
	}
	ret = 0;
out:
	nl_close(&host_nl);
	nl_close(&pod_nl);
	if (fd >= 0)
		close(fd);
	datapath_close(&dp);
	return ret;
}

/* ---- STATUS and GC (spec 1.1) ---- */

int cni_status(struct cni_req *r, struct cni_error *e)
{
	struct datapath dp;
	struct cni_error inner = {};

	if (datapath_open(r, &dp, &inner))
		return cni_fail(e, CNI_ERR_NOT_AVAILABLE, inner.details, "%s", inner.msg);
	datapath_close(&dp);
	if (!r->ipam_type[0] && load_subnet(r, &inner))
		return cni_fail(e, CNI_ERR_NOT_AVAILABLE, inner.details, "%s", inner.msg);
	return 0;
}

static void gc_gone(void *arg, const char *cid, const char *ifname, __be32 addr)
{
	struct cni_req *r = arg;
	struct nl nl;
	struct nl_link host = {};
	char host_name[16], ip[INET_ADDRSTRLEN];

	cni_host_ifname(cid, ifname, host_name);
	if (!nl_open(&nl, -1)) {
		if (!nl_link_get(&nl, host_name, &host))
			nl_link_del(&nl, host.ifindex);
		nl_close(&nl);
	}
	forget_endpoint(r, addr, host.ifindex ? host.ifindex : -1);
	pod_record_remove(r, cid, ifname);
	inet_ntop(AF_INET, &addr, ip, sizeof(ip));
	cni_log(r, "msg=\"gc released\" address=%s owner=%.12s/%s", ip, cid, ifname);
}

int cni_gc(struct cni_req *r, struct cni_error *e)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(r->conf, "cni.dev/valid-attachments");
	struct ipam_attachment *valid;
	const cJSON *it;
	struct ipam p;
	size_t n = 0;
	int err;

	/* without the list every allocation would look stale */
	if (!list)
		return cni_fail(e, CNI_ERR_INVALID_CONFIG, NULL,
				"GC needs cni.dev/valid-attachments: without it every pod's "
				"address would be released");
	if (!cJSON_IsArray(list))
		return cni_fail(e, CNI_ERR_INVALID_CONFIG, NULL,
				"cni.dev/valid-attachments must be a list");
	if (r->ipam_type[0])
		return 0; /* the delegated plugin keeps its own allocations */
	valid = calloc((size_t)cJSON_GetArraySize(list) + 1, sizeof(*valid));
	if (!valid)
		return cni_fail(e, CNI_ERR_IPAM_STORE, NULL, "out of memory");
	cJSON_ArrayForEach(it, list) {
		const cJSON *cid = cJSON_GetObjectItemCaseSensitive(it, "containerID");
		const cJSON *ifn = cJSON_GetObjectItemCaseSensitive(it, "ifname");

		if (!cJSON_IsString(cid) || !cJSON_IsString(ifn)) {
			free(valid);
			return cni_fail(e, CNI_ERR_INVALID_CONFIG, NULL,
					"a valid attachment needs containerID and ifname");
		}
		valid[n].container_id = cid->valuestring;
		valid[n].ifname = ifn->valuestring;
		n++;
	}
	if (ipam_open(r, &p, e)) {
		free(valid);
		return -1;
	}
	err = ipam_gc(&p, valid, n, gc_gone, r);
	ipam_unlock(&p);
	free(valid);
	if (err)
		return cni_fail(e, CNI_ERR_IPAM_STORE, strerror(-err), "cannot collect %s", p.dir);
	return 0;
}
