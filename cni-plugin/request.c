// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * What a runtime hands the plugin: CNI_* variables and the network
 * configuration on stdin, checked before anything is done with them
 * (container IDs and names become file and interface names).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpfnet/datapath.h>

#include "cni.h"

#define DEFAULT_LOG "/var/log/bpfnet-cni.log"
#define DEFAULT_STATE_DIR "/run/bpfnet"
#define DEFAULT_IPAM_DIR "/var/lib/cni/bpfnet"

int cni_fail(struct cni_error *e, int code, const char *details, const char *fmt, ...)
{
	va_list ap;

	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	snprintf(e->details, sizeof(e->details), "%s", details ? details : "");
	return -1;
}

const char *const cni_versions[] = { "1.0.0", "1.1.0", NULL };

bool cni_version_supported(const char *v)
{
	for (size_t i = 0; cni_versions[i]; i++)
		if (!strcmp(v, cni_versions[i]))
			return true;
	return false;
}

/* The spec's container ID and network name: alphanumeric, then also
 * underscore, dot and hyphen. They name files and interfaces: anything
 * else (a newline, a slash) could write where it must not. */
static bool valid_id(const char *s)
{
	if (!isalnum((unsigned char)*s))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.' && *s != '-')
			return false;
	return true;
}

/* What the kernel takes as an interface name (dev_valid_name). */
static bool valid_ifname(const char *s)
{
	if (!*s || strlen(s) >= 16 || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || isspace((unsigned char)*s) || !isprint((unsigned char)*s))
			return false;
	return true;
}

static bool valid_path(const char *s)
{
	if (*s != '/')
		return false;
	for (; *s; s++)
		if (!isprint((unsigned char)*s))
			return false;
	return true;
}

/* Copy environment variable @name; @required ones must be set and non-empty,
 * and a set one must pass @valid (NULL: anything printable). */
static int env_copy(char *dst, size_t len, const char *name, bool required,
		    bool (*valid)(const char *), struct cni_error *e)
{
	const char *v = getenv(name);

	if (!v || !*v) {
		dst[0] = '\0';
		return required ? cni_fail(e, CNI_ERR_INVALID_ENV, NULL, "%s is not set", name) : 0;
	}
	if (strlen(v) >= len)
		return cni_fail(e, CNI_ERR_INVALID_ENV, NULL, "%s is too long", name);
	for (const char *p = v; *p; p++)
		if (!isprint((unsigned char)*p))
			return cni_fail(e, CNI_ERR_INVALID_ENV, NULL,
					"%s holds a character that is not printable", name);
	if (valid && !valid(v))
		return cni_fail(e, CNI_ERR_INVALID_ENV, v, "%s is not valid", name);
	strcpy(dst, v);
	return 0;
}

static int conf_str(const cJSON *obj, const char *key, char *dst, size_t len, const char *dflt,
		    struct cni_error *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!v || cJSON_IsNull(v)) {
		snprintf(dst, len, "%s", dflt);
		return 0;
	}
	if (!cJSON_IsString(v) || strlen(v->valuestring) >= len)
		return cni_fail(e, CNI_ERR_INVALID_CONFIG, key, "\"%s\" must be a string", key);
	strcpy(dst, v->valuestring);
	return 0;
}

/* What a configuration that could not be read leaves empty gets the
 * defaults (DEL's way on with a broken one). */
static void cni_defaults(struct cni_req *r)
{
	if (!r->version[0] || !cni_version_supported(r->version))
		snprintf(r->version, sizeof(r->version), "1.1.0");
	if (!r->pin_dir[0] || !valid_path(r->pin_dir))
		snprintf(r->pin_dir, sizeof(r->pin_dir), "%s", BPFNET_PIN_DIR_DEFAULT);
	if (!r->state_dir[0] || !valid_path(r->state_dir))
		snprintf(r->state_dir, sizeof(r->state_dir), "%s", DEFAULT_STATE_DIR);
	if (!r->ipam_dir[0] || !valid_path(r->ipam_dir))
		snprintf(r->ipam_dir, sizeof(r->ipam_dir), "%s", DEFAULT_IPAM_DIR);
	if (!r->log_file[0])
		snprintf(r->log_file, sizeof(r->log_file), "%s", DEFAULT_LOG);
	if (!valid_id(r->name))
		r->name[0] = '\0'; /* IPAM looks in every network's directory */
	if (r->ipam_type[0] && !valid_id(r->ipam_type))
		r->ipam_type[0] = '\0';
	/* which IPAM holds the address decides what DEL can undo: read it
	 * even when the configuration broke before it */
	if (!r->ipam_type[0] && cJSON_IsObject(r->conf)) {
		const cJSON *ipam = cJSON_GetObjectItemCaseSensitive(r->conf, "ipam");
		const cJSON *type = ipam ? cJSON_GetObjectItemCaseSensitive(ipam, "type") : NULL;

		if (cJSON_IsString(type) && strcmp(type->valuestring, "bpfnet") &&
		    valid_id(type->valuestring) && strlen(type->valuestring) < sizeof(r->ipam_type))
			strcpy(r->ipam_type, type->valuestring);
	}
}

static int parse_subnet(struct cni_req *r, char *subnet, struct cni_error *e)
{
	char *slash = strchr(subnet, '/'), *end;
	long len;

	if (!slash)
		return cni_fail(e, CNI_ERR_INVALID_CONFIG, subnet, "ipam.subnet is not a CIDR");
	*slash = '\0';
	len = strtol(slash + 1, &end, 10);
	if (inet_pton(AF_INET, subnet, &r->subnet) != 1 || *end || len < 8 || len > 30)
		return cni_fail(e, CNI_ERR_INVALID_CONFIG, NULL,
				"ipam.subnet must be an IPv4 CIDR with a prefix of 8..30");
	r->subnet_prefix = (int)len;
	return 0;
}

/*
 * The network configuration: the spec's keys and this plugin's. Every key
 * is read even after one was refused (the first refusal is the answer):
 * DEL goes on with a broken configuration, and should find as much of it
 * as it can, its IPAM directory above all.
 */
static int parse_conf(struct cni_req *r, struct cni_error *e)
{
	const cJSON *ipam, *mtu;
	char subnet[64] = "";
	struct cni_error first = {};
	bool failed = false;

#define KEEP(step)                                  \
	do {                                        \
		if ((step) && !failed) {            \
			failed = true;              \
			first = *e;                 \
		}                                   \
	} while (0)

	r->conf = cJSON_ParseWithLength(r->stdin_text, r->stdin_len);
	if (!cJSON_IsObject(r->conf))
		return cni_fail(e, CNI_ERR_DECODE, NULL,
				"network configuration on stdin is not a JSON object");
	KEEP(conf_str(r->conf, "cniVersion", r->version, sizeof(r->version), "", e));
	if (!failed && !r->version[0])
		KEEP(cni_fail(e, CNI_ERR_INVALID_CONFIG, NULL, "cniVersion missing"));
	if (!failed && !cni_version_supported(r->version))
		KEEP(cni_fail(e, CNI_ERR_INCOMPATIBLE, "supported: 1.0.0, 1.1.0",
			      "cniVersion %s is not supported", r->version));
	KEEP(conf_str(r->conf, "name", r->name, sizeof(r->name), "", e));
	KEEP(conf_str(r->conf, "pinDir", r->pin_dir, sizeof(r->pin_dir), BPFNET_PIN_DIR_DEFAULT, e));
	KEEP(conf_str(r->conf, "stateDir", r->state_dir, sizeof(r->state_dir), DEFAULT_STATE_DIR, e));
	KEEP(conf_str(r->conf, "logFile", r->log_file, sizeof(r->log_file), DEFAULT_LOG, e));
	if (!valid_id(r->name))
		KEEP(cni_fail(e, CNI_ERR_INVALID_CONFIG, NULL,
			      "\"name\" must be letters and digits, then also _ . or -"));
	mtu = cJSON_GetObjectItemCaseSensitive(r->conf, "mtu");
	if (mtu && (!cJSON_IsNumber(mtu) || mtu->valuedouble < 576 || mtu->valuedouble > 65535))
		KEEP(cni_fail(e, CNI_ERR_INVALID_CONFIG, NULL, "\"mtu\" must be 576..65535"));
	else if (mtu)
		r->mtu = (unsigned int)mtu->valuedouble;
	ipam = cJSON_GetObjectItemCaseSensitive(r->conf, "ipam");
	if (ipam && !cJSON_IsObject(ipam)) {
		KEEP(cni_fail(e, CNI_ERR_INVALID_CONFIG, NULL, "\"ipam\" must be an object"));
		ipam = NULL;
	}
	KEEP(conf_str(ipam, "type", r->ipam_type, sizeof(r->ipam_type), "", e));
	KEEP(conf_str(ipam, "dataDir", r->ipam_dir, sizeof(r->ipam_dir), DEFAULT_IPAM_DIR, e));
	KEEP(conf_str(ipam, "subnet", subnet, sizeof(subnet), "", e));
	if (!strcmp(r->ipam_type, "bpfnet"))
		r->ipam_type[0] = '\0';
	if (r->ipam_type[0] && !valid_id(r->ipam_type))
		KEEP(cni_fail(e, CNI_ERR_INVALID_CONFIG, NULL, "ipam.type must be a plugin name"));
	if ((r->pin_dir[0] && !valid_path(r->pin_dir)) || !valid_path(r->state_dir) ||
	    !valid_path(r->ipam_dir))
		KEEP(cni_fail(e, CNI_ERR_INVALID_CONFIG, NULL,
			      "pinDir, stateDir and ipam.dataDir must be absolute paths"));
	if (subnet[0])
		KEEP(parse_subnet(r, subnet, e));
#undef KEEP
	if (failed)
		*e = first;
	return failed ? -1 : 0;
}


int cni_request_parse(struct cni_req *r, struct cni_error *e)
{
	if (parse_conf(r, e)) {
		/* a broken conflist must not keep pods from being removed: DEL
		 * goes on with what it could read and the defaults */
		if (strcmp(r->command, "DEL"))
			return -1;
		snprintf(r->conf_error, sizeof(r->conf_error), "%s", e->msg);
		cni_defaults(r);
		*e = (struct cni_error){};
	}
	if (env_copy(r->container_id, sizeof(r->container_id), "CNI_CONTAINERID",
		     strcmp(r->command, "STATUS") && strcmp(r->command, "GC"), valid_id, e) ||
	    env_copy(r->netns, sizeof(r->netns), "CNI_NETNS", !strcmp(r->command, "ADD") ||
		     !strcmp(r->command, "CHECK"), valid_path, e) ||
	    env_copy(r->ifname, sizeof(r->ifname), "CNI_IFNAME",
		     strcmp(r->command, "STATUS") && strcmp(r->command, "GC"), valid_ifname, e) ||
	    env_copy(r->cni_path, sizeof(r->cni_path), "CNI_PATH", false, NULL, e))
		return -1;
	return 0;
}

int cni_command_from_env(struct cni_req *r, struct cni_error *e)
{
	return env_copy(r->command, sizeof(r->command), "CNI_COMMAND", true, NULL, e);
}
