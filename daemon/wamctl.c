/* wamctl entry point: dispatches to subcommands (daemon/wamctl_<name>.c).
 * Add a subcommand by adding a row to the table below. */
#include "wamctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wa/wa.h"
#include "wamd_build_version.h"

struct subcommand {
	const char *name;
	int (*main)(int argc, char **argv);
	void (*usage)(FILE *f);
	const char *summary;
};

static const struct subcommand subcommands[] = {
	{ "node", wamctl_node_main, wamctl_node_usage,
	  "encode/decode WhatsApp binary nodes (JSON <-> wire bytes)" },
	{ "instance", wamctl_instance_main, wamctl_api_usage, "create, list, delete or log out wamd instances" },
	{ "pair", wamctl_pair_main, wamctl_api_usage, "pair an instance (terminal QR or --phone pairing code)" },
	{ "send", wamctl_send_main, wamctl_api_usage, "send a text message" },
	{ "events", wamctl_events_main, wamctl_api_usage, "stream events (all or one instance)" },
	{ "qr", wamctl_qr_main, wamctl_api_usage, "write the current QR as a PNG file" },
	{ "proxy", wamctl_proxy_main, wamctl_api_usage, "show, set or remove an instance's proxy" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: wamctl [--help | --version] <command> [args]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
		fprintf(f, "  %-8s %s\n", subcommands[i].name, subcommands[i].summary);
	fprintf(f, "\nRun 'wamctl <command> --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
	/* global options for the wamd subcommands */
	while (argc >= 3 && (!strcmp(argv[1], "--socket") || !strcmp(argv[1], "--api-key"))) {
		setenv(!strcmp(argv[1], "--socket") ? "WAMD_SOCKET" : "WAMD_API_KEY", argv[2], 1);
		argv[2] = argv[0];
		argv += 2;
		argc -= 2;
	}
	if (argc < 2) {
		usage(stderr);
		return WAMCTL_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return WAMCTL_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("wamctl %s\n", WAMD_GIT_DESCRIBE[0] ? WAMD_PROJECT_VERSION " (git " WAMD_GIT_DESCRIBE ")"
								 : WAMD_PROJECT_VERSION);
		return WAMCTL_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
		if (strcmp(argv[1], subcommands[i].name) == 0)
			return subcommands[i].main(argc - 1, argv + 1);
	fprintf(stderr, "wamctl: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return WAMCTL_EXIT_USAGE;
}
