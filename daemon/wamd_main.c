/* wamd: the multi-tenant daemon. One libwebsockets loop holds every
 * WhatsApp session, the local API (unix socket, optional TCP), webhook
 * requests and timers. Startup: config, store, tenants (their sessions start
 * and reconnect by themselves), listeners, pending webhooks. SIGTERM/SIGINT:
 * stop accepting, close sessions cleanly, close the store (every write is
 * already committed). SIGHUP: reload log level, webhook and event output
 * settings, the daemon-wide and group pacing limits. */
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <openssl/x509.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <ev.h>

#include "wamd.h"
#include "wamd_resolve.h"
#include "wamd_evolution_env.h"
#include "wamd_cluster.h"
#include "wamd_front.h"
#include "wamd_pace.h"
#include "wamd_pace_bulk.h"
#include "wamd_events.h"
#include "wamd_media_probe.h"

/* lws 4.1.6's libev glue re-arms its timer with ev_timer_set() on a
 * watcher that may be active, which libev ignores: an lws timer scheduled
 * earlier than the armed one fires late. Its ripe timers are also run after
 * every descriptor event, so a 10 ms nudge through lws' event pipe bounds
 * the lateness (100 pipe wakeups/s, negligible). */
#define WA_EV_NUDGE_S 0.01
static void ev_nudge_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)l;
	(void)revents;
	lws_cancel_service(w->data);
}

static struct wamd *g_wamd; /* for the signal handler only */

static void on_signal(int sig)
{
	if (!g_wamd)
		return;
	if (sig == SIGHUP)
		g_wamd->reload = 1;
	else
		g_wamd->stop = 1;
	if (g_wamd->ctx)
		lws_cancel_service(g_wamd->ctx);
}


/* OpenSSL's default trust store is a bundle file plus a hashed directory.
 * Loading the file parses every CA in it (~140 on Debian: about 150 ms,
 * most of wamd's start-up, before it can answer anything); the directory
 * holds the same CAs, linked by subject hash, and OpenSSL reads only the
 * ones a server's chain names. So when both are the system's (the
 * variables unset, or naming those same paths) and the directory is
 * hashed, point the file variable at nothing: same trust, read on use. A
 * file or directory of the user's own choosing is left alone. */
static bool dir_is_hashed(const char *path)
{
	DIR *dir = opendir(path);
	if (!dir)
		return false;
	bool hashed = false;
	for (struct dirent *e; !hashed && (e = readdir(dir)) != NULL;) {
		size_t n = strlen(e->d_name);
		hashed = n == 10 && e->d_name[8] == '.' && e->d_name[9] == '0';
	}
	closedir(dir);
	return hashed;
}

static bool same_file(const char *a, const char *b)
{
	char ra[PATH_MAX], rb[PATH_MAX];
	return realpath(a, ra) && realpath(b, rb) && strcmp(ra, rb) == 0;
}

static void trust_store_lazy(void)
{
	const char *fenv = X509_get_default_cert_file_env(), *denv = X509_get_default_cert_dir_env();
	const char *file = getenv(fenv), *dir = getenv(denv);
	const char *sys_dir = X509_get_default_cert_dir();
	/* only the system's own pair: a file or directory the user chose stays as it is */
	if ((file && !same_file(file, X509_get_default_cert_file())) || (dir && !same_file(dir, sys_dir)))
		return;
	if (!dir_is_hashed(sys_dir))
		return;
	setenv(fenv, "/nonexistent/wamd-reads-the-hashed-ca-directory", 1);
	LOGD("CA bundle not parsed at start: OpenSSL reads the hashed directory %s on use", sys_dir);
}

static void libwa_log(enum wa_log_level level, const char *module, const char *msg, void *user)
{
	(void)user;
	wamd_log(level, "[%s] %s", module, msg);
}

static void lws_log(int level, const char *line)
{
	(void)level;
	char b[512];
	snprintf(b, sizeof b, "%s", line);
	size_t n = strlen(b);
	while (n && (b[n - 1] == '\n' || b[n - 1] == '\r'))
		b[--n] = '\0';
	LOGD("[lws] %s", b);
}

static int hex32(const char *s, uint8_t out[32])
{
	if (!s || strlen(s) != 64)
		return -1;
	for (int i = 0; i < 32; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

static void apply_runtime(struct wamd *d)
{
	int lvl = wamd_log_level_parse(d->cfg.log_level);
	wamd_log_set_level((enum wa_log_level)(lvl < 0 ? WA_LOG_INFO : lvl));
	wa_log_set_level((enum wa_log_level)(lvl < 0 ? WA_LOG_INFO : lvl));
}

static void do_reload(struct wamd *d, int argc, char **argv)
{
	struct wamd_config nc;
	char err[512];
	bool help;
	if (wamd_config_load(&nc, argc, argv, wamd_real_getenv, err, sizeof err, &help) != 0 ||
	    wamd_config_check_file(&nc, err, sizeof err) != 0) {
		LOGE("reload: %s (keeping the current configuration)", err);
		wamd_config_free(&nc);
		return;
	}
	/* only the settings that are safe to change live */
#define SWAP_STR(f) do { char *tmp = d->cfg.f; d->cfg.f = nc.f; nc.f = tmp; } while (0)
	SWAP_STR(log_level);
	SWAP_STR(webhook_global_url);
	SWAP_STR(webhook_global_events);
	SWAP_STR(webhook_global_secret);
	SWAP_STR(webhook_non_retryable);
	SWAP_STR(server_url);
	SWAP_STR(pace_groups);
#undef SWAP_STR
	d->cfg.webhook_global_by_events = nc.webhook_global_by_events;
	d->cfg.webhook_initial_delay_ms = nc.webhook_initial_delay_ms;
	d->cfg.webhook_max_delay_ms = nc.webhook_max_delay_ms;
	d->cfg.webhook_max_attempts = nc.webhook_max_attempts;
	d->cfg.webhook_max_age_s = nc.webhook_max_age_s;
	d->cfg.webhook_timeout_ms = nc.webhook_timeout_ms;
	d->cfg.webhook_allow_loopback = nc.webhook_allow_loopback;
	d->cfg.webhook_allow_private = nc.webhook_allow_private;
	d->cfg.max_handshakes = nc.max_handshakes;
	d->cfg.pace_daemon_per_minute = nc.pace_daemon_per_minute;
	d->cfg.pace_daemon_per_hour = nc.pace_daemon_per_hour;
	d->cfg.pace_daemon_per_day = nc.pace_daemon_per_day;
	if (wamd_pace_reload(d, err, sizeof err) != 0)
		LOGE("reload: %s", err);
	if (wamd_broker_reload(d, &nc) != 0)
		LOGE("reload: the event output settings are refused (keeping the current ones)");
	wamd_engine_reconfigure(d);
	wamd_config_free(&nc);
	apply_runtime(d);
	for (struct wamd_tenant *t = d->tenants; t; t = t->next)
		wamd_webhook_kick(t);
	LOGI("configuration reloaded");
}

/* Before binding: what is at the socket path may be removed only if it is
 * a socket nobody listens on (ours, left by a crash). A regular file, a
 * folder, a link or a live socket (another wamd, another program) is
 * refused: unlinking it would destroy data or steal another daemon's
 * clients. 0 when the path is free, else -1 with the reason in err. */
static int socket_path_free(const char *path, char *err, size_t errlen)
{
	struct stat st;
	if (lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket (%s); refusing to replace it", path,
			 S_ISDIR(st.st_mode) ? "a folder" : S_ISLNK(st.st_mode) ? "a symbolic link"
			 : S_ISREG(st.st_mode) ? "a regular file" : "a special file");
		return -1;
	}
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sa.sun_path) {
		snprintf(err, errlen, "%s: path too long for a unix socket", path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "%s: socket: %s", path, strerror(errno));
		return -1;
	}
	int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
	int e = errno;
	close(fd);
	if (rc == 0) {
		snprintf(err, errlen, "%s: another process is listening on this socket (another wamd?); "
			 "refusing to replace it", path);
		return -1;
	}
	if (e != ECONNREFUSED) {
		snprintf(err, errlen, "%s: cannot tell whether the socket is in use (%s); refusing to replace it", path,
			 strerror(e));
		return -1;
	}
	if (unlink(path) != 0) {
		snprintf(err, errlen, "%s: removing the stale socket: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int mkdir_p(const char *path)
{
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s", path);
	for (char *p = tmp + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
				return -1;
			*p = '/';
		}
	if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* The engine's events go to the handlers of wamd_events_<family>.c,
 * send latency to the metrics, number lookups to their route. */
static const struct wamd_engine_events wamd_events = {
	.state = wamd_on_state,
	.qr = wamd_on_qr,
	.pairing_code = wamd_on_pairing_code,
	.paired = wamd_on_paired,
	.logged_out = wamd_on_logged_out,
	.message = wamd_on_message,
	.status = wamd_on_status,
	.status_in_tx = wamd_status_in_tx,
	.presence = wamd_on_presence,
	.contact = wamd_on_contact,
	.chat = wamd_on_chat,
	.label = wamd_on_label,
	.chat_mod_done = wamd_chat_mod_done,
	.picture_done = wamd_picture_done,
	.profile_done = wamd_profile_done,
	.push_name = wamd_on_push_name,
	.history = wamd_on_history,
	.history_demand = wamd_on_history_demand,
	.wire = wamd_lat_on_wire,
	.numbers_done = wamd_numbers_done,
	.group = wamd_on_group,
	.group_done = wamd_group_done,
	.call = wamd_on_call,
};

int main(int argc, char **argv)
{
	struct wamd d;
	memset(&d, 0, sizeof d);
	char err[512];
	bool help;
	d.started_ms = wamd_now_ms();
	/* jansson's hash seed, once, before any thread parses JSON (name
	 * lookups, media probes, bulk job lists) */
	json_object_seed(0);
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--version")) {
			printf("wamd %s\n", wamd_version());
			return 0;
		}
	if (wamd_config_load(&d.cfg, argc, argv, wamd_real_getenv, err, sizeof err, &help) != 0) {
		fprintf(stderr, "wamd: %s\n", err);
		wamd_config_free(&d.cfg);
		return 2;
	}
	if (help) {
		wamd_config_usage(stdout);
		wamd_config_free(&d.cfg);
		return 0;
	}
	if (wamd_config_check_file(&d.cfg, err, sizeof err) != 0) {
		fprintf(stderr, "wamd: %s\n", err);
		wamd_config_free(&d.cfg);
		return 2;
	}
	gid_t sock_gid = (gid_t)-1;
	if (d.cfg.socket_group && *d.cfg.socket_group) {
		struct group *gr = getgrnam(d.cfg.socket_group);
		char *end;
		unsigned long g = strtoul(d.cfg.socket_group, &end, 10);
		if (gr)
			sock_gid = gr->gr_gid;
		else if (!*end && end != d.cfg.socket_group)
			sock_gid = (gid_t)g;
		else {
			fprintf(stderr, "wamd: socket_group '%s': no such group\n", d.cfg.socket_group);
			wamd_config_free(&d.cfg);
			return 2;
		}
	}
	apply_runtime(&d);
	wa_log_set_sink(libwa_log, NULL);
	if (wamd_evolution_ignored()[0])
		LOGI("Evolution settings wamd has no use for (ignored): %s", wamd_evolution_ignored());
	if (d.cfg.api_key && *d.cfg.api_key) {
		wamd_sha256(d.cfg.api_key, strlen(d.cfg.api_key), d.api_key_sha);
		d.have_api_key = true;
	}
	if (d.cfg.listen && *d.cfg.listen && (!d.have_api_key || wamd_key_is_weak(d.cfg.api_key))) {
		LOGE("refusing to listen on TCP %s with an empty or well-known api_key "
		     "(set WAMD_API_KEY to a random value of 16+ characters)", d.cfg.listen);
		wamd_config_free(&d.cfg);
		return 2;
	}
	if (d.cfg.wa_trust_root) {
		if (hex32(d.cfg.wa_trust_root, d.trust_root) != 0) {
			LOGE("wa_trust_root must be 64 hex characters");
			wamd_config_free(&d.cfg);
			return 2;
		}
		d.have_trust_root = true;
	}
	if (d.cfg.wa_version && *d.cfg.wa_version && wamd_tenant_version_check(d.cfg.wa_version) != 0) {
		LOGE("wa_version '%s' must look like 2.3000.1023223821", d.cfg.wa_version);
		wamd_config_free(&d.cfg);
		return 2;
	}
	if (mkdir_p(d.cfg.data_dir) != 0) {
		LOGE("cannot create data folder %s: %s", d.cfg.data_dir, strerror(errno));
		wamd_config_free(&d.cfg);
		return 1;
	}
	/* before the store: a second wamd on this folder stops here, and
	 * nothing at the socket path that is not a stale socket is removed */
	if (socket_path_free(d.cfg.socket_path, err, sizeof err) != 0) {
		LOGE("unix socket: %s", err);
		wamd_config_free(&d.cfg);
		return 2;
	}
	umask(0077); /* store and WAL files hold keys: owner only */
	char dbpath[4096];
	if (d.cfg.store && d.cfg.store[0])
		snprintf(dbpath, sizeof dbpath, "%s", d.cfg.store);
	else
		snprintf(dbpath, sizeof dbpath, "%s/wamd.db", d.cfg.data_dir);
	/* a PostgreSQL URI may hold a password: never logged */
	bool pg_store = strncmp(dbpath, "postgres://", 11) == 0 || strncmp(dbpath, "postgresql://", 13) == 0;
	/* exclusive: wamd is the store's only user (wamctl goes through the API) */
	wa_store_opts so = { .master_key_file = d.cfg.master_key_file, .key_from_env = true,
		.seal_messages = d.cfg.seal_messages,
		.exclusive = d.cfg.store_exclusive && !d.cfg.cluster, /* cluster: the nodes share it */
		.mmap_mib = (int)d.cfg.store_mmap_mib, .errbuf = err,
		.wal_checkpoint_pages = (int)d.cfg.store_checkpoint_pages,
		.errbuf_len = sizeof err };
	err[0] = '\0';
	int rc = wa_store_open(dbpath, &so, &d.store);
	if (rc != 0) {
		LOGE("cannot open store %s: %s %s", pg_store ? "(PostgreSQL URI)" : dbpath, wa_errname(rc), err);
		wamd_config_free(&d.cfg);
		return 1;
	}
	if (d.cfg.store_group_commit && !pg_store && wa_store_turn_mode(d.store, true) != 0)
		LOGW("store: group commit unavailable, one commit per send");

	/* protocols: [0] local API (HTTP + WS), webhook client, then libwa's */
	size_t n_sess = 0;
	const struct lws_protocols *sess = wamd_session_protocols(&n_sess);
	struct lws_protocols *protos = calloc(n_sess + 7, sizeof *protos);
	if (!protos) {
		wa_store_close(d.store);
		return 1;
	}
	protos[0] = (struct lws_protocols){ "wamd-api", wamd_http_cb, sizeof(struct wamd_conn), 4096, 0, NULL, 0 };
	protos[1] = (struct lws_protocols){ "wamd-webhook", wamd_webhook_client_cb, 0, 4096, 0, NULL, 0 };
	protos[2] = (struct lws_protocols){ "wamd-version-fetch", wamd_version_fetch_cb, 0, 4096, 0, NULL, 0 };
	protos[3] = (struct lws_protocols){ WAMD_FRONT_PROTOCOL, wamd_front_cb, 0, 0, 0, NULL, 0 };
	protos[4] = (struct lws_protocols){ "wamd-media-fetch", wamd_media_fetch_cb_lws, 0, 16384, 0, NULL, 0 };
	protos[5] = (struct lws_protocols){ WAMD_CLUSTER_PROTOCOL, wamd_cluster_cb, 0, 0, 0, NULL, 0 };
	for (size_t i = 0; i < n_sess; i++)
		protos[6 + i] = sess[i];

	lws_set_log_level(LLL_ERR | LLL_WARN, lws_log);
	trust_store_lazy();
	struct lws_context_creation_info ci;
	memset(&ci, 0, sizeof ci);
	ci.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	ci.user = &d;
	ci.fd_limit_per_thread = 0;
	/* room for any head wamd_front_check() passes (lws stores names and
	 * values with a few bytes of bookkeeping each) */
	ci.max_http_header_data = WAMD_FRONT_LWS_HEADER_DATA;
	/* lws reads every socket (and asks TLS for) at most this much per
	 * service; its 4 KiB default made a media download one loop turn, one
	 * MAC update and one file write per 4 KiB. One buffer per service
	 * thread, so 64 KiB costs 60 KiB once. */
	ci.pt_serv_buf_size = 65536;
	/* epoll through lws' libev plugin: lws' own loop is poll(), which
	 * scans every descriptor on every wakeup (70% of wamd's idle CPU at
	 * 1,200 sessions). WA_EVENT_LOOP=poll keeps poll() (comparisons);
	 * without the plugin (libwebsockets-evlib-ev) poll() is the fallback.
	 * The loop is ours (foreign to lws): lws' own run of a libev loop
	 * never returns, and this loop must return to see d.stop and d.reload
	 * (on_signal's lws_cancel_service wakes it). */
	const char *evl = getenv("WA_EVENT_LOOP");
	struct ev_loop *loop = (evl && !strcmp(evl, "poll")) ? NULL : ev_loop_new(EVFLAG_AUTO);
	void *foreign[1] = { loop };
	if (loop) {
		ci.options |= LWS_SERVER_OPTION_LIBEV;
		ci.foreign_loops = foreign;
	}
	d.ctx = lws_create_context(&ci);
	d.ev_loop = d.ctx ? loop : NULL;
	if (!d.ctx && loop) {
		LOGW("libev event loop unavailable (package libwebsockets-evlib-ev); using poll()");
		ev_loop_destroy(loop);
		loop = NULL;
		ci.options &= ~(uint64_t)LWS_SERVER_OPTION_LIBEV;
		ci.foreign_loops = NULL;
		d.ctx = lws_create_context(&ci);
		d.ev_loop = NULL;
	}
	if (!d.ctx) {
		LOGE("lws context creation failed");
		free(protos);
		wa_store_close(d.store);
		return 1;
	}
	g_wamd = &d;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* client vhost first: libwa and webhooks connect through it */
	struct lws_context_creation_info vi;
	memset(&vi, 0, sizeof vi);
	vi.port = CONTEXT_PORT_NO_LISTEN;
	vi.protocols = protos;
	vi.vhost_name = "client";
	vi.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	d.vh_client = lws_create_vhost(d.ctx, &vi);

	/* unix socket: mode 0660 from the start (umask), checked after. wamd
	 * accepts on it and checks each request head before lws sees it
	 * (wamd_front.c); the vhost serves the connections handed over. */
	memset(&vi, 0, sizeof vi);
	vi.port = CONTEXT_PORT_NO_LISTEN_SERVER;
	vi.protocols = protos;
	vi.vhost_name = "api";
	vi.keepalive_timeout = 5;
	d.vh_api = lws_create_vhost(d.ctx, &vi);
	mode_t old = umask(0117);
	int ufd = d.vh_api ? wamd_front_socket_unix(d.cfg.socket_path) : -1;
	umask(old);
	if (ufd < 0 || chmod(d.cfg.socket_path, 0660) != 0 || wamd_front_listen(&d, d.vh_api, ufd, true) != 0) {
		LOGE("cannot listen on unix socket %s: %s", d.cfg.socket_path, strerror(errno));
		d.stop = 1;
	} else if (sock_gid != (gid_t)-1 && chown(d.cfg.socket_path, (uid_t)-1, sock_gid) != 0) {
		LOGE("unix socket %s: cannot give it to group %s: %s", d.cfg.socket_path, d.cfg.socket_group,
		     strerror(errno));
		d.stop = 1;
	} else
		LOGI("listening on unix:%s (mode 0660%s%s)%s", d.cfg.socket_path, sock_gid != (gid_t)-1 ? ", group " : "",
		     sock_gid != (gid_t)-1 ? d.cfg.socket_group : "",
		     d.cfg.socket_trusted ? "; its group has admin rights (socket_trusted)" : "");
	if (!d.stop && d.cfg.listen && *d.cfg.listen) {
		char host[256];
		snprintf(host, sizeof host, "%s", d.cfg.listen);
		char *colon = strrchr(host, ':');
		int port = colon ? atoi(colon + 1) : 0;
		if (colon)
			*colon = '\0';
		if (port <= 0 || port > 65535) {
			LOGE("listen must be host:port");
			d.stop = 1;
		} else {
			int tfd = wamd_front_socket_tcp(host, port);
			if (tfd < 0 || wamd_front_listen(&d, d.vh_api, tfd, false) != 0) {
				LOGE("cannot listen on %s: %s", d.cfg.listen, strerror(errno));
				d.stop = 1;
			} else
				LOGI("listening on tcp:%s", d.cfg.listen);
		}
	}
	d.listening = !d.stop;
	/* events flow back up through these (wamd_events.h) */
	wamd_engine_set_events(&wamd_events);
	wamd_sinks_set(&(const struct wamd_sinks){ .stream_broadcast = wamd_ws_broadcast,
						  .stream_recheck = wamd_ws_recheck,
						  .tenant_changed = wamd_api_tenant_changed,
						  .stream_relay = wamd_cluster_event,
						  .stream_relayed = wamd_ws_broadcast_id,
						  .stream_recheck_id = wamd_ws_recheck_id,
						  .streams_elsewhere = wamd_cluster_streams_elsewhere,
						  .events_relayed = wamd_cluster_events_relayed });
	if (!d.stop && wamd_engine_init(&d) != 0) {
		LOGE("cannot create the connection gate");
		d.stop = 1;
	}
	if (!d.stop && wamd_broker_start(&d) != 0) {
		LOGE("cannot start the event outputs (amqp_uri, redis_url)");
		d.stop = 1;
	}
	if (!d.stop) {
		/* cluster mode: only the instances this node holds the leases of */
		rc = d.cfg.cluster ? (wamd_cluster_start(&d) == 0 ? 0 : WA_EDB) : wamd_tenant_load_all(&d);
		if (rc == 0) {
			wamd_pace_bulk_init();
			rc = wamd_pace_init(&d);
		}
		if (rc == 0) {
			wamd_expiry_start(&d);
			wamd_dbwatch_start(&d); /* a lost PostgreSQL connection stops wamd */
		}
		if (rc != 0) {
			LOGE("loading instances failed: %s", wa_errname(rc));
			d.stop = 1;
		}
	}
	if (!d.stop) {
		if (d.cfg.wa_version_fetch)
			wamd_version_fetch_start(&d, wamd_boot_start); /* they start when it ends */
		else
			wamd_boot_start(&d); /* in slices on the loop: the API answers meanwhile */
		wamd_trim_start(&d, wamd_engine_gate_stats);
	}
	if (!d.stop) {
		wamd_media_store_start(&d); /* first: it clears what crashed downloads left */
		wamd_media_hook_resume_start(&d);
	}
	if (!d.stop) {
		/* the store is open, the listeners are up, the instances loaded (starting) */
		d.ready = true;
		if (wamd_notify("READY=1") != 0)
			LOGW("NOTIFY_SOCKET is set but the readiness notification could not be sent");
	}
	ev_timer nudge;
	if (loop) {
		ev_timer_init(&nudge, ev_nudge_cb, WA_EV_NUDGE_S, WA_EV_NUDGE_S);
		nudge.data = d.ctx;
		ev_timer_start(loop, &nudge);
	}
	while (!d.stop) {
		if (loop)
			ev_run(loop, EVRUN_ONCE);
		else if (lws_service(d.ctx, 0) < 0)
			break;
		/* the turn's sends, acks and receipts: one commit, then what waited */
		(void)wa_store_turn_flush(d.store);
		if (d.reload) {
			d.reload = 0;
			do_reload(&d, argc, argv);
		}
	}
	LOGI("shutting down");
	d.ready = false;
	(void)wamd_notify("STOPPING=1");
	wamd_version_fetch_cancel();
	wamd_boot_stop(&d); /* the ones not started yet stay stored as they are */
	wamd_trim_stop(&d);
	(void)wa_store_turn_flush(d.store);
	/* sessions first (they close their sockets cleanly), then the loop */
	for (struct wamd_tenant *t = d.tenants; t; t = t->next)
		wamd_tenant_stop(t);
	for (int i = 0; i < 20; i++) { /* let close frames go out */
		if (loop)
			ev_run(loop, EVRUN_NOWAIT);
		else
			lws_service(d.ctx, -1);
	}
	while (d.waiters)
		wamd_api_conn_gone(d.waiters);
	wamd_expiry_stop();
	wamd_dbwatch_stop();
	wamd_tenants_free(&d);
	wamd_cluster_stop(&d); /* the sessions stopped: the other nodes may take them now */
	wamd_pace_free(&d);
	wamd_resolve_shutdown(); /* after the lanes: their lookups are cancelled */
	wamd_broker_shutdown(&d); /* unconfirmed events stay queued for the next start */
	wamd_probe_shutdown();
	wamd_media_hook_resume_stop();
	wamd_media_store_stop();
	wamd_engine_free(&d);
	wamd_lat_free(&d);
	wamd_prom_free(&d);
	if (loop)
		ev_timer_stop(loop, &nudge);
	wamd_front_shutdown(&d);
	lws_context_destroy(d.ctx);
	if (loop)
		ev_loop_destroy(loop);
	g_wamd = NULL;
	unlink(d.cfg.socket_path);
	free(protos);
	wa_store_close(d.store);
	wa_log_set_sink(NULL, NULL);
	wamd_config_free(&d.cfg);
	LOGI("stopped");
	return d.exit_code;
}
