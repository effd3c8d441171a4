/* Unit tests of the broker outputs' names and settings: Evolution's AMQP
 * routing keys and queue names, the Redis stream keys, the RABBITMQ_*
 * variables mapped onto wamd's settings, redis_url, and the queue depth per target
 * that GET /metrics reports per output. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../unit/check.h"
#include "wamd.h"
#include "wamd_evolution_env.h"

static const char *fake_env[16][2];

static const char *fake_getenv(const char *n)
{
	for (int i = 0; i < 16 && fake_env[i][0]; i++)
		if (!strcmp(fake_env[i][0], n))
			return fake_env[i][1];
	return NULL;
}

static void test_names(void)
{
	char k[64], q[300];
	/* Evolution's dotted names, also where they are not a plain
	 * lower-casing of the upper name (GROUP_UPDATE is groups.update) */
	CHECK_EQ_INT(wamd_broker_routing_key("MESSAGES_UPSERT", k, sizeof k), 0);
	CHECK_EQ_STR(k, "messages.upsert");
	CHECK_EQ_INT(wamd_broker_routing_key("SEND_MESSAGE", k, sizeof k), 0);
	CHECK_EQ_STR(k, "send.message");
	CHECK_EQ_INT(wamd_broker_routing_key("GROUP_UPDATE", k, sizeof k), 0);
	CHECK_EQ_STR(k, "groups.update");
	CHECK_EQ_INT(wamd_broker_routing_key("SOME_NEW_EVENT", k, sizeof k), 0);
	CHECK_EQ_STR(k, "some.new.event");
	CHECK_EQ_INT(wamd_broker_routing_key("MESSAGES_UPSERT", k, 15), -1); /* no room for the NUL */
	CHECK_EQ_INT(wamd_broker_routing_key("MESSAGES_UPSERT", k, 16), 0);

	/* per instance <instance>.<event>; global [<prefix>.]<event> */
	CHECK_EQ_INT(wamd_broker_amqp_queue("sales-01", "messages.upsert", q, sizeof q), 0);
	CHECK_EQ_STR(q, "sales-01.messages.upsert");
	CHECK_EQ_INT(wamd_broker_amqp_queue(NULL, "messages.upsert", q, sizeof q), 0);
	CHECK_EQ_STR(q, "messages.upsert");
	CHECK_EQ_INT(wamd_broker_amqp_queue("", "send.message", q, sizeof q), 0);
	CHECK_EQ_STR(q, "send.message");
	/* an AMQP queue name is a short string: 255 bytes at most */
	char longname[300];
	memset(longname, 'a', 250);
	longname[250] = '\0';
	CHECK_EQ_INT(wamd_broker_amqp_queue(longname, "abcd", q, sizeof q), 0); /* 255 */
	CHECK_EQ_INT(wamd_broker_amqp_queue(longname, "abcde", q, sizeof q), -1);

	CHECK_EQ_INT(wamd_broker_stream_key("wamd:events", false, "sales-01", q, sizeof q), 0);
	CHECK_EQ_STR(q, "wamd:events:sales-01");
	CHECK_EQ_INT(wamd_broker_stream_key("wamd:events", true, "sales-01", q, sizeof q), 0);
	CHECK_EQ_STR(q, "wamd:events");
	CHECK_EQ_INT(wamd_broker_stream_key("wamd:events", false, "sales-01", q, 20), -1);
}

static void test_redis_url(void)
{
	struct wamd_redis_addr a;
	CHECK_EQ_INT(wamd_broker_redis_url("redis://127.0.0.1", &a), 0);
	CHECK_EQ_STR(a.host, "127.0.0.1");
	CHECK(a.port == 6379 && a.db == 0 && !a.user[0] && !a.pass[0] && !a.tls);
	CHECK_EQ_INT(wamd_broker_redis_url("redis://:s3cr@t@cache.local:6380/2", &a), 0);
	CHECK_EQ_STR(a.host, "cache.local");
	CHECK_EQ_STR(a.pass, "s3cr@t"); /* the last @ before the path ends the credentials */
	CHECK(a.port == 6380 && a.db == 2 && !a.user[0]);
	CHECK_EQ_INT(wamd_broker_redis_url("redis://app:pw@h/", &a), 0);
	CHECK_EQ_STR(a.user, "app");
	CHECK_EQ_STR(a.pass, "pw");
	CHECK_EQ_INT(wamd_broker_redis_url("rediss://u:p@cache.example:6390/1", &a), 0); /* TLS */
	CHECK_EQ_STR(a.host, "cache.example");
	CHECK(a.tls && a.port == 6390 && a.db == 1 && !strcmp(a.user, "u") && !strcmp(a.pass, "p"));
	CHECK_EQ_INT(wamd_broker_redis_url("redisss://h", &a), -1);
	CHECK_EQ_INT(wamd_broker_redis_url("redis:/h", &a), -1);
	CHECK_EQ_INT(wamd_broker_redis_url("redis://app@h", &a), -1); /* a user without a password */
	CHECK_EQ_INT(wamd_broker_redis_url("redis://h:0", &a), -1);
	CHECK_EQ_INT(wamd_broker_redis_url("redis://h:65536", &a), -1);
	CHECK_EQ_INT(wamd_broker_redis_url("redis://h/x", &a), -1);
	CHECK_EQ_INT(wamd_broker_redis_url("redis://", &a), -1);
	CHECK_EQ_INT(wamd_broker_redis_url("redis://h?db=1", &a), -1);
}

static void test_rabbitmq_env(const char *dir)
{
	struct wamd_config c;
	char err[256];
	bool help;
	char *argv0[] = { "wamd", NULL };
	memset(fake_env, 0, sizeof fake_env);
	const char *env[][2] = {
		{ "WAMD_DATA", dir },
		{ "RABBITMQ_ENABLED", "true" },
		{ "RABBITMQ_URI", "amqp://guest:guest@127.0.0.1:5672/" },
		{ "RABBITMQ_EXCHANGE_NAME", "crm_exchange" },
		{ "RABBITMQ_GLOBAL_ENABLED", "true" },
		{ "RABBITMQ_PREFIX_KEY", "crm" },
		{ "RABBITMQ_EVENTS_MESSAGES_UPSERT", "true" },
		{ "RABBITMQ_EVENTS_SEND_MESSAGE", "true" },
		{ "RABBITMQ_EVENTS_QRCODE_UPDATED", "false" },
		{ "RABBITMQ_FRAME_MAX", "8192" },
	};
	for (size_t i = 0; i < sizeof env / sizeof env[0]; i++) {
		fake_env[i][0] = env[i][0];
		fake_env[i][1] = env[i][1];
	}
	char *envp[] = { "RABBITMQ_ENABLED=true", "RABBITMQ_EVENTS_SEND_MESSAGE=true", "RABBITMQ_FRAME_MAX=8192", NULL };
	CHECK_EQ_INT(wamd_config_load(&c, 1, argv0, fake_getenv, err, sizeof err, &help), 0);
	CHECK_EQ_STR(c.amqp_uri, "amqp://guest:guest@127.0.0.1:5672/");
	CHECK_EQ_STR(c.amqp_exchange, "crm_exchange");
	CHECK(c.amqp_global);
	CHECK_EQ_STR(c.amqp_prefix_key, "crm");
	CHECK_EQ_STR(c.amqp_global_events, "MESSAGES_UPSERT,SEND_MESSAGE");
	CHECK(c.webhook_global_events == NULL); /* the webhook's list is its own */
	CHECK(c.redis_url == NULL);
	CHECK_EQ_STR(c.redis_stream, "wamd:events");
	CHECK(c.redis_maxlen == 100000);
	wamd_config_free(&c);
	/* what is mapped is not listed as ignored; what is not, is */
	wamd_config_set_fn set = wamd_config_set;
	CHECK_EQ_INT(wamd_config_load(&c, 1, argv0, fake_getenv, err, sizeof err, &help), 0);
	CHECK_EQ_INT(wamd_evolution_env_apply(&c, NULL, fake_getenv, envp, set, err, sizeof err), 0);
	CHECK(strstr(wamd_evolution_ignored(), "RABBITMQ_FRAME_MAX") != NULL);
	CHECK(strstr(wamd_evolution_ignored(), "RABBITMQ_ENABLED") == NULL);
	CHECK(strstr(wamd_evolution_ignored(), "RABBITMQ_EVENTS_SEND_MESSAGE") == NULL);
	wamd_config_free(&c);

	/* without RABBITMQ_ENABLED=true the URI is not used */
	fake_env[1][1] = "false";
	CHECK_EQ_INT(wamd_config_load(&c, 1, argv0, fake_getenv, err, sizeof err, &help), 0);
	CHECK(c.amqp_uri == NULL);
	wamd_config_free(&c);
	memset(fake_env, 0, sizeof fake_env);
}

/* The durable queue counted per target across instances: the webhook
 * depth and each broker output's depth are separate figures. */
static void test_count_per_target(const char *dir)
{
	char path[512];
	snprintf(path, sizeof path, "%s/broker.db", dir);
	wa_store *st = NULL;
	CHECK_EQ_INT(wa_store_open(path, NULL, &st), 0);
	if (!st)
		return;
	int64_t a = 0, b = 0, n = -1;
	CHECK_EQ_INT(wa_store_instance_create(st, "a", &a), 0);
	CHECK_EQ_INT(wa_store_instance_create(st, "b", &b), 0);
	CHECK_EQ_INT(wa_store_wh_push(st, a, WAMD_TARGET_INSTANCE, "X", "{}", 2, NULL), 0);
	CHECK_EQ_INT(wa_store_wh_push(st, a, WAMD_TARGET_REDIS, "X", "{}", 2, NULL), 0);
	CHECK_EQ_INT(wa_store_wh_push(st, b, WAMD_TARGET_REDIS, "X", "{}", 2, NULL), 0);
	CHECK_EQ_INT(wa_store_wh_push(st, b, WAMD_TARGET_AMQP_GLOBAL, "X", "{}", 2, NULL), 0);
	CHECK_EQ_INT(wa_store_wh_count(st, -1, -1, &n), 0);
	CHECK(n == 4);
	CHECK_EQ_INT(wa_store_wh_count(st, -1, WAMD_TARGET_REDIS, &n), 0);
	CHECK(n == 2);
	CHECK_EQ_INT(wa_store_wh_count(st, -1, WAMD_TARGET_INSTANCE, &n), 0);
	CHECK(n == 1);
	CHECK_EQ_INT(wa_store_wh_count(st, -1, WAMD_TARGET_AMQP_INSTANCE, &n), 0);
	CHECK(n == 0);
	CHECK_EQ_INT(wa_store_wh_count(st, b, -1, &n), 0);
	CHECK(n == 2);
	wa_store_close(st);
	unlink(path);
}

int main(void)
{
	char dir[] = "/tmp/wamd-broker-unit-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	test_names();
	test_redis_url();
	test_rabbitmq_env(dir);
	test_count_per_target(dir);
	rmdir(dir);
	return check_exit("wamd_broker_unit");
}
