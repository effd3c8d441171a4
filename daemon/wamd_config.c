/* wamd configuration: one table of settings, each readable from a config
 * file (key = value lines, or one JSON object), from WAMD_<KEY> environment
 * variables and from --<key> flags. Precedence: flags > env > file >
 * defaults. The file is named by --config / WAMD_CONFIG (default
 * <data>/wamd.conf when it exists). Pure functions: the unit test drives
 * them with a fake environment. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wa/store_cluster.h"
#include "wamd.h"
#include "wamd_evolution_env.h"
#include "wamd_pace_limits.h"

#define CONFIG_FILE_MAX (64 * 1024)
#define CONFIG_LINE_MAX 4096

enum opt_type { T_STR, T_BOOL, T_LONG };

struct opt {
	const char *name;   /* file key; flag is --name with _ -> -; env WAMD_NAME upper */
	enum opt_type type;
	size_t off;
	const char *def;
	const char *help;
};

#define O(f) offsetof(struct wamd_config, f)
static const struct opt opts[] = {
	{ "data", T_STR, O(data_dir), "./wamd-data", "data folder (store, socket)" },
	{ "socket", T_STR, O(socket_path), NULL, "unix socket path (default <data>/wamd.sock)" },
	{ "listen", T_STR, O(listen), NULL, "also listen on TCP host:port (needs api_key)" },
	{ "api_key", T_STR, O(api_key), NULL, "global admin key (apikey header)" },
	{ "log_level", T_STR, O(log_level), "info", "error|warn|info|debug|trace" },
	{ "server_url", T_STR, O(server_url), "http://localhost:8080", "server_url in webhooks" },
	{ "wa_url", T_STR, O(wa_url), NULL, "WhatsApp websocket URL (wasim: ws://127.0.0.1:PORT/ws/chat)" },
	{ "wa_trust_root", T_STR, O(wa_trust_root), NULL, "hex server-certificate root key (wasim)" },
	{ "wa_tls_insecure", T_BOOL, O(wa_tls_insecure), "false", "accept self-signed TLS (tests)" },
	{ "wa_version", T_STR, O(wa_version), NULL, "WhatsApp Web version claimed at login (default: built in)" },
	{ "wa_version_fetch", T_BOOL, O(wa_version_fetch), "false",
	  "at start, ask WhatsApp Web for its current version (3 s at most; never fails the start)" },
	{ "wa_version_fetch_url", T_STR, O(wa_version_fetch_url), "https://web.whatsapp.com/sw.js",
	  "where wa_version_fetch asks" },
	{ "qrcode_limit", T_LONG, O(qrcode_limit), "0", "stop an unpaired instance after this many QR codes (0: never)" },
	{ "device_name", T_STR, O(device_name), "wamd", "name shown in the phone's linked devices" },
	{ "master_key_file", T_STR, O(master_key_file), NULL, "key file encrypting private columns" },
	{ "seal_messages", T_BOOL, O(seal_messages), "false", "also encrypt message bodies at rest (needs the master key)" },
	{ "socket_trusted", T_BOOL, O(socket_trusted), "true", "unix socket clients need no key" },
	{ "socket_group", T_STR, O(socket_group), NULL, "group owning the unix socket (with socket_trusted: admin rights)" },
	{ "webhook_global_url", T_STR, O(webhook_global_url), NULL, "global webhook URL" },
	{ "webhook_global_by_events", T_BOOL, O(webhook_global_by_events), "false", "append /event-name" },
	{ "webhook_global_events", T_STR, O(webhook_global_events), NULL, "comma list (empty: all)" },
	{ "webhook_global_secret", T_STR, O(webhook_global_secret), NULL, "HMAC key for the global webhook" },
	{ "webhook_initial_delay_ms", T_LONG, O(webhook_initial_delay_ms), "5000", "first retry delay" },
	{ "webhook_max_delay_ms", T_LONG, O(webhook_max_delay_ms), "300000", "retry delay cap" },
	{ "webhook_max_attempts", T_LONG, O(webhook_max_attempts), "0", "0: retry until max age" },
	{ "webhook_max_age_s", T_LONG, O(webhook_max_age_s), "259200", "give up on an event this old" },
	{ "webhook_timeout_ms", T_LONG, O(webhook_timeout_ms), "30000",
	  "limit of one attempt: lookup, connect, request, answer" },
	{ "webhook_non_retryable", T_STR, O(webhook_non_retryable), "400,401,403,404,422", "dropped codes" },
	{ "webhook_allow_loopback", T_BOOL, O(webhook_allow_loopback), "false", "allow 127/8, ::1" },
	{ "webhook_allow_private", T_BOOL, O(webhook_allow_private), "false", "allow RFC1918/link-local" },
	{ "store", T_STR, O(store), NULL,
	  "SQLite file (default <data>/wamd.db) or a postgresql:// URI" },
	{ "store_exclusive", T_BOOL, O(store_exclusive), "true", "lock the store for this process (false: sqlite3 may read it live)" },
	{ "store_mmap_mib", T_LONG, O(store_mmap_mib), "0", "read the store through a mapping this large (0: pread)" },
	{ "store_group_commit", T_BOOL, O(store_group_commit), "true", "SQLite: commit sends, acks and receipts once per loop turn" },
	{ "store_checkpoint_pages", T_LONG, O(store_checkpoint_pages), "0", "checkpoint the WAL at this many pages (0: SQLite's 1000)" },
	{ "history_demand_timeout_s", T_LONG, O(history_demand_timeout_s), "120",
	  "a fetchHistory request the phone leaves unanswered this long emits HISTORY_DEMAND_TIMEOUT" },
	{ "cluster", T_BOOL, O(cluster), "false",
	  "cluster mode: several nodes share the PostgreSQL store, each instance leased to one (docs/wamd.md)" },
	{ "node_id", T_STR, O(node_id), NULL, "cluster: this node's name (default: host name and process id)" },
	{ "lease_seconds", T_LONG, O(lease_seconds), "0",
	  "cluster: a lease lasts this long unless renewed, failover takes about as long (0: 15)" },
	{ "max_handshakes", T_LONG, O(max_handshakes), "32", "sessions connecting at once (restart/reconnect storms)" },
	{ "startup_spread_per_instance_ms", T_LONG, O(startup_spread_per_instance_ms), "5",
	  "startup: first connects spread over this x instances..." },
	{ "startup_spread_max_ms", T_LONG, O(startup_spread_max_ms), "5000", "...but at most this long" },
	{ "expose_token", T_BOOL, O(expose_token), "false", "keep tokens to show in fetchInstances/webhooks" },
	{ "metrics_token", T_STR, O(metrics_token), NULL,
	  "token for GET /metrics only (Authorization: Bearer), besides the admin key" },
	{ "pacing", T_BOOL, O(pacing), "true",
	  "pace sends (limits, warm-up) by default; each instance can change it" },
	{ "pace_daemon_per_minute", T_LONG, O(pace_daemon_per_minute), "0",
	  "paced sends per minute across every instance (0: no daemon-wide limit)" },
	{ "pace_daemon_per_hour", T_LONG, O(pace_daemon_per_hour), "0", "the same per hour" },
	{ "pace_daemon_per_day", T_LONG, O(pace_daemon_per_day), "0", "the same per day" },
	{ "pace_groups", T_STR, O(pace_groups), NULL,
	  "tenant groups' limits: name:perMinute/perHour/perDay[,...] over the instances naming the group" },
	{ "metrics_per_instance", T_BOOL, O(metrics_per_instance), "false",
	  "per-instance series on GET /metrics (one set per instance)" },
	{ "amqp_uri", T_STR, O(amqp_uri), NULL, "RabbitMQ amqp://user:password@host:port/vhost (unset: off)" },
	{ "amqp_ca_file", T_STR, O(amqp_ca_file), NULL, "amqps://: PEM file of the CAs to trust (unset: the system's)" },
	{ "amqp_exchange", T_STR, O(amqp_exchange), "evolution_exchange", "global topic exchange" },
	{ "amqp_global", T_BOOL, O(amqp_global), "false", "every instance's events to amqp_exchange" },
	{ "amqp_global_events", T_STR, O(amqp_global_events), NULL, "comma list for amqp_global (empty: all)" },
	{ "amqp_prefix_key", T_STR, O(amqp_prefix_key), NULL, "global queues are <prefix>.<event> (unset: <event>)" },
	{ "redis_url", T_STR, O(redis_url), NULL, "Redis Streams redis[s]://[[user]:password@]host[:port][/db] (unset: off)" },
	{ "redis_ca_file", T_STR, O(redis_ca_file), NULL, "rediss://: PEM file of the CAs to trust (unset: the system's)" },
	{ "redis_stream", T_STR, O(redis_stream), "wamd:events", "stream key; per instance <key>:<instance>" },
	{ "redis_stream_global", T_BOOL, O(redis_stream_global), "false", "one stream (redis_stream) for every instance" },
	{ "redis_maxlen", T_LONG, O(redis_maxlen), "100000", "trim each stream to about this many entries (0: never)" },
	{ "redis_events", T_STR, O(redis_events), NULL, "comma list for Redis (empty: all)" },
	{ "media_probe_workers", T_LONG, O(media_probe_workers), "2",
	  "threads running FFmpeg/poppler probes of media sends at once (1-16)" },
	{ "webhook_base64_max", T_LONG, O(webhook_base64_max), "5242880",
	  "largest received file put inline as message.base64 (webhookBase64); bigger ones go without" },
	{ "media_sweep_s", T_LONG, O(media_sweep_s), "300",
	  "seconds between retention sweeps of stored received media (mediaRetentionSeconds)" },
	{ "broker_retry_max_ms", T_LONG, O(broker_retry_max_ms), "30000",
	  "retry delay cap while RabbitMQ or Redis is unreachable (events wait, never dropped)" },
};
#undef O

static char **str_at(struct wamd_config *c, const struct opt *o)
{
	return (char **)((char *)c + o->off);
}

static int set_opt(struct wamd_config *c, const struct opt *o, const char *val, char *err, size_t errlen,
		   const char *src)
{
	switch (o->type) {
	case T_STR: {
		char **p = str_at(c, o);
		char *n = strdup(val);
		if (!n)
			return -1;
		free(*p);
		*p = n;
		return 0;
	}
	case T_BOOL: {
		bool *b = (bool *)((char *)c + o->off);
		if (!strcasecmp(val, "true") || !strcmp(val, "1") || !strcasecmp(val, "yes") || !strcasecmp(val, "on"))
			*b = true;
		else if (!strcasecmp(val, "false") || !strcmp(val, "0") || !strcasecmp(val, "no") ||
			 !strcasecmp(val, "off"))
			*b = false;
		else {
			snprintf(err, errlen, "%s: %s: not a boolean", src, o->name);
			return -1;
		}
		return 0;
	}
	case T_LONG: {
		char *end;
		errno = 0;
		long v = strtol(val, &end, 10);
		if (errno || end == val || *end || v < 0) {
			snprintf(err, errlen, "%s: %s: not a non-negative integer", src, o->name);
			return -1;
		}
		*(long *)((char *)c + o->off) = v;
		return 0;
	}
	}
	return -1;
}

static const struct opt *find_opt(const char *key);

extern char **environ;

const char *wamd_real_getenv(const char *name)
{
	return getenv(name);
}

int wamd_config_set(struct wamd_config *c, const char *key, const char *val, const char *src, char *err,
		    size_t errlen)
{
	const struct opt *o = find_opt(key);
	if (!o) {
		snprintf(err, errlen, "%s: no setting %s", src, key);
		return -1;
	}
	return set_opt(c, o, val, err, errlen, src);
}

/* Finds an option by file key ("api_key" or "api-key"). */
static const struct opt *find_opt(const char *key)
{
	char norm[64];
	size_t n = strlen(key);
	if (n >= sizeof norm)
		return NULL;
	for (size_t i = 0; i <= n; i++)
		norm[i] = key[i] == '-' ? '_' : (char)tolower((unsigned char)key[i]);
	for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
		if (!strcmp(opts[i].name, norm))
			return &opts[i];
	return NULL;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

static int load_file(struct wamd_config *c, const char *path, bool must_exist, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		if (!must_exist && errno == ENOENT)
			return 0;
		snprintf(err, errlen, "config file %s: %s", path, strerror(errno));
		return -1;
	}
	char *buf = malloc(CONFIG_FILE_MAX + 1);
	if (!buf) {
		fclose(f);
		return -1;
	}
	size_t n = fread(buf, 1, CONFIG_FILE_MAX + 1, f);
	fclose(f);
	if (n > CONFIG_FILE_MAX) {
		free(buf);
		snprintf(err, errlen, "config file %s: larger than %d bytes", path, CONFIG_FILE_MAX);
		return -1;
	}
	buf[n] = '\0';
	int rc = wamd_config_parse_text(c, buf, n, path, err, errlen);
	free(buf);
	return rc;
}

int wamd_config_parse_text(struct wamd_config *c, char *buf, size_t n, const char *path, char *err, size_t errlen)
{
	int rc = 0;
	char *p = buf;
	while (*p && isspace((unsigned char)*p))
		p++;
	if (*p == '{') {
		json_error_t je;
		json_t *root = json_loadb(buf, n, JSON_REJECT_DUPLICATES, &je);
		if (!root || !json_is_object(root)) {
			snprintf(err, errlen, "config file %s: JSON line %d: %s", path, je.line, je.text);
			json_decref(root);
			return -1;
		}
		const char *k;
		json_t *v;
		json_object_foreach(root, k, v) {
			const struct opt *o = find_opt(k);
			if (!o) {
				snprintf(err, errlen, "config file %s: unknown key '%s'", path, k);
				rc = -1;
				break;
			}
			char tmp[64];
			const char *sv;
			if (json_is_string(v))
				sv = json_string_value(v);
			else if (json_is_boolean(v))
				sv = json_is_true(v) ? "true" : "false";
			else if (json_is_integer(v)) {
				snprintf(tmp, sizeof tmp, "%lld", (long long)json_integer_value(v));
				sv = tmp;
			} else {
				snprintf(err, errlen, "config file %s: '%s' must be a string, number or boolean", path, k);
				rc = -1;
				break;
			}
			if (set_opt(c, o, sv, err, errlen, path) != 0) {
				rc = -1;
				break;
			}
		}
		json_decref(root);
		return rc;
	}
	int lineno = 0;
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		char *l = trim(line);
		if (!*l || *l == '#' || *l == ';')
			continue;
		char *eq = strchr(l, '=');
		if (!eq) {
			snprintf(err, errlen, "config file %s:%d: expected key = value", path, lineno);
			rc = -1;
			break;
		}
		*eq = '\0';
		char *k = trim(l), *v = trim(eq + 1);
		size_t vl = strlen(v);
		if (vl >= 2 && ((v[0] == '"' && v[vl - 1] == '"') || (v[0] == '\'' && v[vl - 1] == '\''))) {
			v[vl - 1] = '\0';
			v++;
		}
		const struct opt *o = find_opt(k);
		if (!o) {
			snprintf(err, errlen, "config file %s:%d: unknown key '%s'", path, lineno, k);
			rc = -1;
			break;
		}
		if (set_opt(c, o, v, err, errlen, path) != 0) {
			rc = -1;
			break;
		}
	}
	return rc;
}

static void env_name(const struct opt *o, char *out, size_t outlen)
{
	snprintf(out, outlen, "WAMD_");
	size_t k = strlen(out);
	for (const char *p = o->name; *p && k + 1 < outlen; p++)
		out[k++] = (char)toupper((unsigned char)*p);
	out[k] = '\0';
}

/* Matches "--name" / "--name=value" (dashes or underscores). */
static const struct opt *match_flag(const char *arg, const char **val)
{
	if (strncmp(arg, "--", 2) != 0)
		return NULL;
	char key[64];
	const char *eq = strchr(arg, '=');
	size_t n = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
	if (n == 0 || n >= sizeof key)
		return NULL;
	memcpy(key, arg + 2, n);
	key[n] = '\0';
	*val = eq ? eq + 1 : NULL;
	return find_opt(key);
}

int wamd_config_load(struct wamd_config *c, int argc, char **argv,
		     const char *(*getenv_fn)(const char *name), char *err, size_t errlen, bool *want_help)
{
	memset(c, 0, sizeof *c);
	*want_help = false;
	err[0] = '\0';
	for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
		if (opts[i].def && set_opt(c, &opts[i], opts[i].def, err, errlen, "default") != 0)
			return -1;
	/* First pass over flags: --help, --config and unknown flags. */
	const char *cfg_flag = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			*want_help = true;
			return 0;
		}
		if (!strncmp(a, "--config", 8) && (a[8] == '\0' || a[8] == '=')) {
			if (a[8] == '=')
				cfg_flag = a + 9;
			else if (i + 1 < argc)
				cfg_flag = argv[++i];
			else {
				snprintf(err, errlen, "--config needs a value");
				return -1;
			}
			continue;
		}
		const char *v;
		const struct opt *o = match_flag(a, &v);
		if (!o) {
			snprintf(err, errlen, "unknown argument '%s' (see --help)", a);
			return -1;
		}
		if (!v && o->type != T_BOOL) {
			if (i + 1 >= argc) {
				snprintf(err, errlen, "%s needs a value", a);
				return -1;
			}
			i++;
		} else if (!v && o->type == T_BOOL && i + 1 < argc &&
			   (!strcmp(argv[i + 1], "true") || !strcmp(argv[i + 1], "false"))) {
			i++;
		}
	}
	/* The data folder decides the default config path and holds .env,
	 * so resolve it in precedence order first (flag > env > default). */
	const char *env_cfg = getenv_fn("WAMD_CONFIG");
	const char *cfg_path = cfg_flag ? cfg_flag : (env_cfg && *env_cfg) ? env_cfg : NULL;
	const char *data = c->data_dir;
	const char *ed = getenv_fn("WAMD_DATA");
	if (ed && *ed)
		data = ed;
	for (int i = 1; i < argc; i++) {
		const char *v;
		const struct opt *o = match_flag(argv[i], &v);
		if (o && !strcmp(o->name, "data"))
			data = v ? v : (i + 1 < argc ? argv[i + 1] : data);
	}
	char data_copy[4096];
	snprintf(data_copy, sizeof data_copy, "%s", data);
	if (cfg_path) {
		c->config_file = strdup(cfg_path);
		if (load_file(c, cfg_path, true, err, errlen) != 0)
			return -1;
	} else {
		/* default: <data>/wamd.conf if present */
		char path[4096];
		snprintf(path, sizeof path, "%s/wamd.conf", data);
		if (access(path, F_OK) == 0) {
			c->config_file = strdup(path);
			if (load_file(c, path, true, err, errlen) != 0)
				return -1;
		}
	}
	/* Evolution API's names (and <data>/.env), under WAMD_* names */
	if (wamd_evolution_env_apply(c, data_copy, getenv_fn, getenv_fn == wamd_real_getenv ? environ : NULL,
				     wamd_config_set, err, errlen) != 0) {
		wamd_dotenv_clear();
		return -1;
	}
	for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
		char en[80];
		env_name(&opts[i], en, sizeof en);
		const char *v = wamd_env_get(getenv_fn, en);
		if (v && set_opt(c, &opts[i], v, err, errlen, en) != 0) {
			wamd_dotenv_clear();
			return -1;
		}
	}
	wamd_dotenv_clear();
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strncmp(a, "--config", 8) && (a[8] == '\0' || a[8] == '=')) {
			if (a[8] == '\0')
				i++;
			continue;
		}
		const char *v;
		const struct opt *o = match_flag(a, &v);
		if (!v) {
			if (o->type == T_BOOL) {
				v = "true";
				if (i + 1 < argc && (!strcmp(argv[i + 1], "true") || !strcmp(argv[i + 1], "false")))
					v = argv[++i];
			} else {
				v = argv[++i];
			}
		}
		if (set_opt(c, o, v, err, errlen, a) != 0)
			return -1;
	}
	if (c->history_demand_timeout_s < 1 || c->history_demand_timeout_s > 86400) {
		snprintf(err, errlen, "history_demand_timeout_s must be 1..86400");
		return -1;
	}
	if (c->store_checkpoint_pages < 0 || c->store_checkpoint_pages > 1000000) {
		snprintf(err, errlen, "store_checkpoint_pages must be 0..1000000");
		return -1;
	}
	if (c->store_mmap_mib > 65536) {
		snprintf(err, errlen, "store_mmap_mib must be at most 65536");
		return -1;
	}
	if (wamd_config_check_cluster(c, err, errlen) != 0)
		return -1;
	if (c->pace_daemon_per_minute > 100000 || c->pace_daemon_per_hour > 100000 || c->pace_daemon_per_day > 100000) {
		snprintf(err, errlen, "pace_daemon_per_minute, _per_hour and _per_day must be at most 100000");
		return -1;
	}
	struct pace_group_limits *pg = NULL;
	size_t npg = 0;
	if (pace_groups_parse(c->pace_groups, &pg, &npg, err, errlen) != 0)
		return -1;
	free(pg);
	if (c->max_handshakes < 1 || c->max_handshakes > WAMD_MAX_HANDSHAKES_LIMIT) {
		snprintf(err, errlen, "max_handshakes must be 1..%d", WAMD_MAX_HANDSHAKES_LIMIT);
		return -1;
	}
	if (c->startup_spread_max_ms > WAMD_STARTUP_SPREAD_LIMIT_MS ||
	    c->startup_spread_per_instance_ms > WAMD_STARTUP_SPREAD_LIMIT_MS) {
		snprintf(err, errlen, "startup spread settings must be at most %d ms", WAMD_STARTUP_SPREAD_LIMIT_MS);
		return -1;
	}
	if (wamd_log_level_parse(c->log_level) < 0) {
		snprintf(err, errlen, "log_level '%s' is not one of error, warn, info, debug, trace", c->log_level);
		return -1;
	}
	if (!c->socket_path || !*c->socket_path) {
		char path[4096];
		snprintf(path, sizeof path, "%s/wamd.sock", c->data_dir);
		free(c->socket_path);
		c->socket_path = strdup(path);
	}
	if (c->webhook_global_url && *c->webhook_global_url) {
		char why[320];
		const char *r = wamd_webhook_url_policy(c, c->webhook_global_url, why, sizeof why);
		if (r) {
			snprintf(err, errlen, "webhook_global_url %.200s refused: %s", c->webhook_global_url, r);
			return -1;
		}
	}
	if (c->webhook_timeout_ms < 1 || c->webhook_timeout_ms > 3600000) {
		snprintf(err, errlen, "webhook_timeout_ms must be 1..3600000");
		return -1;
	}
	if (c->webhook_base64_max < 0 || c->webhook_base64_max > (64l << 20)) {
		snprintf(err, errlen, "webhook_base64_max must be 0..67108864 (bytes)");
		return -1;
	}
	if (c->media_sweep_s < 1 || c->media_sweep_s > 86400) {
		snprintf(err, errlen, "media_sweep_s must be 1..86400");
		return -1;
	}
	if (c->media_probe_workers < 1 || c->media_probe_workers > 16) {
		snprintf(err, errlen, "media_probe_workers must be 1..16");
		return -1;
	}
	if (c->webhook_initial_delay_ms < 1)
		c->webhook_initial_delay_ms = 1;
	if (c->webhook_max_delay_ms < c->webhook_initial_delay_ms)
		c->webhook_max_delay_ms = c->webhook_initial_delay_ms;
	return 0;
}

/* cluster mode (wamd_cluster.c) is for PostgreSQL stores only */
int wamd_config_check_cluster(const struct wamd_config *c, char *err, size_t errlen)
{
	bool pg = c->store && (!strncmp(c->store, "postgres://", 11) || !strncmp(c->store, "postgresql://", 13));
	if (!c->cluster) {
		if ((c->node_id && *c->node_id) || c->lease_seconds != 0) {
			snprintf(err, errlen, "node_id and lease_seconds are cluster settings: set cluster = true");
			return -1;
		}
		return 0;
	}
	if (!pg) {
		snprintf(err, errlen,
			 "cluster mode needs a PostgreSQL store (store = postgresql://...): a SQLite store belongs to "
			 "one process, so wamd on SQLite always runs alone");
		return -1;
	}
	if (c->lease_seconds != 0 && (c->lease_seconds < WAMD_LEASE_MIN_S || c->lease_seconds > WAMD_LEASE_MAX_S)) {
		snprintf(err, errlen, "lease_seconds must be %d..%d", WAMD_LEASE_MIN_S, WAMD_LEASE_MAX_S);
		return -1;
	}
	if (c->node_id && (!*c->node_id || strlen(c->node_id) >= WA_STORE_NODE_MAX)) {
		snprintf(err, errlen, "node_id must be 1..%d bytes", WA_STORE_NODE_MAX - 1);
		return -1;
	}
	return 0;
}

void wamd_config_free(struct wamd_config *c)
{
	free(c->config_file);
	for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
		if (opts[i].type == T_STR) {
			char **p = str_at(c, &opts[i]);
			if (*p && (opts[i].off == offsetof(struct wamd_config, api_key) ||
				   opts[i].off == offsetof(struct wamd_config, metrics_token) ||
				   opts[i].off == offsetof(struct wamd_config, amqp_uri) ||
				   opts[i].off == offsetof(struct wamd_config, store) ||
				   opts[i].off == offsetof(struct wamd_config, redis_url)))
				explicit_bzero(*p, strlen(*p));
			free(*p);
		}
	memset(c, 0, sizeof *c);
}

void wamd_config_usage(FILE *f)
{
	fprintf(f, "usage: wamd [--config FILE] [--<setting> VALUE]...\n       wamd --version | --help\n\n"
		   "Each setting can also be given as WAMD_<SETTING> in the environment or as\n"
		   "'setting = value' (or a JSON object) in the config file. Precedence:\n"
		   "flags > environment > config file > defaults. SIGHUP re-reads log_level,\n"
		   "the webhook and the event output settings and the pacing limits (pace_daemon_*, pace_groups).\n\nsettings:\n");
	for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
		char flag[64];
		snprintf(flag, sizeof flag, "--%s", opts[i].name);
		for (char *p = flag; *p; p++)
			if (*p == '_')
				*p = '-';
		fprintf(f, "  %-28s %s%s%s%s\n", flag, opts[i].help, opts[i].def ? " [" : "",
			opts[i].def ? opts[i].def : "", opts[i].def ? "]" : "");
	}
}

bool wamd_key_is_weak(const char *key)
{
	static const char *weak[] = { "changeme", "change-me", "apikey", "api_key", "secret", "password",
		"admin", "test", "evolution", "B6D711FCDE4D4FD5936544120E713976", /* Evolution's sample env */
		"429683C4C977415CAAFCCE10F7D57E11", "mude-me", "123456" };
	if (!key || strlen(key) < 16)
		return true;
	for (size_t i = 0; i < sizeof weak / sizeof weak[0]; i++)
		if (!strcasecmp(key, weak[i]))
			return true;
	return false;
}

/* A postgres(ql):// URI with user:password@ or password=... (libpq reads
 * either); a SQLite path is never a secret. */
static bool store_has_password(const char *s)
{
	if (!s || (strncmp(s, "postgres://", 11) != 0 && strncmp(s, "postgresql://", 13) != 0))
		return false;
	const char *auth = strstr(s, "://") + 3, *at = strchr(auth, '@'), *slash = strchr(auth, '/');
	if (at && (!slash || at < slash) && memchr(auth, ':', (size_t)(at - auth)))
		return true;
	return strstr(s, "password=") != NULL;
}

/* The config file can hold the admin key and the global webhook secret:
 * nobody but its owner may change it, and while it holds a secret nobody
 * else may read it. Checked on the opened file (no race with a rename). */
int wamd_config_check_file(const struct wamd_config *c, char *err, size_t errlen)
{
	if (!c->config_file)
		return 0;
	FILE *f = fopen(c->config_file, "r");
	if (!f) {
		snprintf(err, errlen, "config file %s: %s", c->config_file, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fileno(f), &st) != 0) {
		snprintf(err, errlen, "config file %s: %s", c->config_file, strerror(errno));
		fclose(f);
		return -1;
	}
	unsigned mode = (unsigned)(st.st_mode & 07777);
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		fclose(f);
		snprintf(err, errlen, "config file %s has mode %04o: writable by group or others; "
			 "refusing to start (chmod go-w, or 600 when it holds api_key or a secret)", c->config_file, mode);
		return -1;
	}
	int rc = 0;
	if (st.st_mode & (S_IRGRP | S_IROTH)) {
		/* which settings does the file itself set? */
		char *buf = malloc(CONFIG_FILE_MAX + 1);
		size_t n = buf ? fread(buf, 1, CONFIG_FILE_MAX, f) : 0;
		struct wamd_config fc;
		memset(&fc, 0, sizeof fc);
		char perr[256];
		if (buf) {
			buf[n] = '\0';
			(void)wamd_config_parse_text(&fc, buf, n, c->config_file, perr, sizeof perr);
			explicit_bzero(buf, n);
			free(buf);
		}
		const char *secret = fc.api_key && *fc.api_key ? "api_key"
				     : fc.webhook_global_secret && *fc.webhook_global_secret ? "webhook_global_secret"
				     : fc.metrics_token && *fc.metrics_token ? "metrics_token"
				     : fc.amqp_uri && strchr(fc.amqp_uri, '@') ? "amqp_uri (a password)"
				     : fc.redis_url && strchr(fc.redis_url, '@') ? "redis_url (a password)"
				     : store_has_password(fc.store) ? "store (a PostgreSQL password)" : NULL;
		if (secret) {
			snprintf(err, errlen, "config file %s has mode %04o and holds %s: readable by group or others; "
				 "refusing to start (chmod 600)", c->config_file, mode, secret);
			rc = -1;
		}
		if (fc.webhook_global_secret)
			explicit_bzero(fc.webhook_global_secret, strlen(fc.webhook_global_secret));
		wamd_config_free(&fc);
	}
	fclose(f);
	return rc;
}
