// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* bpfnet-cni: the CNI protocol around the commands in commands.c. */
#include <arpa/inet.h>
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

/* Copy environment variable @name; @required ones must be set and non-empty. */
static int env_copy(char *dst, size_t len, const char *name, bool required, struct cni_error *e)
{
	const char *v = getenv(name);

	if (!v || !*v) {
		dst[0] = '\0';
		return required ? cni_fail(e, CNI_ERR_INVALID_ENV, NULL, "%s is not set", name) : 0;
	}
	if (strlen(v) >= len)
		return cni_fail(e, CNI_ERR_INVALID_ENV, v, "%s is too long", name);
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

/* The network configuration: the spec's keys and this plugin's. */
static int parse_conf(struct cni_req *r, struct cni_error *e)
{
	const cJSON *ipam, *mtu;
	char subnet[64] = "";

	r->conf = cJSON_ParseWithLength(r->stdin_text, r->stdin_len);
	if (!cJSON_IsObject(r->conf))
		return cni_fail(e, CNI_ERR_DECODE, NULL,
				"network configuration on stdin is not a JSON object");
	if (conf_str(r->conf, "cniVersion", r->version, sizeof(r->version), "", e))
		return -1;
	if (!r->version[0])
		return cni_fail(e, CNI_ERR_INVALID_CONFIG, NULL, "cniVersion missing");
	if (!version_supported(r->version))
		return cni_fail(e, CNI_ERR_INCOMPATIBLE, "supported: 1.0.0, 1.1.0",
				"cniVersion %s is not supported", r->version);
	if (conf_str(r->conf, "name", r->name, sizeof(r->name), "", e) ||
	    conf_str(r->conf, "pinDir", r->pin_dir, sizeof(r->pin_dir), BPFNET_PIN_DIR_DEFAULT, e) ||
	    conf_str(r->conf, "stateDir", r->state_dir, sizeof(r->state_dir), DEFAULT_STATE_DIR, e) ||
	    conf_str(r->conf, "logFile", r->log_file, sizeof(r->log_file), DEFAULT_LOG, e))
		return -1;
	if (!r->name[0] || strchr(r->name, '/') || r->name[0] == '.')
		return cni_fail(e, CNI_ERR_INVALID_CONFIG, NULL, "\"name\" must be a plain, non-empty name");
	mtu = cJSON_GetObjectItemCaseSensitive(r->conf, "mtu");
	if (mtu) {
		if (!cJSON_IsNumber(mtu) || mtu->valuedouble < 576 || mtu->valuedouble > 65535)
			return cni_fail(e, CNI_ERR_INVALID_CONFIG, NULL, "\"mtu\" must be 576..65535");
		r->mtu = (unsigned int)mtu->valuedouble;
	}
	ipam = cJSON_GetObjectItemCaseSensitive(r->conf, "ipam");
	if (ipam && !cJSON_IsObject(ipam))
		return cni_fail(e, CNI_ERR_INVALID_CONFIG, NULL, "\"ipam\" must be an object");
	if (conf_str(ipam, "type", r->ipam_type, sizeof(r->ipam_type), "", e) ||
	    conf_str(ipam, "dataDir", r->ipam_dir, sizeof(r->ipam_dir), DEFAULT_IPAM_DIR, e) ||
	    conf_str(ipam, "subnet", subnet, sizeof(subnet), "", e))
		return -1;
	if (!strcmp(r->ipam_type, "bpfnet"))
		r->ipam_type[0] = '\0';
	if (strchr(r->ipam_type, '/'))
		return cni_fail(e, CNI_ERR_INVALID_CONFIG, NULL, "ipam.type must be a plugin name");
	if (subnet[0]) {
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
	}
	return 0;
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
	if (env_copy(r.command, sizeof(r.command), "CNI_COMMAND", true, &e))
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
	if (parse_conf(&r, &e))
		goto fail;
	if (env_copy(r.container_id, sizeof(r.container_id), "CNI_CONTAINERID",
		     strcmp(r.command, "STATUS") && strcmp(r.command, "GC"), &e) ||
	    env_copy(r.netns, sizeof(r.netns), "CNI_NETNS", !strcmp(r.command, "ADD") ||
		     !strcmp(r.command, "CHECK"), &e) ||
	    env_copy(r.ifname, sizeof(r.ifname), "CNI_IFNAME",
		     strcmp(r.command, "STATUS") && strcmp(r.command, "GC"), &e) ||
	    env_copy(r.cni_path, sizeof(r.cni_path), "CNI_PATH", false, &e))
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
