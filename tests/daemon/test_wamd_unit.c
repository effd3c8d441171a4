/* wamd unit tests: configuration precedence (flags > env > file >
 * defaults, both file syntaxes), Evolution's number normalizer, webhook
 * address classes and URL parsing, event names and suffixes, weak keys,
 * token scopes and the daemon's store tables (webhook FIFO, records). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

static void write_file(const char *p, const char *s)
{
	FILE *f = fopen(p, "w");
	fputs(s, f);
	fclose(f);
}

static void test_config(const char *dir)
{
	struct wamd_config c;
	char err[256];
	bool help;
	char *argv0[] = { "wamd", NULL };
	/* defaults */
	memset(fake_env, 0, sizeof fake_env);
	CHECK_EQ_INT(wamd_config_load(&c, 1, argv0, fake_getenv, err, sizeof err, &help), 0);
	CHECK_EQ_STR(c.data_dir, "./wamd-data");
	CHECK_EQ_STR(c.socket_path, "./wamd-data/wamd.sock");
	CHECK_EQ_STR(c.log_level, "info");
	CHECK(c.listen == NULL);
	CHECK(c.socket_trusted);
	CHECK(c.pacing); /* sends are paced unless turned off */
	CHECK_EQ_INT(c.webhook_initial_delay_ms, 5000);
	wamd_config_free(&c);

	/* file (key = value) < env < flags */
	char path[512], jpath[512];
	snprintf(path, sizeof path, "%s/a.conf", dir);
	write_file(path, "# comment\nlisten = 127.0.0.1:1111\nlog-level = debug\napi_key = \"file-key-0123456789\"\n"
			 "webhook_initial_delay_ms = 7\nwebhook_allow_loopback = yes\n");
	fake_env[0][0] = "WAMD_LISTEN";
	fake_env[0][1] = "127.0.0.1:2222";
	fake_env[1][0] = "WAMD_LOG_LEVEL";
	fake_env[1][1] = "warn";
	char *argv1[] = { "wamd", "--config", path, "--log-level", "error", "--data=/x", NULL };
	CHECK_EQ_INT(wamd_config_load(&c, 6, argv1, fake_getenv, err, sizeof err, &help), 0);
	CHECK_EQ_STR(c.listen, "127.0.0.1:2222");  /* env beats file */
	CHECK_EQ_STR(c.log_level, "error");        /* flag beats env */
	CHECK_EQ_STR(c.api_key, "file-key-0123456789"); /* file beats default, quotes stripped */
	CHECK_EQ_INT(c.webhook_initial_delay_ms, 7);
	CHECK(c.webhook_allow_loopback);
	CHECK_EQ_STR(c.data_dir, "/x");
	CHECK_EQ_STR(c.socket_path, "/x/wamd.sock");
	wamd_config_free(&c);

	/* JSON file; WAMD_CONFIG names it; bool flag without value */
	snprintf(jpath, sizeof jpath, "%s/b.json", dir);
	write_file(jpath, "{\"socket\": \"/s.sock\", \"webhook_max_attempts\": 3, \"expose_token\": true}");
	memset(fake_env, 0, sizeof fake_env);
	fake_env[0][0] = "WAMD_CONFIG";
	fake_env[0][1] = jpath;
	char *argv2[] = { "wamd", "--webhook-allow-private", NULL };
	CHECK_EQ_INT(wamd_config_load(&c, 2, argv2, fake_getenv, err, sizeof err, &help), 0);
	CHECK_EQ_STR(c.socket_path, "/s.sock");
	CHECK_EQ_INT(c.webhook_max_attempts, 3);
	CHECK(c.expose_token);
	CHECK(c.webhook_allow_private);
	wamd_config_free(&c);

	/* <data>/wamd.conf is read by default */
	char dpath[512];
	snprintf(dpath, sizeof dpath, "%s/wamd.conf", dir);
	write_file(dpath, "server_url = http://from-data-dir\n");
	memset(fake_env, 0, sizeof fake_env);
	fake_env[0][0] = "WAMD_DATA";
	fake_env[0][1] = dir;
	CHECK_EQ_INT(wamd_config_load(&c, 1, argv0, fake_getenv, err, sizeof err, &help), 0);
	CHECK_EQ_STR(c.server_url, "http://from-data-dir");
	wamd_config_free(&c);
	unlink(dpath);

	/* errors */
	memset(fake_env, 0, sizeof fake_env);
	char *argv3[] = { "wamd", "--nope", "1", NULL };
	CHECK_EQ_INT(wamd_config_load(&c, 3, argv3, fake_getenv, err, sizeof err, &help), -1);
	CHECK(strstr(err, "--nope") != NULL);
	wamd_config_free(&c);
	write_file(path, "bogus_key = 1\n");
	char *argv4[] = { "wamd", "--config", path, NULL };
	CHECK_EQ_INT(wamd_config_load(&c, 3, argv4, fake_getenv, err, sizeof err, &help), -1);
	wamd_config_free(&c);
	fake_env[0][0] = "WAMD_WEBHOOK_MAX_ATTEMPTS";
	fake_env[0][1] = "lots";
	CHECK_EQ_INT(wamd_config_load(&c, 1, argv0, fake_getenv, err, sizeof err, &help), -1);
	wamd_config_free(&c);
	/* admission settings: defaults, flags, bounds */
	memset(fake_env, 0, sizeof fake_env);
	CHECK_EQ_INT(wamd_config_load(&c, 1, argv0, fake_getenv, err, sizeof err, &help), 0);
	CHECK_EQ_INT(c.max_handshakes, 32);
	CHECK_EQ_INT(c.startup_spread_per_instance_ms, 5);
	CHECK_EQ_INT(c.startup_spread_max_ms, 5000);
	wamd_config_free(&c);
	char *argv6[] = { "wamd", "--max-handshakes", "4", "--startup-spread-max-ms", "0", NULL };
	CHECK_EQ_INT(wamd_config_load(&c, 5, argv6, fake_getenv, err, sizeof err, &help), 0);
	CHECK_EQ_INT(c.max_handshakes, 4);
	CHECK_EQ_INT(c.startup_spread_max_ms, 0);
	wamd_config_free(&c);
	char *argv7[] = { "wamd", "--max-handshakes", "0", NULL };
	CHECK_EQ_INT(wamd_config_load(&c, 3, argv7, fake_getenv, err, sizeof err, &help), -1);
	CHECK(strstr(err, "max_handshakes") != NULL);
	wamd_config_free(&c);
	char *argv8[] = { "wamd", "--startup-spread-max-ms", "999999999", NULL };
	CHECK_EQ_INT(wamd_config_load(&c, 3, argv8, fake_getenv, err, sizeof err, &help), -1);
	wamd_config_free(&c);
	memset(fake_env, 0, sizeof fake_env);
	char *argv5[] = { "wamd", "--help", NULL };
	CHECK_EQ_INT(wamd_config_load(&c, 2, argv5, fake_getenv, err, sizeof err, &help), 0);
	CHECK(help);
	wamd_config_free(&c);

	/* the config file's mode: others never write it, nor read its secrets */
	struct wamd_config pc;
	memset(&pc, 0, sizeof pc);
	pc.config_file = path;
	write_file(path, "api_key = file-key-0123456789\n");
	chmod(path, 0644);
	CHECK_EQ_INT(wamd_config_check_file(&pc, err, sizeof err), -1);
	CHECK(strstr(err, path) && strstr(err, "0644") && strstr(err, "api_key"));
	chmod(path, 0600);
	CHECK_EQ_INT(wamd_config_check_file(&pc, err, sizeof err), 0);
	write_file(path, "{\"webhook_global_secret\": \"abc\"}\n");
	chmod(path, 0604);
	CHECK_EQ_INT(wamd_config_check_file(&pc, err, sizeof err), -1);
	CHECK(strstr(err, "webhook_global_secret") && strstr(err, "0604"));
	write_file(path, "log_level = debug\n");
	chmod(path, 0644);
	CHECK_EQ_INT(wamd_config_check_file(&pc, err, sizeof err), 0);
	/* a PostgreSQL password in store, either form; a user alone or a SQLite path is no secret */
	write_file(path, "store = postgresql://app:s3cret@db.example/wamd\n");
	CHECK_EQ_INT(wamd_config_check_file(&pc, err, sizeof err), -1);
	CHECK(strstr(err, "store (a PostgreSQL password)") && !strstr(err, "s3cret"));
	write_file(path, "store = postgres:///wamd?host=/run/pg&password=s3cret\n");
	CHECK_EQ_INT(wamd_config_check_file(&pc, err, sizeof err), -1);
	write_file(path, "store = postgresql://app@db.example/wamd\n");
	CHECK_EQ_INT(wamd_config_check_file(&pc, err, sizeof err), 0);
	write_file(path, "store = /srv/a:b@c/wamd.db\n");
	CHECK_EQ_INT(wamd_config_check_file(&pc, err, sizeof err), 0);
	chmod(path, 0602);
	CHECK_EQ_INT(wamd_config_check_file(&pc, err, sizeof err), -1);
	CHECK(strstr(err, "0602") && strstr(err, "writable"));
	chmod(path, 0660);
	CHECK_EQ_INT(wamd_config_check_file(&pc, err, sizeof err), -1);
	unlink(path);
	unlink(jpath);
}

static void test_numbers(void)
{
	char o[128];
	CHECK_EQ_INT(wamd_normalize_number("+55 (11) 98888-7777", o, sizeof o), 0);
	CHECK_EQ_STR(o, "5511988887777@s.whatsapp.net"); /* area 11 < 31 keeps the 9 */
	CHECK_EQ_INT(wamd_normalize_number("5531988887777", o, sizeof o), 0);
	CHECK_EQ_STR(o, "553188887777@s.whatsapp.net");  /* area 31, first digit 8: drops the 9 */
	CHECK_EQ_INT(wamd_normalize_number("5531938887777", o, sizeof o), 0);
	CHECK_EQ_STR(o, "5531938887777@s.whatsapp.net"); /* first digit 3 < 7 keeps it */
	CHECK_EQ_INT(wamd_normalize_number("5215512345678", o, sizeof o), 0);
	CHECK_EQ_STR(o, "525512345678@s.whatsapp.net");  /* Mexico drops the 1 */
	CHECK_EQ_INT(wamd_normalize_number("5511999:3@s.whatsapp.net", o, sizeof o), 0);
	CHECK_EQ_STR(o, "5511999@s.whatsapp.net");
	CHECK_EQ_INT(wamd_normalize_number("123456789@lid", o, sizeof o), 0);
	CHECK_EQ_STR(o, "123456789@lid");
	CHECK_EQ_INT(wamd_normalize_number("120363025555555555", o, sizeof o), 0);
	CHECK_EQ_STR(o, "120363025555555555@g.us");
	CHECK_EQ_INT(wamd_normalize_number("abc", o, sizeof o), -1);
	CHECK_EQ_INT(wamd_normalize_number("", o, sizeof o), -1);
	CHECK_EQ_STR(wamd_source_of_id("3EB0FCA6FD5AC08629C2B5"), "web");
	CHECK_EQ_STR(wamd_source_of_id("3A1B2C3D4E5F6A7B8C9D"), "ios");
	CHECK_EQ_STR(wamd_status_name(3), "DELIVERY_ACK");
}

static void test_urls_events(void)
{
	struct wamd_url u;
	CHECK_EQ_INT(wamd_url_parse("https://crm.example.com/wa/hook", &u), 0);
	CHECK(u.tls);
	CHECK_EQ_INT(u.port, 443);
	CHECK_EQ_STR(u.host, "crm.example.com");
	CHECK_EQ_STR(u.path, "/wa/hook");
	CHECK_EQ_INT(wamd_url_parse("http://[::1]:8081", &u), 0);
	CHECK_EQ_STR(u.host, "::1");
	CHECK_EQ_INT(u.port, 8081);
	CHECK_EQ_STR(u.path, "/");
	CHECK_EQ_INT(wamd_url_parse("ftp://x/", &u), -1);
	CHECK_EQ_INT(wamd_url_parse("http://user@evil/", &u), -1);
	CHECK_EQ_INT(wamd_url_parse("http://h:99999/", &u), -1);
	CHECK_EQ_INT(wamd_addr_classify_host("127.0.0.1"), WAMD_ADDR_LOOPBACK);
	CHECK_EQ_INT(wamd_addr_classify_host("localhost"), WAMD_ADDR_LOOPBACK);
	CHECK_EQ_INT(wamd_addr_classify_host("::1"), WAMD_ADDR_LOOPBACK);
	CHECK_EQ_INT(wamd_addr_classify_host("10.1.2.3"), WAMD_ADDR_PRIVATE);
	CHECK_EQ_INT(wamd_addr_classify_host("172.20.0.1"), WAMD_ADDR_PRIVATE);
	CHECK_EQ_INT(wamd_addr_classify_host("192.168.1.1"), WAMD_ADDR_PRIVATE);
	CHECK_EQ_INT(wamd_addr_classify_host("169.254.169.254"), WAMD_ADDR_PRIVATE);
	CHECK_EQ_INT(wamd_addr_classify_host("fe80::1"), WAMD_ADDR_PRIVATE);
	CHECK_EQ_INT(wamd_addr_classify_host("::ffff:127.0.0.1"), WAMD_ADDR_LOOPBACK);
	CHECK_EQ_INT(wamd_addr_classify_host("8.8.8.8"), WAMD_ADDR_PUBLIC);
	CHECK_EQ_INT(wamd_addr_classify_host("172.32.0.1"), WAMD_ADDR_PUBLIC);
	/* every spelling the resolver reads as an address is classified as one */
	static const struct { const char *h, *canon; int cls; } forms[] = {
		{ "127.1", "127.0.0.1", WAMD_ADDR_LOOPBACK }, { "0x7f000001", "127.0.0.1", WAMD_ADDR_LOOPBACK },
		{ "2130706433", "127.0.0.1", WAMD_ADDR_LOOPBACK }, { "0177.0.0.1", "127.0.0.1", WAMD_ADDR_LOOPBACK },
		{ "0", "0.0.0.0", WAMD_ADDR_PRIVATE }, { "0x0a000001", "10.0.0.1", WAMD_ADDR_PRIVATE },
		{ "0:0:0:0:0:0:0:1", "::1", WAMD_ADDR_LOOPBACK }, { "::ffff:7f00:1", "::ffff:127.0.0.1", WAMD_ADDR_LOOPBACK },
		{ "::127.0.0.1", "::127.0.0.1", WAMD_ADDR_LOOPBACK }, { "64:ff9b::a00:1", "64:ff9b::a00:1", WAMD_ADDR_PRIVATE },
		{ "134744072", "8.8.8.8", WAMD_ADDR_PUBLIC }, { "Hooks.Example.COM", "hooks.example.com", WAMD_ADDR_PUBLIC },
		{ "localhost.", "localhost.", WAMD_ADDR_LOOPBACK }, { "a.LOCALHOST", "a.localhost", WAMD_ADDR_LOOPBACK },
	};
	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
		struct wamd_host h;
		CHECK_EQ_INT(wamd_host_parse(forms[i].h, &h), 0);
		CHECK_EQ_STR(h.canon, forms[i].canon);
		CHECK_EQ_INT(h.cls, forms[i].cls);
	}
	static const char *bad[] = { "1.2.3.999", "127.0.0.1.", "0x7f.1x", "a b", "a..b", "fe80::1%eth0", "", "x/y" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct wamd_host h;
		CHECK_EQ_INT(wamd_host_parse(bad[i], &h), -1);
	}
	struct wamd_config pc;
	memset(&pc, 0, sizeof pc);
	char why[320];
	CHECK(wamd_webhook_url_policy(&pc, "http://127.1/h", why, sizeof why) != NULL);
	CHECK(wamd_webhook_url_policy(&pc, "http://[::ffff:127.0.0.1]/h", why, sizeof why) != NULL);
	CHECK(wamd_webhook_url_policy(&pc, "https://hooks.example.com/h", why, sizeof why) == NULL);
	const char *r = wamd_webhook_url_policy(&pc, "http://0x08080808/h", why, sizeof why);
	CHECK(r && strstr(r, "as 8.8.8.8"));
	pc.webhook_allow_loopback = true;
	CHECK(wamd_webhook_url_policy(&pc, "http://127.0.0.1:9/h", why, sizeof why) == NULL);
	CHECK(wamd_webhook_url_policy(&pc, "http://127.1:9/h", why, sizeof why) != NULL); /* not canonical */
	char s[64];
	wamd_event_suffix("MESSAGES_UPSERT", s, sizeof s);
	CHECK_EQ_STR(s, "messages-upsert");
	wamd_event_suffix("GROUP_PARTICIPANTS_UPDATE", s, sizeof s);
	CHECK_EQ_STR(s, "group-participants-update");
	CHECK_EQ_STR(wamd_event_dotted("SEND_MESSAGE"), "send.message");
	CHECK(!wamd_event_known("NEW_JWT_TOKEN"));
	/* wamd's own event: known (so a webhook's events list keeps it), its suffix */
	CHECK(wamd_event_known("HISTORY_DEMAND_TIMEOUT"));
	wamd_event_suffix("HISTORY_DEMAND_TIMEOUT", s, sizeof s);
	CHECK_EQ_STR(s, "history-demand-timeout");
	CHECK(wamd_key_is_weak(""));
	CHECK(wamd_key_is_weak("changeme"));
	CHECK(wamd_key_is_weak("B6D711FCDE4D4FD5936544120E713976"));
	CHECK(!wamd_key_is_weak("9f2c1e7a4b5d6e8f0a1b2c3d"));
	json_t *sc = json_pack("[s,s]", "read", "manage");
	CHECK_EQ_INT(wamd_scopes_parse(sc), WAMD_SCOPE_READ | WAMD_SCOPE_MANAGE);
	json_decref(sc);
	sc = json_pack("[s]", "root");
	CHECK_EQ_INT(wamd_scopes_parse(sc), 0);
	json_decref(sc);
	/* exact names only: no substring matches, no empty lists */
	static const char *const bad_scopes[] = { "readwritemanage", "read,writes", "read,", ",read", "READ", "",
		"read write", "manage;read" };
	for (size_t i = 0; i < sizeof bad_scopes / sizeof bad_scopes[0]; i++) {
		sc = json_string(bad_scopes[i]);
		CHECK_EQ_INT(wamd_scopes_parse(sc), 0);
		json_decref(sc);
	}
	sc = json_string("read,manage");
	CHECK_EQ_INT(wamd_scopes_parse(sc), WAMD_SCOPE_READ | WAMD_SCOPE_MANAGE);
	json_decref(sc);
	sc = json_pack("[s]", "readwrite");
	CHECK_EQ_INT(wamd_scopes_parse(sc), 0);
	json_decref(sc);
	sc = json_array();
	CHECK_EQ_INT(wamd_scopes_parse(sc), 0);
	json_decref(sc);
	/* instance names */
	CHECK(wamd_instance_name_ok("alpha-1_B.c@d"));
	static const char *const bad_names[] = { ".", "..", "", "a/b", "a\\b", "a%2e", "a b", " a", "a ", "a?b",
		"a#b", "a+b", "a\tb", "\xc3\xa9" };
	for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++)
		CHECK(!wamd_instance_name_ok(bad_names[i]));
	CHECK(wamd_instance_name_ok("..."));
	/* caller-chosen tokens */
	CHECK(wamd_token_refused("short-token-1234") != NULL);
	CHECK(wamd_token_refused("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") != NULL);
	CHECK(wamd_token_refused("abcabcabcabcabcabcabcabcabcabcabcabc") != NULL);
	CHECK(wamd_token_refused("0123456789abcdef0123456789abcde\x7f") != NULL);
	CHECK(wamd_token_refused("9F1C2E7A-4B5D-4E8F-8A1B-2C3D4E5F6A7B") == NULL);
	CHECK(wamd_token_refused("4f9c2a7eb13d4e589a06c7d2e1f3b845") == NULL);
	/* salted digests: the same token under two salts, and a legacy unsalted row */
	uint8_t s1[WAMD_TOKEN_SALT] = { 1 }, s2[WAMD_TOKEN_SALT] = { 2 }, d1[32], d2[32], d0[32], plain[32];
	wamd_token_digest(s1, sizeof s1, "tok", d1);
	wamd_token_digest(s2, sizeof s2, "tok", d2);
	wamd_token_digest(NULL, 0, "tok", d0);
	wamd_sha256("tok", 3, plain);
	CHECK(memcmp(d1, d2, 32) != 0 && memcmp(d0, plain, 32) == 0);
	uint8_t a[32] = { 1 }, b[32] = { 1 };
	CHECK(wamd_ct_equal(a, b, 32));
	b[31] = 2;
	CHECK(!wamd_ct_equal(a, b, 32));
}

static void test_store_tables(const char *dir)
{
	char p[512];
	snprintf(p, sizeof p, "%s/t.db", dir);
	wa_store *st;
	CHECK_EQ_INT(wa_store_open(p, NULL, &st), 0);
	int64_t a, b;
	CHECK_EQ_INT(wa_store_instance_create(st, "a", &a), 0);
	CHECK_EQ_INT(wa_store_instance_create(st, "b", &b), 0);
	/* FIFO per (instance, target) */
	CHECK_EQ_INT(wa_store_wh_push(st, a, 0, "E1", "one", 3, NULL), 0);
	CHECK_EQ_INT(wa_store_wh_push(st, b, 0, "E9", "bee", 3, NULL), 0);
	CHECK_EQ_INT(wa_store_wh_push(st, a, 0, "E2", "two", 3, NULL), 0);
	CHECK_EQ_INT(wa_store_wh_push(st, a, 1, "G1", "glob", 4, NULL), 0);
	wa_store_wh_row r;
	CHECK_EQ_INT(wa_store_wh_head(st, a, 0, &r), 0);
	CHECK_EQ_STR(r.event, "E1");
	CHECK_EQ_STR(r.payload, "one");
	CHECK_EQ_INT(wa_store_wh_retry(st, r.id, 2, 1234), 0);
	int64_t id1 = r.id;
	wa_store_wh_row_clear(&r);
	CHECK_EQ_INT(wa_store_wh_head(st, a, 0, &r), 0);
	CHECK_EQ_INT(r.id, id1); /* a retried row stays at the head */
	CHECK_EQ_INT(r.attempts, 2);
	CHECK_EQ_INT(r.next_attempt_ms, 1234);
	wa_store_wh_row_clear(&r);
	CHECK_EQ_INT(wa_store_wh_remove(st, id1), 0);
	CHECK_EQ_INT(wa_store_wh_head(st, a, 0, &r), 0);
	CHECK_EQ_STR(r.event, "E2");
	wa_store_wh_row_clear(&r);
	CHECK_EQ_INT(wa_store_wh_head(st, a, 1, &r), 0);
	CHECK_EQ_STR(r.event, "G1");
	wa_store_wh_row_clear(&r);
	{
		/* a body bigger than a key record (an event with media base64) is
		 * queued up to its own cap (it was refused over 256 KiB) */
		size_t big_len = 3u << 20;
		char *big = malloc(big_len + 1);
		CHECK(big != NULL);
		memset(big, 'x', big_len);
		big[big_len] = '\0';
		int64_t big_id = 0;
		CHECK_EQ_INT(wa_store_wh_push(st, b, 1, "BIG", big, big_len, &big_id), 0);
		CHECK_EQ_INT(wa_store_wh_head(st, b, 1, &r), 0);
		CHECK_EQ_INT(r.id, big_id);
		CHECK(r.payload_len == big_len && memcmp(r.payload, big, big_len) == 0);
		wa_store_wh_row_clear(&r);
		CHECK_EQ_INT(wa_store_wh_remove(st, big_id), 0);
		free(big);
		big = malloc(WA_STORE_WH_PAYLOAD_MAX + 1);
		CHECK(big != NULL);
		memset(big, 'x', WA_STORE_WH_PAYLOAD_MAX + 1);
		CHECK_EQ_INT(wa_store_wh_push(st, b, 1, "BIG", big, WA_STORE_WH_PAYLOAD_MAX + 1, NULL), WA_ETOOBIG);
		free(big);
	}
	int64_t n = 0;
	CHECK_EQ_INT(wa_store_wh_count(st, a, -1, &n), 0);
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_INT(wa_store_wh_head(st, b, 1, &r), WA_ENOTFOUND);
	/* records: find by PN or LID, newest first, status only rises */
	wa_store_mrec m1 = { .key_id = "k1", .remote_jid = "1@s.whatsapp.net", .remote_lid = "9@lid",
		.message_type = "conversation", .timestamp = 10, .status = 3, .record = "{\"n\":1}", .record_len = 7 };
	wa_store_mrec m2 = m1;
	m2.key_id = "k2";
	m2.timestamp = 20;
	m2.record = "{\"n\":2}";
	wa_store_mrec m3 = m1;
	m3.key_id = "k3";
	m3.remote_jid = "2@s.whatsapp.net";
	m3.remote_lid = NULL;
	m3.timestamp = 15;
	m3.from_me = true;
	m3.status = 1;
	m3.record = "{\"n\":3}";
	CHECK_EQ_INT(wa_store_msgrec_put(st, a, &m1), 0);
	CHECK_EQ_INT(wa_store_msgrec_put(st, a, &m2), 0);
	CHECK_EQ_INT(wa_store_msgrec_put(st, a, &m3), 0);
	wa_store_mrec_query q = { .remote_jid = "9@lid", .from_me = -1, .limit = 10 };
	wa_store_mrec_row *rows;
	size_t nr;
	int64_t total;
	CHECK_EQ_INT(wa_store_msgrec_find(st, a, &q, &rows, &nr, &total), 0);
	CHECK_EQ_INT(nr, 2);
	CHECK_EQ_INT(total, 2);
	if (nr == 2)
		CHECK_EQ_STR(rows[0].record, "{\"n\":2}");
	wa_store_mrec_rows_free(rows, nr);
	CHECK_EQ_INT(wa_store_msgrec_status(st, a, "k3", true, 4, NULL, NULL), 0);
	CHECK_EQ_INT(wa_store_msgrec_status(st, a, "k3", true, 2, NULL, NULL), 0);
	wa_store_mrec_query all = { .from_me = 1, .limit = 10 };
	CHECK_EQ_INT(wa_store_msgrec_find(st, a, &all, &rows, &nr, &total), 0);
	CHECK_EQ_INT(nr, 1);
	if (nr == 1)
		CHECK_EQ_INT(rows[0].status, 4);
	wa_store_mrec_rows_free(rows, nr);
	CHECK_EQ_INT(wa_store_msgrec_status(st, a, "nope", true, 2, NULL, NULL), WA_ENOTFOUND);
	wa_store_mrec_query cq = { .from_me = -1, .limit = 10 };
	CHECK_EQ_INT(wa_store_msgrec_chats(st, a, &cq, &rows, &nr), 0);
	CHECK_EQ_INT(nr, 2);
	if (nr == 2) {
		CHECK_EQ_STR(rows[0].record, "{\"n\":2}"); /* chat 1 is the most recent */
		CHECK_EQ_INT(rows[0].unread, 2);
		CHECK_EQ_INT(rows[1].unread, 0);
	}
	wa_store_mrec_rows_free(rows, nr);
	/* pages: newest first, a later row first among equal timestamps, and
	 * each page holds its own rows' records */
	wa_store_mrec m4 = m1;
	m4.key_id = "k4";
	m4.timestamp = 20;
	m4.record = "{\"n\":4}";
	CHECK_EQ_INT(wa_store_msgrec_put(st, a, &m4), 0);
	const char *order[] = { "{\"n\":4}", "{\"n\":2}", "{\"n\":3}", "{\"n\":1}" };
	for (int64_t off = 0; off < 4; off += 3) {
		wa_store_mrec_query pq = { .from_me = -1, .limit = 3, .offset = off };
		CHECK_EQ_INT(wa_store_msgrec_find(st, a, &pq, &rows, &nr, &total), 0);
		CHECK_EQ_INT(total, 4);
		CHECK_EQ_INT(nr, off ? 1 : 3);
		for (size_t i = 0; i < nr && off + (int64_t)i < 4; i++)
			CHECK_EQ_STR(rows[i].record, order[off + (int64_t)i]);
		wa_store_mrec_rows_free(rows, nr);
	}
	/* metadata document */
	CHECK_EQ_INT(wa_store_meta_put(st, a, "{\"x\":1}", 7), 0);
	char *doc;
	size_t dl;
	CHECK_EQ_INT(wa_store_meta_get(st, a, &doc, &dl), 0);
	CHECK_EQ_STR(doc, "{\"x\":1}");
	wa_store_free(doc, dl);
	CHECK_EQ_INT(wa_store_meta_get(st, b, &doc, &dl), WA_ENOTFOUND);
	wa_store_close(st);
	unlink(p);
	char side[600];
	snprintf(side, sizeof side, "%s-wal", p);
	unlink(side);
	snprintf(side, sizeof side, "%s-shm", p);
	unlink(side);
}

struct wh_seen {
	int n;
	wa_store_wh_info rows[4];
};

static void wh_seen_row(void *arg, const wa_store_wh_info *r)
{
	struct wh_seen *w = arg;
	if (w->n < 4)
		w->rows[w->n] = *r;
	w->n++;
}

/* Dead webhook events: kept with their last error, out of the delivery
 * head, listed, replayed (one, all), bounded per instance. */
static void test_store_dead_events(const char *dir)
{
	char p[512];
	snprintf(p, sizeof p, "%s/dead.db", dir);
	wa_store *st;
	CHECK_EQ_INT(wa_store_open(p, NULL, &st), 0);
	int64_t a, b, e1, e2, e3, n = 0;
	CHECK_EQ_INT(wa_store_instance_create(st, "a", &a), 0);
	CHECK_EQ_INT(wa_store_instance_create(st, "b", &b), 0);
	CHECK_EQ_INT(wa_store_wh_push(st, a, 0, "E1", "one", 3, &e1), 0);
	CHECK_EQ_INT(wa_store_wh_push(st, a, 0, "E2", "two", 3, &e2), 0);
	CHECK_EQ_INT(wa_store_wh_push(st, b, 0, "E3", "bee", 3, &e3), 0);
	CHECK_EQ_INT(wa_store_wh_fail(st, e1, 1, 5000, false, "closed"), 0);
	CHECK_EQ_INT(wa_store_wh_fail(st, e1, 2, 0, true, "HTTP 404"), 0);
	/* the dead row no longer holds up its lane, nor counts as pending */
	wa_store_wh_row r;
	CHECK_EQ_INT(wa_store_wh_head(st, a, 0, &r), 0);
	CHECK_EQ_INT(r.id, e2);
	wa_store_wh_row_clear(&r);
	CHECK_EQ_INT(wa_store_wh_count(st, a, -1, &n), 0);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_INT(wa_store_wh_count_state(st, a, WA_STORE_WH_DEAD, &n), 0);
	CHECK_EQ_INT(n, 1);
	struct wh_seen w = { 0 };
	CHECK_EQ_INT(wa_store_wh_list(st, a, -1, 10, wh_seen_row, &w), 0);
	CHECK_EQ_INT(w.n, 2);
	CHECK_EQ_INT(w.rows[0].id, e2); /* newest first */
	CHECK_EQ_INT(w.rows[1].state, WA_STORE_WH_DEAD);
	CHECK_EQ_INT(w.rows[1].attempts, 2);
	CHECK_EQ_STR(w.rows[1].last_error, "HTTP 404");
	CHECK_EQ_STR(w.rows[1].event, "E1");
	CHECK_EQ_INT(w.rows[1].payload_len, 3);
	/* another instance's id is not this one's to replay */
	CHECK_EQ_INT(wa_store_wh_replay(st, b, e1, &n), WA_ENOTFOUND);
	CHECK_EQ_INT(wa_store_wh_replay(st, a, e2, &n), WA_ENOTFOUND); /* pending, not dead */
	CHECK_EQ_INT(wa_store_wh_replay(st, a, e1, &n), 0);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_INT(wa_store_wh_head(st, a, 0, &r), 0);
	CHECK_EQ_INT(r.id, e1); /* back at the head, due now, attempts reset */
	CHECK_EQ_INT(r.attempts, 0);
	CHECK_EQ_INT(r.next_attempt_ms, 0);
	CHECK_EQ_STR(r.payload, "one");
	wa_store_wh_row_clear(&r);
	/* replay all; a long error is cut */
	char longerr[WA_STORE_WH_ERROR_MAX + 50];
	memset(longerr, 'x', sizeof longerr - 1);
	longerr[sizeof longerr - 1] = '\0';
	CHECK_EQ_INT(wa_store_wh_fail(st, e1, 1, 0, true, longerr), 0);
	CHECK_EQ_INT(wa_store_wh_fail(st, e2, 1, 0, true, NULL), 0);
	w.n = 0;
	CHECK_EQ_INT(wa_store_wh_list(st, a, WA_STORE_WH_DEAD, 10, wh_seen_row, &w), 0);
	CHECK_EQ_INT(w.n, 2);
	CHECK_EQ_INT(strlen(w.rows[1].last_error), WA_STORE_WH_ERROR_MAX);
	CHECK_EQ_STR(w.rows[0].last_error, "");
	CHECK_EQ_INT(wa_store_wh_replay(st, a, 0, &n), 0);
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_INT(wa_store_wh_count(st, a, -1, &n), 0);
	CHECK_EQ_INT(n, 2);
	/* at most WA_STORE_WH_DEAD_MAX dead rows per instance, the oldest go;
	 * another instance's are untouched */
	CHECK_EQ_INT(wa_store_wh_fail(st, e3, 1, 0, true, "HTTP 500"), 0);
	int64_t first = 0, id = 0;
	for (int i = 0; i < WA_STORE_WH_DEAD_MAX + 5; i++) {
		CHECK_EQ_INT(wa_store_wh_push(st, a, 0, "E", "x", 1, &id), 0);
		if (!first)
			first = id;
		CHECK_EQ_INT(wa_store_wh_fail(st, id, 1, 0, true, "HTTP 404"), 0);
	}
	CHECK_EQ_INT(wa_store_wh_count_state(st, a, WA_STORE_WH_DEAD, &n), 0);
	CHECK_EQ_INT(n, WA_STORE_WH_DEAD_MAX);
	CHECK_EQ_INT(wa_store_wh_replay(st, a, first, &n), WA_ENOTFOUND);
	CHECK_EQ_INT(wa_store_wh_replay(st, a, id, &n), 0);
	CHECK_EQ_INT(wa_store_wh_count_state(st, b, WA_STORE_WH_DEAD, &n), 0);
	CHECK_EQ_INT(n, 1);
	wa_store_close(st);
	unlink(p);
	char side[600];
	snprintf(side, sizeof side, "%s-wal", p);
	unlink(side);
	snprintf(side, sizeof side, "%s-shm", p);
	unlink(side);
}

/* Evolution API's variable names and <data>/.env: mapped onto wamd's
 * settings under WAMD_* names and flags; the process environment beats
 * the file; settings wamd has no use for are listed, never an error. */
static void test_evolution_env(const char *dir)
{
	struct wamd_config c;
	char err[256], path[512];
	bool help;
	char *argv0[] = { "wamd", NULL };
	snprintf(path, sizeof path, "%s/.env", dir);
	write_file(path, "# Evolution's .env\nSERVER_URL=http://from-dotenv\n"
			 "export AUTHENTICATION_API_KEY='dotenv-key-0123456789' # comment kept out\n"
			 "WEBHOOK_GLOBAL_ENABLED=true\nWEBHOOK_GLOBAL_URL=\"http://hooks.example/in\"\n"
			 "WEBHOOK_GLOBAL_WEBHOOK_BY_EVENTS=true\nWEBHOOK_EVENTS_MESSAGES_UPSERT=true\n"
			 "WEBHOOK_EVENTS_QRCODE_UPDATED=false\nWEBHOOK_EVENTS_CONNECTION_UPDATE=true\n"
			 "DATABASE_PROVIDER=postgresql\nCACHE_REDIS_ENABLED=false\nLOG_LEVEL=ERROR,WARN,DEBUG,INFO,LOG\n"
			 "CONFIG_SESSION_PHONE_VERSION=2.3000.1099999999\nCONFIG_SESSION_PHONE_CLIENT=My CRM\n");
	memset(fake_env, 0, sizeof fake_env);
	fake_env[0][0] = "WAMD_DATA";
	fake_env[0][1] = dir;
	fake_env[1][0] = "SERVER_URL"; /* the environment beats .env */
	fake_env[1][1] = "http://from-env";
	CHECK_EQ_INT(wamd_config_load(&c, 1, argv0, fake_getenv, err, sizeof err, &help), 0);
	CHECK_EQ_STR(c.server_url, "http://from-env");
	CHECK_EQ_STR(c.api_key, "dotenv-key-0123456789");
	CHECK_EQ_STR(c.webhook_global_url, "http://hooks.example/in");
	CHECK(c.webhook_global_by_events);
	CHECK_EQ_STR(c.webhook_global_events, "MESSAGES_UPSERT,CONNECTION_UPDATE");
	CHECK_EQ_STR(c.log_level, "debug");
	CHECK_EQ_STR(c.wa_version, "2.3000.1099999999");
	CHECK_EQ_STR(c.device_name, "My CRM");
	CHECK(strstr(wamd_evolution_ignored(), "DATABASE_PROVIDER") != NULL);
	CHECK(strstr(wamd_evolution_ignored(), "CACHE_REDIS_ENABLED") != NULL);
	CHECK(strstr(wamd_evolution_ignored(), "SERVER_URL") == NULL);
	wamd_config_free(&c);

	/* WAMD_* names beat Evolution's; flags beat both; a disabled global
	 * webhook is not set; every switch off means no event */
	write_file(path, "AUTHENTICATION_API_KEY=evolution-key-0123456789\nWEBHOOK_GLOBAL_ENABLED=false\n"
			 "WEBHOOK_GLOBAL_URL=http://hooks.example/in\nWEBHOOK_EVENTS_MESSAGES_UPSERT=false\n"
			 "SERVER_PORT=8080\n");
	fake_env[1][0] = "WAMD_API_KEY";
	fake_env[1][1] = "wamd-key-0123456789";
	char *argv1[] = { "wamd", "--listen", "127.0.0.1:9", NULL };
	CHECK_EQ_INT(wamd_config_load(&c, 3, argv1, fake_getenv, err, sizeof err, &help), 0);
	CHECK_EQ_STR(c.api_key, "wamd-key-0123456789");
	CHECK(c.webhook_global_url == NULL);
	CHECK_EQ_STR(c.webhook_global_events, "NONE");
	CHECK_EQ_STR(c.listen, "127.0.0.1:9");
	wamd_config_free(&c);
	char *argv2[] = { "wamd", NULL };
	CHECK_EQ_INT(wamd_config_load(&c, 1, argv2, fake_getenv, err, sizeof err, &help), 0);
	CHECK_EQ_STR(c.listen, "0.0.0.0:8080"); /* SERVER_PORT: Evolution listens everywhere */
	wamd_config_free(&c);

	/* a malformed .env line is an error that names the file and line */
	write_file(path, "GOOD=1\nthis line has no equals sign\n");
	CHECK_EQ_INT(wamd_config_load(&c, 1, argv2, fake_getenv, err, sizeof err, &help), -1);
	CHECK(strstr(err, ".env:2") != NULL);
	wamd_config_free(&c);
	unlink(path);
}

/* WhatsApp Web's service worker carries the current web client revision. */
static void test_version_from_sw(void)
{
	static const char esc[] = "self.__swData=JSON.parse(\"{\\\"client_revision\\\":1023223821,\\\"x\\\":1}\");";
	static const char plain[] = "{\"server_revision\":5,\"client_revision\": 1099999999}";
	CHECK(wamd_version_from_sw(esc, strlen(esc)) == 1023223821ul);
	CHECK(wamd_version_from_sw(plain, strlen(plain)) == 1099999999ul);
	CHECK(wamd_version_from_sw("client_revision", 15) == 0);
	CHECK(wamd_version_from_sw("\"client_revision\":99999999999", 29) == 0); /* more than 32 bits */
	CHECK(wamd_version_from_sw("nothing here", 12) == 0);
}

/* the heap is trimmed once per burst of logins, after a quiet check, and
 * never while handshakes run or on an idle daemon */
static void test_trim_due(void)
{
	uint64_t at = 0, seen = 0;
	wa_gate_stats st = {.max = 32};
	CHECK(!wamd_trim_due(&st, &at, &seen)); /* nothing admitted yet */
	st.admitted = 40, st.active = 32, st.waiting = 900;
	CHECK(!wamd_trim_due(&st, &at, &seen)); /* burst under way */
	st.admitted = 1000, st.active = 0, st.waiting = 0;
	CHECK(!wamd_trim_due(&st, &at, &seen)); /* just ended: one quiet check first */
	CHECK(wamd_trim_due(&st, &at, &seen));  /* quiet: trim */
	CHECK(!wamd_trim_due(&st, &at, &seen)); /* once */
	CHECK(!wamd_trim_due(&st, &at, &seen));
	st.admitted = 1001, st.active = 1;
	CHECK(!wamd_trim_due(&st, &at, &seen)); /* a reconnect in its handshake */
	st.active = 0;
	CHECK(wamd_trim_due(&st, &at, &seen));  /* over, none admitted since the last check */
	CHECK(!wamd_trim_due(&st, &at, &seen));
}

int main(void)
{
	char dir[] = "/tmp/wamd-unit-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	test_config(dir);
	test_trim_due();
	test_evolution_env(dir);
	test_version_from_sw();
	test_numbers();
	test_urls_events();
	test_store_tables(dir);
	test_store_dead_events(dir);
	rmdir(dir);
	return check_exit("wamd_unit");
}
