// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bpfnet: inspect and trace the bpfnet dataplane through its pinned maps.
 * Works without the agent. Exit codes: 0 ok, 1 error, 2 usage.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "cli.h"

static const struct command *const command_tables[] = {
	lb_commands, ct_commands, stats_commands, monitor_commands, explain_commands,
};

#define N_TABLES (sizeof(command_tables) / sizeof(command_tables[0]))

int cli_open_maps(struct cli *c)
{
	int err;

	if (c->maps_open)
		return 0;
	err = bpfnet_maps_open(&c->maps, c->pin_dir, NULL, 0);
	if (err) {
		cli_maps_error(c, err, "open maps");
		return err;
	}
	c->maps_open = true;
	return 0;
}

static int usage(int code)
{
	FILE *f = code == EXIT_OK ? stdout : stderr;

	fprintf(f, "usage: bpfnet [--pin-dir DIR] [-o json] COMMAND [ARGS]\n\n"
		   "Reads bpfnet's pinned maps (default " BPFNET_PIN_DIR_DEFAULT
		   "); the agent need not run.\n\ncommands:\n");
	for (size_t t = 0; t < N_TABLES; t++)
		for (const struct command *cmd = command_tables[t]; cmd->verb; cmd++) {
			char name[48];

			snprintf(name, sizeof(name), "%s%s%s", cmd->group ? cmd->group : "",
				 cmd->group ? " " : "", cmd->verb);
			fprintf(f, "  %-16s %s\n", name, cmd->usage);
		}
	fprintf(f, "\n'bpfnet COMMAND --help' explains one command.\n");
	return code;
}

static const struct command *find_command(int argc, char **argv, int *consumed)
{
	for (size_t t = 0; t < N_TABLES; t++)
		for (const struct command *cmd = command_tables[t]; cmd->verb; cmd++) {
			if (!cmd->group && !strcmp(argv[0], cmd->verb)) {
				*consumed = 1;
				return cmd;
			}
			if (cmd->group && argc >= 2 && !strcmp(argv[0], cmd->group) &&
			    !strcmp(argv[1], cmd->verb)) {
				*consumed = 2;
				return cmd;
			}
		}
	return NULL;
}

int main(int argc, char **argv)
{
	struct cli c = { .pin_dir = BPFNET_PIN_DIR_DEFAULT };
	const struct command *cmd;
	int a = 1, consumed, ret;

	libbpf_set_print(NULL);
	while (a < argc && argv[a][0] == '-') {
		if (!strcmp(argv[a], "--pin-dir") && a + 1 < argc) {
			c.pin_dir = argv[a + 1];
			a += 2;
		} else if (!strcmp(argv[a], "-o") && a + 1 < argc) {
			if (strcmp(argv[a + 1], "json"))
				return cli_error(&c, EXIT_USAGE, "-o takes json");
			c.json = true;
			a += 2;
		} else if (!strcmp(argv[a], "-h") || !strcmp(argv[a], "--help")) {
			return usage(EXIT_OK);
		} else {
			return cli_error(&c, EXIT_USAGE, "unknown option %s (see bpfnet --help)",
					 argv[a]);
		}
	}
	if (a >= argc)
		return usage(EXIT_USAGE);
	cmd = find_command(argc - a, argv + a, &consumed);
	if (!cmd) {
		/* a known group with a bad verb still gets the group's usage */
		return cli_error(&c, EXIT_USAGE, "unknown command '%s%s%s' (see bpfnet --help)",
				 argv[a], a + 1 < argc ? " " : "", a + 1 < argc ? argv[a + 1] : "");
	}
	a += consumed;
	if (want_help(argc - a, argv + a))
		return print_usage(cmd, EXIT_OK);
	/* -o json may also follow the command */
	for (int i = a; i + 1 < argc; i++)
		if (!strcmp(argv[i], "-o") && !strcmp(argv[i + 1], "json")) {
			c.json = true;
			memmove(&argv[i], &argv[i + 2], (size_t)(argc - i - 2) * sizeof(*argv));
			argc -= 2;
			break;
		}
	ret = cmd->run(&c, argc - a, argv + a);
	if (ret == EXIT_USAGE && !c.json)
		print_usage(cmd, EXIT_USAGE);
	if (c.maps_open)
		bpfnet_maps_close(&c.maps);
	return ret;
}
