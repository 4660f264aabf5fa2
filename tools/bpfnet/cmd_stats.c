// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* stats, maps, version */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include <bpfnet/names.h>
#include "cli.h"

static int cmd_stats(struct cli *c, int argc, char **argv)
{
	static const char *const headers[] = { "KIND", "COUNTER", "PACKETS", "BYTES" };
	struct bpfnet_stat_value st[BPFNET_STATS_MAX];
	cJSON *doc = NULL, *verdicts = NULL, *drops = NULL;
	struct table t;
	int err;

	if (argc)
		return cli_error(c, EXIT_USAGE, "stats takes no arguments");
	if (cli_open_maps(c))
		return EXIT_ERR;
	err = bpfnet_stats_read(&c->maps, st);
	if (err)
		return cli_maps_error(c, err, "read counters");
	if (c->json) {
		doc = cJSON_CreateObject();
		verdicts = cJSON_AddObjectToObject(doc, "verdicts");
		drops = cJSON_AddObjectToObject(doc, "drops");
	}
	table_init(&t, 4, headers);
	for (unsigned int i = 0; i < BPFNET_STATS_MAX; i++) {
		const char *name = bpfnet_stat_name(i);
		bool drop = i >= BPFNET_STAT_DROP_BASE;
		char pk[24], by[24];

		if (!name)
			continue;
		if (doc) {
			cJSON *o = cJSON_AddObjectToObject(drop ? drops : verdicts, name);

			cJSON_AddNumberToObject(o, "packets", (double)st[i].packets);
			cJSON_AddNumberToObject(o, "bytes", (double)st[i].bytes);
			continue;
		}
		snprintf(pk, sizeof(pk), "%llu", (unsigned long long)st[i].packets);
		snprintf(by, sizeof(by), "%llu", (unsigned long long)st[i].bytes);
		const char *row[] = { drop ? "drop" : "verdict", name, pk, by };
		table_add(&t, row);
	}
	return cli_emit(doc, &t);
}

static const char *map_type_name(__u32 type)
{
	switch (type) {
	case BPF_MAP_TYPE_HASH:
		return "hash";
	case BPF_MAP_TYPE_LRU_HASH:
		return "lru_hash";
	case BPF_MAP_TYPE_ARRAY:
		return "array";
	case BPF_MAP_TYPE_PERCPU_ARRAY:
		return "percpu_array";
	case BPF_MAP_TYPE_RINGBUF:
		return "ringbuf";
	case BPF_MAP_TYPE_SK_STORAGE:
		return "sk_storage";
	default:
		return "other";
	}
}

static int cmd_maps(struct cli *c, int argc, char **argv)
{
	static const char *const headers[] = { "MAP", "TYPE", "ENTRIES", "CAPACITY", "FILL" };
	cJSON *arr = c->json ? cJSON_CreateArray() : NULL;
	struct table t;

	if (argc)
		return cli_error(c, EXIT_USAGE, "maps takes no arguments");
	if (cli_open_maps(c)) {
		cJSON_Delete(arr);
		return EXIT_ERR;
	}
	table_init(&t, 5, headers);
	for (int id = 0; id < BPFNET_M_COUNT; id++) {
		struct bpf_map_info info = {};
		__u32 len = sizeof(info), n = 0;
		char entries[16] = "-", cap[16], fill[16] = "-";
		bool countable = bpfnet_map_iterable(id);
		__u32 capacity = c->maps.max_entries[id]; /* the backend array has one more */

		if (bpf_obj_get_info_by_fd(c->maps.fd[id], &info, &len))
			continue;
		if (countable && bpfnet_map_count(&c->maps, id, &n) == 0) {
			snprintf(entries, sizeof(entries), "%u", n);
			if (capacity)
				snprintf(fill, sizeof(fill), "%.1f%%", 100.0 * n / capacity);
		}
		snprintf(cap, sizeof(cap), "%u", capacity);
		if (arr) {
			cJSON *o = cJSON_CreateObject();

			cJSON_AddStringToObject(o, "name", bpfnet_map_name(id));
			cJSON_AddStringToObject(o, "type", map_type_name(info.type));
			if (countable)
				cJSON_AddNumberToObject(o, "entries", n);
			else
				cJSON_AddNullToObject(o, "entries");
			cJSON_AddNumberToObject(o, "capacity", capacity);
			cJSON_AddItemToArray(arr, o);
		} else {
			const char *row[] = { bpfnet_map_name(id), map_type_name(info.type), entries,
					      cap, fill };
			table_add(&t, row);
		}
	}
	return cli_emit(arr, &t);
}

static int cmd_version(struct cli *c, int argc, char **argv)
{
	struct utsname u;

	if (argc)
		return cli_error(c, EXIT_USAGE, "version takes no arguments");
	uname(&u);
	if (c->json) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "version", BPFNET_VERSION);
		cJSON_AddNumberToObject(o, "map_layout", 1);
		cJSON_AddStringToObject(o, "kernel", u.release);
		cli_print_json(o);
	} else {
		printf("bpfnet %s (map layout v1), kernel %s\n", BPFNET_VERSION, u.release);
	}
	return EXIT_OK;
}

const struct command stats_commands[] = {
	{ NULL, "stats", "", "Datapath counters summed over CPUs: every verdict, every drop reason.",
	  cmd_stats },
	{ NULL, "maps", "", "Each pinned map: type, entries, capacity, fill level.", cmd_maps },
	{ NULL, "version", "", "Versions of the CLI, the map layout and the kernel.", cmd_version },
	{ NULL, NULL, NULL, NULL, NULL },
};
