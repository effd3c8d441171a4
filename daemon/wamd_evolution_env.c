/* Evolution API's environment variable names for the settings wamd has,
 * and the .env file of the data folder, so that a deployment moving from
 * Evolution keeps its environment. Layering (wamd_config_load): defaults <
 * config file < Evolution names < WAMD_* names < flags; a name set in the
 * process environment wins over the same name in <data>/.env (dotenv's
 * rule: the file never overrides the environment). Evolution settings wamd
 * has no use for (database, cache, S3, ...) are accepted and listed once
 * as ignored; they are never an error. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wamd.h"
#include "wamd_evolution_env.h"

#define DOTENV_MAX (64 * 1024)
#define DOTENV_KEYS 512

struct kv {
	char *k, *v;
};
static struct kv g_dotenv[DOTENV_KEYS];
static size_t g_ndotenv;
static char g_ignored[2048];

void wamd_dotenv_clear(void)
{
	for (size_t i = 0; i < g_ndotenv; i++) {
		if (g_dotenv[i].v)
			explicit_bzero(g_dotenv[i].v, strlen(g_dotenv[i].v)); /* may hold the API key */
		free(g_dotenv[i].k);
		free(g_dotenv[i].v);
	}
	g_ndotenv = 0;
}

static const char *dotenv_get(const char *name)
{
	for (size_t i = g_ndotenv; i-- > 0;)
		if (!strcmp(g_dotenv[i].k, name))
			return g_dotenv[i].v;
	return NULL;
}

const char *wamd_env_get(const char *(*getenv_fn)(const char *), const char *name)
{
	const char *v = getenv_fn(name);
	return v ? v : dotenv_get(name);
}

static bool key_ok(const char *k)
{
	if (!*k || isdigit((unsigned char)*k))
		return false;
	for (; *k; k++)
		if (!isalnum((unsigned char)*k) && *k != '_')
			return false;
	return true;
}

/* KEY=value lines as dotenv reads them: "export " allowed, # comments,
 * '…' kept literally, "…" with \n escapes, unquoted values end at " #". */
int wamd_dotenv_parse(char *buf, const char *path, char *err, size_t errlen)
{
	int lineno = 0;
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		char *l = line;
		while (isspace((unsigned char)*l))
			l++;
		size_t n = strlen(l);
		while (n && isspace((unsigned char)l[n - 1]))
			l[--n] = '\0';
		if (!*l || *l == '#')
			continue;
		if (!strncmp(l, "export ", 7))
			l += 7;
		char *eq = strchr(l, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%d: expected KEY=value", path, lineno);
			return -1;
		}
		*eq = '\0';
		char *k = l, *v = eq + 1;
		size_t kl = strlen(k);
		while (kl && isspace((unsigned char)k[kl - 1]))
			k[--kl] = '\0';
		while (isspace((unsigned char)*v))
			v++;
		if (!key_ok(k)) {
			snprintf(err, errlen, "%s:%d: '%s' is not a variable name", path, lineno, k);
			return -1;
		}
		if (*v == '\'' || *v == '"') {
			char q = *v++;
			char *end = strrchr(v, q);
			if (!end) {
				snprintf(err, errlen, "%s:%d: unterminated quote", path, lineno);
				return -1;
			}
			*end = '\0';
			if (q == '"') {
				char *w = v;
				for (char *r = v; *r; r++) {
					if (r[0] == '\\' && r[1] == 'n') {
						*w++ = '\n';
						r++;
					} else {
						*w++ = *r;
					}
				}
				*w = '\0';
			}
		} else {
			char *hash = strstr(v, " #");
			if (hash)
				*hash = '\0';
			size_t vl = strlen(v);
			while (vl && isspace((unsigned char)v[vl - 1]))
				v[--vl] = '\0';
		}
		if (g_ndotenv == DOTENV_KEYS) {
			snprintf(err, errlen, "%s: more than %d variables", path, DOTENV_KEYS);
			return -1;
		}
		g_dotenv[g_ndotenv].k = strdup(k);
		g_dotenv[g_ndotenv].v = strdup(v);
		if (!g_dotenv[g_ndotenv].k || !g_dotenv[g_ndotenv].v) {
			free(g_dotenv[g_ndotenv].k);
			free(g_dotenv[g_ndotenv].v);
			return -1;
		}
		g_ndotenv++;
	}
	return 0;
}

static int dotenv_load(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	char *buf = malloc(DOTENV_MAX + 1);
	if (!buf) {
		fclose(f);
		return -1;
	}
	size_t n = fread(buf, 1, DOTENV_MAX + 1, f);
	fclose(f);
	int rc = -1;
	if (n > DOTENV_MAX)
		snprintf(err, errlen, "%s: larger than %d bytes", path, DOTENV_MAX);
	else {
		buf[n] = '\0';
		rc = wamd_dotenv_parse(buf, path, err, errlen);
	}
	explicit_bzero(buf, n < DOTENV_MAX ? n : DOTENV_MAX);
	free(buf);
	return rc;
}

/* Evolution name -> wamd setting, value used as is. */
static const struct {
	const char *evo, *wamd;
} direct[] = {
	{ "AUTHENTICATION_API_KEY", "api_key" },
	{ "SERVER_URL", "server_url" },
	{ "WEBHOOK_GLOBAL_WEBHOOK_BY_EVENTS", "webhook_global_by_events" },
	{ "AUTHENTICATION_EXPOSE_IN_FETCH_INSTANCES", "expose_token" },
	{ "CONFIG_SESSION_PHONE_VERSION", "wa_version" },
	{ "CONFIG_SESSION_PHONE_CLIENT", "device_name" },
	{ "WEBHOOK_REQUEST_TIMEOUT_MS", "webhook_timeout_ms" },
	{ "WEBHOOK_RETRY_MAX_ATTEMPTS", "webhook_max_attempts" },
	{ "WEBHOOK_RETRY_NON_RETRYABLE_STATUS_CODES", "webhook_non_retryable" },
	{ "QRCODE_LIMIT", "qrcode_limit" },
	{ "RABBITMQ_EXCHANGE_NAME", "amqp_exchange" },
	{ "RABBITMQ_GLOBAL_ENABLED", "amqp_global" },
	{ "RABBITMQ_PREFIX_KEY", "amqp_prefix_key" },
};

/* Evolution's WEBHOOK_EVENTS_* switches (global webhook). */
static const char *const evo_events[] = {
	"APPLICATION_STARTUP", "QRCODE_UPDATED", "MESSAGES_SET", "MESSAGES_UPSERT", "MESSAGES_EDITED",
	"MESSAGES_UPDATE", "MESSAGES_DELETE", "SEND_MESSAGE", "SEND_MESSAGE_UPDATE", "CONTACTS_SET",
	"CONTACTS_UPSERT", "CONTACTS_UPDATE", "PRESENCE_UPDATE", "CHATS_SET", "CHATS_UPSERT",
	"CHATS_UPDATE", "CHATS_DELETE", "GROUPS_UPSERT", "GROUPS_UPDATE", "GROUP_PARTICIPANTS_UPDATE",
	"CONNECTION_UPDATE", "LABELS_EDIT", "LABELS_ASSOCIATION", "CALL", "TYPEBOT_START",
	"TYPEBOT_CHANGE_STATUS", "REMOVE_INSTANCE", "LOGOUT_INSTANCE", "INSTANCE_CREATE",
	"INSTANCE_DELETE", "STATUS_INSTANCE",
};

/* Evolution settings families that configure what wamd does not have. */
static const char *const ignored_prefixes[] = {
	"DATABASE_", "CACHE_", "S3_", "RABBITMQ_FRAME_MAX", "SQS_", "WEBSOCKET_", "PUSHER_", "KAFKA_", "NATS_",
	"CHATWOOT_", "TYPEBOT_", "OPENAI_", "DIFY_", "N8N_", "EVOAI_", "FLOWISE_", "CORS_", "SSL_CONF_",
	"WA_BUSINESS_", "TELEMETRY", "SENTRY_", "PROMETHEUS_", "QRCODE_COLOR", "LANGUAGE", "LOG_COLOR",
	"LOG_BAILEYS", "SERVER_TYPE", "SERVER_NAME", "SERVER_DISABLE_", "EVENT_EMITTER_", "DEL_TEMP_INSTANCES",
	"CONFIG_SESSION_PHONE_NAME", "AUTHENTICATION_TYPE", "PROXY_", "WEBHOOK_RETRY_USE_EXPONENTIAL_BACKOFF",
	"WEBHOOK_RETRY_JITTER_FACTOR", "WEBHOOK_EVENTS_ERRORS", "PROVIDER_", "AUTHENTICATION_JWT_",
	"SERVER_PORT_", "DEL_INSTANCE",
};

static bool is_ignored(const char *name)
{
	if (!strncmp(name, "RABBITMQ_EVENTS_", 16))
		return false;
	if (!strncmp(name, "WEBHOOK_EVENTS_", 15) && strncmp(name, "WEBHOOK_EVENTS_ERRORS", 21) != 0)
		return false;
	for (size_t i = 0; i < sizeof ignored_prefixes / sizeof ignored_prefixes[0]; i++)
		if (!strncmp(name, ignored_prefixes[i], strlen(ignored_prefixes[i])))
			return true;
	return false;
}

static void note_ignored(const char *name)
{
	size_t nl = strlen(name), have = strlen(g_ignored);
	/* once per name */
	for (const char *p = g_ignored; (p = strstr(p, name)) != NULL; p += nl)
		if ((p == g_ignored || (p - g_ignored >= 2 && p[-2] == ',')) && (p[nl] == ',' || p[nl] == '\0'))
			return;
	if (have + nl + 3 >= sizeof g_ignored)
		return;
	snprintf(g_ignored + have, sizeof g_ignored - have, "%s%s", have ? ", " : "", name);
}

const char *wamd_evolution_ignored(void)
{
	return g_ignored;
}

static bool truthy(const char *v)
{
	return v && (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes") || !strcasecmp(v, "on"));
}

/* Evolution's LOG_LEVEL is a list of enabled kinds
 * ("ERROR,WARN,DEBUG,INFO,LOG,VERBOSE,DARK,WEBHOOKS,WEBSOCKET"); wamd's the
 * most detailed level in it. */
static const char *log_level_of(const char *list)
{
	char up[256];
	size_t n = 0;
	for (; list[n] && n + 1 < sizeof up; n++)
		up[n] = (char)toupper((unsigned char)list[n]);
	up[n] = '\0';
	if (wamd_log_level_parse(list) >= 0 && !strchr(list, ','))
		return NULL; /* already one of ours: used as is */
	if (strstr(up, "VERBOSE") || strstr(up, "DEBUG"))
		return "debug";
	if (strstr(up, "INFO") || strstr(up, "LOG"))
		return "info";
	if (strstr(up, "WARN"))
		return "warn";
	return "error";
}

int wamd_evolution_env_apply(struct wamd_config *c, const char *data_dir,
			     const char *(*getenv_fn)(const char *), char *const *envp, wamd_config_set_fn set,
			     char *err, size_t errlen)
{
	wamd_dotenv_clear();
	g_ignored[0] = '\0';
	if (data_dir) {
		char path[4096];
		snprintf(path, sizeof path, "%s/.env", data_dir);
		if (dotenv_load(path, err, errlen) != 0)
			return -1;
	}
	char src[96];
	for (size_t i = 0; i < sizeof direct / sizeof direct[0]; i++) {
		const char *v = wamd_env_get(getenv_fn, direct[i].evo);
		if (!v)
			continue;
		snprintf(src, sizeof src, "%s (Evolution name)", direct[i].evo);
		if (set(c, direct[i].wamd, v, src, err, errlen) != 0)
			return -1;
	}
	const char *v = wamd_env_get(getenv_fn, "LOG_LEVEL");
	if (v && *v) {
		const char *lvl = log_level_of(v);
		if (set(c, "log_level", lvl ? lvl : v, "LOG_LEVEL (Evolution name)", err, errlen) != 0)
			return -1;
	}
	/* SERVER_PORT: Evolution listens on every interface */
	v = wamd_env_get(getenv_fn, "SERVER_PORT");
	if (v && *v) {
		char *end;
		long port = strtol(v, &end, 10);
		if (*end || port < 1 || port > 65535) {
			snprintf(err, errlen, "SERVER_PORT (Evolution name): not a port number");
			return -1;
		}
		char listen[32];
		snprintf(listen, sizeof listen, "0.0.0.0:%ld", port);
		if (set(c, "listen", listen, "SERVER_PORT (Evolution name)", err, errlen) != 0)
			return -1;
	}
	/* the global webhook is on only with WEBHOOK_GLOBAL_ENABLED=true */
	const char *url = wamd_env_get(getenv_fn, "WEBHOOK_GLOBAL_URL");
	const char *en = wamd_env_get(getenv_fn, "WEBHOOK_GLOBAL_ENABLED");
	if (url && *url && truthy(en)) {
		if (set(c, "webhook_global_url", url, "WEBHOOK_GLOBAL_URL (Evolution name)", err, errlen) != 0)
			return -1;
	} else if (url && *url) {
		note_ignored("WEBHOOK_GLOBAL_URL (WEBHOOK_GLOBAL_ENABLED is not true)");
	}
	/* WEBHOOK_EVENTS_X / RABBITMQ_EVENTS_X = true|false: the global
	 * webhook's and the global exchange's event lists */
	static const char *const families[][2] = { { "WEBHOOK_EVENTS_", "webhook_global_events" },
						   { "RABBITMQ_EVENTS_", "amqp_global_events" } };
	for (size_t f = 0; f < 2; f++) {
		char list[1024] = "";
		bool any = false;
		for (size_t i = 0; i < sizeof evo_events / sizeof evo_events[0]; i++) {
			char name[80];
			snprintf(name, sizeof name, "%s%s", families[f][0], evo_events[i]);
			const char *sw = wamd_env_get(getenv_fn, name);
			if (!sw)
				continue;
			any = true;
			if (truthy(sw)) {
				size_t have = strlen(list);
				snprintf(list + have, sizeof list - have, "%s%s", have ? "," : "", evo_events[i]);
			}
		}
		snprintf(src, sizeof src, "%s* (Evolution names)", families[f][0]);
		/* every switch off: nothing (an unknown name matches no event) */
		if (any && set(c, families[f][1], list[0] ? list : "NONE", src, err, errlen) != 0)
			return -1;
	}
	/* RabbitMQ is on only with RABBITMQ_ENABLED=true */
	const char *uri = wamd_env_get(getenv_fn, "RABBITMQ_URI");
	if (uri && *uri && truthy(wamd_env_get(getenv_fn, "RABBITMQ_ENABLED"))) {
		if (set(c, "amqp_uri", uri, "RABBITMQ_URI (Evolution name)", err, errlen) != 0)
			return -1;
	} else if (uri && *uri) {
		note_ignored("RABBITMQ_URI (RABBITMQ_ENABLED is not true)");
	}
	/* what is set but has no meaning here */
	for (char *const *e = envp; e && *e; e++) {
		char name[128];
		const char *eq = strchr(*e, '=');
		size_t nl = eq ? (size_t)(eq - *e) : strlen(*e);
		if (nl >= sizeof name)
			continue;
		memcpy(name, *e, nl);
		name[nl] = '\0';
		if (is_ignored(name))
			note_ignored(name);
	}
	for (size_t i = 0; i < g_ndotenv; i++)
		if (is_ignored(g_dotenv[i].k))
			note_ignored(g_dotenv[i].k);
	return 0;
}
