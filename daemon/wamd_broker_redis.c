/* Redis Streams through hiredis, on the publisher thread of wamd_broker.c:
 * each event is one XADD to the instance's stream (or the global one)
 * with the fields event, instance and data (the envelope's data as JSON),
 * trimmed with MAXLEN ~ redis_maxlen. The entry id in the reply is the
 * confirmation. Blocking calls with WAMD_BROKER_IO_TIMEOUT_S on connect
 * and on every reply; any error drops the connection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "wamd.h"
#include "wamd_broker.h"

struct redis_be {
	struct wamd_redis_addr a;
	redisContext *c;
};

static void *redis_open(const char *url, const char *ca_file, char *why, size_t n)
{
	(void)ca_file;
	if (!strncmp(url, "rediss://", 9)) {
		/* TLS needs hiredis_ssl (hiredis 1.0); Debian 12 ships 0.14 */
		snprintf(why, n, "rediss:// is not supported by this build's hiredis (use redis:// on a trusted network)");
		return NULL;
	}
	struct redis_be *b = calloc(1, sizeof *b);
	if (!b) {
		snprintf(why, n, "out of memory");
		return NULL;
	}
	if (wamd_broker_redis_url(url, &b->a) != 0) {
		snprintf(why, n, "redis_url is not a redis://[[user]:password@]host[:port][/db] URL");
		free(b);
		return NULL;
	}
	return b;
}

static void be_disconnect(struct redis_be *b)
{
	if (b->c) {
		redisFree(b->c);
		b->c = NULL;
	}
}

static void redis_close_be(void *be)
{
	struct redis_be *b = be;
	be_disconnect(b);
	explicit_bzero(b->a.pass, sizeof b->a.pass);
	free(b);
}

/* A reply that must be a status "OK" (AUTH, SELECT). */
static int command_ok(struct redis_be *b, char *why, size_t n, const char *what, int argc, const char **argv)
{
	redisReply *r = redisCommandArgv(b->c, argc, argv, NULL);
	int rc = r && r->type == REDIS_REPLY_STATUS ? 0 : -1;
	if (rc != 0)
		snprintf(why, n, "%s: %s", what, r && r->type == REDIS_REPLY_ERROR ? r->str : b->c->errstr);
	if (r)
		freeReplyObject(r);
	return rc;
}

static int be_connect(struct redis_be *b, char *why, size_t n)
{
	struct timeval tv = { .tv_sec = WAMD_BROKER_IO_TIMEOUT_S };
	b->c = redisConnectWithTimeout(b->a.host, b->a.port, tv);
	if (!b->c || b->c->err) {
		snprintf(why, n, "cannot connect to %s:%d: %s", b->a.host, b->a.port, b->c ? b->c->errstr : "out of memory");
		be_disconnect(b);
		return -1;
	}
	redisSetTimeout(b->c, tv);
	if (b->a.pass[0]) {
		const char *argv[] = { "AUTH", b->a.user, b->a.pass };
		int rc = b->a.user[0] ? command_ok(b, why, n, "AUTH", 3, argv)
				    : command_ok(b, why, n, "AUTH", 2, (const char *[]){ "AUTH", b->a.pass });
		if (rc != 0) {
			be_disconnect(b);
			return -1;
		}
	}
	if (b->a.db) {
		char db[24];
		snprintf(db, sizeof db, "%ld", b->a.db);
		if (command_ok(b, why, n, "SELECT", 2, (const char *[]){ "SELECT", db }) != 0) {
			be_disconnect(b);
			return -1;
		}
	}
	LOGI("redis: connected to %s:%d", b->a.host, b->a.port);
	return 0;
}

static int redis_publish_job(void *be, struct wamd_bjob *j, bool *lost, char *why, size_t n)
{
	struct redis_be *b = be;
	*lost = false;
	/* the queued body is the JSON envelope: its event, instance and data */
	json_error_t jerr;
	json_t *env = json_loadb(j->body, j->body_len, 0, &jerr);
	const char *event = json_string_value(json_object_get(env, "event"));
	const char *instance = json_string_value(json_object_get(env, "instance"));
	char *data = env ? json_dumps(json_object_get(env, "data"), JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	if (!event || !instance || !data) {
		/* never happens with what wamd_emit queues; retried like any
		 * failure rather than dropped */
		snprintf(why, n, "queued event is not an envelope");
		json_decref(env);
		free(data);
		return -1;
	}
	int rc = -1;
	if (!b->c && be_connect(b, why, n) != 0) {
		*lost = true;
		goto out;
	}
	char maxlen[24];
	snprintf(maxlen, sizeof maxlen, "%ld", j->maxlen);
	const char *argv[12];
	size_t lens[12];
	int argc = 0;
	argv[argc++] = "XADD";
	argv[argc++] = j->exchange;
	if (j->maxlen > 0) {
		argv[argc++] = "MAXLEN";
		argv[argc++] = "~";
		argv[argc++] = maxlen;
	}
	argv[argc++] = "*";
	argv[argc++] = "event";
	argv[argc++] = event;
	argv[argc++] = "instance";
	argv[argc++] = instance;
	argv[argc++] = "data";
	argv[argc++] = data;
	for (int i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	redisReply *r = redisCommandArgv(b->c, argc, argv, lens);
	if (!r) {
		snprintf(why, n, "XADD: %s", b->c->errstr);
		be_disconnect(b);
		*lost = true;
		goto out;
	}
	if (r->type == REDIS_REPLY_STRING)
		rc = 0;
	else
		snprintf(why, n, "XADD: %s", r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
	freeReplyObject(r);
out:
	json_decref(env);
	free(data);
	return rc;
}

const struct wamd_bbackend wamd_bbackend_redis = {
	.name = "redis",
	.open = redis_open,
	.publish = redis_publish_job,
	.close = redis_close_be,
};
