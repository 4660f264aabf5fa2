// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* bpfnet-cni: the CNI protocol around the commands in commands.c. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <bpfnet/datapath.h>

#include "cni.h"

#define STDIN_MAX (1u << 20)
#define DEFAULT_LOG "/var/log/bpfnet-cni.log"
#define DEFAULT_STATE_DIR "/run/bpfnet"
#define DEFAULT_IPAM_DIR "/var/lib/cni/bpfnet"

static const char *const supported_versions[] = { "1.0.0", "1.1.0" };

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

void cni_log(const struct cni_req *r, const char *fmt, ...)
{
	const char *path = r->log_file[0] ? r->log_file : DEFAULT_LOG;
	struct timeval tv;
	struct tm tm;
	va_list ap;
	FILE *f;

	if (!strcmp(path, "none") || !(f = fopen(path, "a")))
		return; /* diagnostics are best effort; stdout belongs to the protocol */
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	fprintf(f, "time=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ pid=%d command=%s container=%.12s "
		   "ifname=%s ",
		tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		(long)tv.tv_usec / 1000, getpid(), r->command, r->container_id, r->ifname);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fclose(f);
}

static bool version_supported(const char *v)
{
	for (size_t i = 0; i < sizeof(supported_versions) / sizeof(*supported_versions); i++)
		if (!strcmp(v, supported_versions[i]))
			return true;
	return false;
}

static char *read_stdin(size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);

	while (buf) {
		size_t got;

		if (n + 1 == cap) {
			char *b = cap * 2 > STDIN_MAX + 1 ? NULL : realloc(buf, cap * 2);

			if (!b) {
				free(buf);
				return NULL;
			}
			buf = b;
			cap *= 2;
		}
		got = fread(buf + n, 1, cap - 1 - n, stdin);
		n += got;
		if (got == 0)
			break;
	}
	if (buf) {
		buf[n] = '\0';
		*len = n;
	}
	return buf;
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
	if (!r->version[0] || !version_supported(r->version))
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
	if (!failed && !version_supported(r->version))
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

static void print_error(const struct cni_req *r, const struct cni_error *e)
{
	cJSON *o = cJSON_CreateObject();
	char *text;

	cJSON_AddStringToObject(o, "cniVersion", r->version[0] && version_supported(r->version) ?
							 r->version : "1.1.0");
	cJSON_AddNumberToObject(o, "code", e->code);
	cJSON_AddStringToObject(o, "msg", e->msg);
	if (e->details[0])
		cJSON_AddStringToObject(o, "details", e->details);
	text = cJSON_Print(o);
	if (text)
		puts(text);
	free(text);
	cJSON_Delete(o);
}

static int version_command(struct cni_req *r)
{
	cJSON *doc = r->stdin_text ? cJSON_ParseWithLength(r->stdin_text, r->stdin_len) : NULL;
	const cJSON *v = doc ? cJSON_GetObjectItemCaseSensitive(doc, "cniVersion") : NULL;
	cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "supportedVersions");
	char *text;

	/* answer in the version asked about when we speak it */
	cJSON_AddStringToObject(o, "cniVersion", cJSON_IsString(v) && version_supported(v->valuestring) ?
							 v->valuestring : "1.1.0");
	for (size_t i = 0; i < sizeof(supported_versions) / sizeof(*supported_versions); i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(supported_versions[i]));
	text = cJSON_Print(o);
	if (text)
		puts(text);
	free(text);
	cJSON_Delete(o);
	cJSON_Delete(doc);
	return 0;
}

int main(void)
{
	struct cni_req r = {};
	struct cni_error e = {};
	cJSON *result = NULL;
	int ret;

	signal(SIGPIPE, SIG_IGN); /* a delegated plugin may exit before reading stdin */
	if (env_copy(r.command, sizeof(r.command), "CNI_COMMAND", true, NULL, &e))
		goto fail;
	r.stdin_text = read_stdin(&r.stdin_len);
	if (!strcmp(r.command, "VERSION")) {
		/* runtimes probe with dummy values: check nothing else */
		ret = version_command(&r);
		free(r.stdin_text);
		return ret;
	}
	if (!r.stdin_text) {
		cni_fail(&e, CNI_ERR_DECODE, NULL, "could not read the configuration from stdin");
		goto fail;
	}
	if (parse_conf(&r, &e)) {
		/* a broken conflist must not keep pods from being removed: DEL
		 * goes on with what it could read and the defaults */
		if (strcmp(r.command, "DEL"))
			goto fail;
		snprintf(r.conf_error, sizeof(r.conf_error), "%s", e.msg);
		cni_defaults(&r);
		e = (struct cni_error){};
	}
	if (env_copy(r.container_id, sizeof(r.container_id), "CNI_CONTAINERID",
		     strcmp(r.command, "STATUS") && strcmp(r.command, "GC"), valid_id, &e) ||
	    env_copy(r.netns, sizeof(r.netns), "CNI_NETNS", !strcmp(r.command, "ADD") ||
		     !strcmp(r.command, "CHECK"), valid_path, &e) ||
	    env_copy(r.ifname, sizeof(r.ifname), "CNI_IFNAME",
		     strcmp(r.command, "STATUS") && strcmp(r.command, "GC"), valid_ifname, &e) ||
	    env_copy(r.cni_path, sizeof(r.cni_path), "CNI_PATH", false, NULL, &e))
		goto fail;

	if (!strcmp(r.command, "ADD"))
		ret = cni_add(&r, &e, &result);
	else if (!strcmp(r.command, "DEL"))
		ret = cni_del(&r, &e);
	else if (!strcmp(r.command, "CHECK"))
		ret = cni_check(&r, &e);
	else if (!strcmp(r.command, "STATUS"))
		ret = cni_status(&r, &e);
	else if (!strcmp(r.command, "GC"))
		ret = cni_gc(&r, &e);
	else
		ret = cni_fail(&e, CNI_ERR_INVALID_ENV, r.command, "unknown CNI_COMMAND");
	if (ret)
		goto fail;
	if (result) {
		char *text = cJSON_Print(result);

		if (text)
			puts(text);
		free(text);
		cJSON_Delete(result);
	}
	cni_log(&r, "result=ok");
	cJSON_Delete(r.conf);
	free(r.stdin_text);
	return 0;
fail:
	cni_log(&r, "result=error code=%d msg=\"%s\" details=\"%s\"", e.code, e.msg, e.details);
	print_error(&r, &e);
	cJSON_Delete(r.conf);
	free(r.stdin_text);
	return 1;
}
