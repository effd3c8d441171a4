/* wasim entry point: flags, state, modules, then the lws loop. Prints one
 * JSON line on stdout once listening: {"port":..,"tls_port":..,"root":"hex"}
 * so a test harness can start it with port 0 and read the real ports. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "simcore.h"
#include "util/codec.h"

int sim_server_start(struct sim *sim, int port, int tls_port, const char *tls_dir);
void sim_server_stop(struct sim *sim);

static void usage(void)
{
	fprintf(stderr,
		"usage: wasim [--port N] [--tls-port N] [--state DIR] [--root-out FILE]\n"
		"             [--max-conns N] [--handshake-timeout S] [--edge-routing] [--quiet]\n"
		"             [--device-notify all|watchers] [--phone-media-inline BYTES]\n"
		"  --port      ws:// chat (/ws/chat) and the HTTP control API; 0 = any (default 0)\n"
		"  --tls-port  wss:// and https:// on a self-signed cert; 0 = any (default: off)\n"
		"  --state     directory for wasim.json and the TLS cert (default: in memory)\n"
		"  --root-out  write the test root public key (hex) to FILE\n"
		"  --max-conns simultaneous websocket connections (default 20000)\n"
		"  --handshake-timeout  seconds to finish the Noise handshake (default 20)\n"
		"  --edge-routing       send <ib><edge_routing> after login (clients then use the ED prefix)\n"
		"  --device-notify      who hears of a paired/removed companion: every device (all, default)\n"
		"                       or only the accounts that fetched the list by usync (watchers)\n"
		"  --phone-media-inline media the phone checks at once (default 64 MiB); larger\n"
		"                       blobs (up to 2 GiB) are checked in slices between other work\n");
}

static void raise_nofile(size_t want)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	rlim_t target = (rlim_t)want;
	if (rl.rlim_max != RLIM_INFINITY && target > rl.rlim_max)
		target = rl.rlim_max;
	if (rl.rlim_cur < target) {
		rl.rlim_cur = target;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "tls-port", required_argument, NULL, 't' },
		{ "state", required_argument, NULL, 's' },
		{ "root-out", required_argument, NULL, 'r' },
		{ "max-conns", required_argument, NULL, 'm' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "handshake-timeout", required_argument, NULL, 'H' },
		{ "edge-routing", no_argument, NULL, 'E' },
		{ "device-notify", required_argument, NULL, 'D' },
		{ "phone-media-inline", required_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sim_core core;
	struct sim sim;
	memset(&core, 0, sizeof(core));
	memset(&sim, 0, sizeof(sim));
	int port = 0, tls_port = -1;
	const char *state = NULL, *root_out = NULL;
	long max_conns = SIM_DEFAULT_MAX_CONNS;
	bool quiet = false;
	int hs_timeout = SIM_HANDSHAKE_TIMEOUT_S;
	int ch;
	while ((ch = getopt_long(argc, argv, "p:t:s:r:m:qh", opts, NULL)) != -1) {
		switch (ch) {
		case 'p': port = atoi(optarg); break;
		case 't': tls_port = atoi(optarg); break;
		case 's': state = optarg; break;
		case 'r': root_out = optarg; break;
		case 'm': max_conns = atol(optarg); break;
		case 'q': quiet = true; break;
		case 'H': hs_timeout = atoi(optarg); break;
		case 'E': core.edge_routing = true; break;
		case 'M': {
			char *end;
			unsigned long long v = strtoull(optarg, &end, 10);
			if (*end || v == 0) {
				usage();
				return 2;
			}
			sim.phone_media_inline_max = v;
			break;
		}
		case 'D':
			if (strcmp(optarg, "watchers") == 0)
				sim.notify_watchers_only = true;
			else if (strcmp(optarg, "all") != 0) {
				usage();
				return 2;
			}
			break;
		default: usage(); return ch == 'h' ? 0 : 2;
		}
	}
	if (port < 0 || port > 65535 || tls_port > 65535 || max_conns < 1 || hs_timeout < 1) {
		usage();
		return 2;
	}
	raise_nofile((size_t)max_conns + 256);
	/* create the state folder (one level) rather than failing later with WA_EIO */
	if (state && mkdir(state, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "wasim: cannot create state folder %s: %s\n", state, strerror(errno));
		return 1;
	}

	sim.priv = &core;
	sim.state_dir = state;
	core.max_conns = (size_t)max_conns;
	core.quiet = quiet;
	core.hs_timeout_s = hs_timeout;
	int rc = sim_modules_init(&sim);
	if (!rc)
		rc = sim_state_load(&sim);
	char tmpdir[] = "/tmp/wasim-XXXXXX";
	const char *tls_dir = state;
	if (!rc && tls_port >= 0 && !tls_dir) {
		if (!mkdtemp(tmpdir))
			rc = WA_EIO;
		tls_dir = tmpdir;
	}
	if (!rc)
		rc = sim_server_start(&sim, port, tls_port, tls_dir);
	if (rc) {
		fprintf(stderr, "wasim: start-up failed: %s\n", wa_errname(rc));
		sim_server_stop(&sim);
		if (sim.hooks.shutdown)
			sim.hooks.shutdown(&sim, sim.hooks.user);
		sim_state_free(&sim);
		free(core.handlers);
		free(core.iqs);
		free(core.routes);
		return 1;
	}
	char *root_hex = wa_hex_encode(sim.root_pub, 32);
	if (root_out && root_hex) {
		FILE *f = fopen(root_out, "w");
		if (f) {
			fprintf(f, "%s\n", root_hex);
			fclose(f);
		}
	}
	printf("{\"port\":%d,\"tls_port\":%d,\"root\":\"%s\"}\n", core.port, core.tls_port,
		root_hex ? root_hex : "");
	fflush(stdout);
	free(root_hex);

	sim_server_run(&sim);
	sim_server_stop(&sim);
	if (sim.hooks.shutdown)
		sim.hooks.shutdown(&sim, sim.hooks.user);
	sim_state_free(&sim);
	free(core.handlers);
	free(core.iqs);
	free(core.routes);
	if (tls_dir == tmpdir) {
		char p[64];
		snprintf(p, sizeof(p), "%s/wasim-cert.pem", tmpdir);
		unlink(p);
		snprintf(p, sizeof(p), "%s/wasim-key.pem", tmpdir);
		unlink(p);
		rmdir(tmpdir);
	}
	return 0;
}
