/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * bpfnet-cni: the CNI plugin (spec 1.0.0 and 1.1.0). The runtime passes
 * the command and the container in CNI_* variables and the network
 * configuration on stdin; the plugin answers on stdout with a Result or an
 * error object, and logs to a file, never to stdout.
 *
 * Error codes: the spec's (1 incompatible version, 4 invalid necessary
 * environment variables, 6 decoding failure, 7 invalid network config, 11
 * try again later, 50 not available (STATUS)) and these plugin-specific ones:
 */
#ifndef BPFNET_CNI_H
#define BPFNET_CNI_H

#include <limits.h>
#include <stdbool.h>
#include <linux/types.h>
#include <cjson/cJSON.h>

enum cni_code {
	CNI_ERR_INCOMPATIBLE = 1,
	CNI_ERR_INVALID_ENV = 4,
	CNI_ERR_DECODE = 6,
	CNI_ERR_INVALID_CONFIG = 7,
	CNI_ERR_TRY_AGAIN = 11,
	CNI_ERR_NOT_AVAILABLE = 50,
	CNI_ERR_NETLINK = 100,    /* an interface, address, route or neighbour operation failed */
	CNI_ERR_IPAM_FULL = 101,  /* no free address left in the pod CIDR */
	CNI_ERR_IPAM_STORE = 102, /* the allocation store could not be read or written */
	CNI_ERR_DATAPATH = 103,   /* tc attach or endpoint registration failed */
	CNI_ERR_CHECK = 104,      /* CHECK found the pod's wiring different from prevResult */
	CNI_ERR_DELEGATE = 105,   /* the delegated IPAM plugin failed */
};

#define CNI_GATEWAY "169.254.1.1" /* the pod's next hop: the host side of its veth */

struct cni_error {
	int code;
	char msg[256];
	char details[768];
};

struct cni_req {
	/* environment */
	char command[16];
	char container_id[256];
	char netns[PATH_MAX];
	char ifname[16];
	char cni_path[PATH_MAX];
	/* stdin */
	char *stdin_text;
	size_t stdin_len;
	cJSON *conf;
	char version[16];
	char name[128];
	/* this plugin's keys */
	char pin_dir[PATH_MAX];
	char state_dir[PATH_MAX];
	char log_file[PATH_MAX];
	unsigned int mtu;
	char ipam_type[64];   /* "" or "bpfnet": built in; else a plugin in CNI_PATH */
	char ipam_dir[PATH_MAX];
	__be32 subnet;        /* 0 with subnet_prefix 0: from <stateDir>/node.json */
	int subnet_prefix;
	/* why the configuration was refused; DEL goes on without it, with
	 * the defaults for what it could not read, and cleans up what it can */
	char conf_error[256];
};

extern const char *const cni_versions[]; /* NULL-terminated */
bool cni_version_supported(const char *v);

/* CNI_COMMAND into @r. 0, or -1 with @e set (code 4). */
int cni_command_from_env(struct cni_req *r, struct cni_error *e);
/* The configuration in r->stdin_text and the other CNI_* variables, all
 * checked. For DEL an invalid configuration is not fatal: conf_error says
 * why, and what could not be read has the defaults. 0, or -1 with @e set. */
int cni_request_parse(struct cni_req *r, struct cni_error *e);

/* Set @e and return -1, for `return cni_fail(...)`. */
int cni_fail(struct cni_error *e, int code, const char *details, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void cni_log(const struct cni_req *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Commands: 0 with *result set (ADD) or NULL, or -1 with @e set. */
int cni_add(struct cni_req *r, struct cni_error *e, cJSON **result);
int cni_del(struct cni_req *r, struct cni_error *e);
int cni_check(struct cni_req *r, struct cni_error *e);
int cni_status(struct cni_req *r, struct cni_error *e);
int cni_gc(struct cni_req *r, struct cni_error *e);

/* "lxc" + 11 hex digits of a hash of (container, ifname): the host side
 * of the veth can be found again from what DEL is given. */
void cni_host_ifname(const char *cid, const char *ifname, char out[16]);

#endif
