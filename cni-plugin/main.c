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

static void print_error(const struct cni_req *r, const struct cni_error *e)
{
	cJSON *o = cJSON_CreateObject();
	char *text;

	cJSON_AddStringToObject(o, "cniVersion", r->version[0] && cni_version_supported(r->version) ?
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
	cJSON_AddStringToObject(o, "cniVersion", cJSON_IsString(v) && cni_version_supported(v->valuestring) ?
							 v->valuestring : "1.1.0");
	for (size_t i = 0; cni_versions[i]; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(cni_versions[i]));
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
	if (cni_command_from_env(&r, &e))
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
	if (cni_request_parse(&r, &e))
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
