/* Unit tests for src/store: migrations, schema refusal, every table family,
 * identity-change detection, nested transactions, encryption at rest (on,
 * off, wrong, missing key), corrupt-file fixtures and cascading deletes.
 * Each test works in its own mkdtemp directory, removed at the end.
 * With WA_TEST_PG_URI set (tests/unit/store_pg.py) every store is a
 * PostgreSQL schema instead of a file (store_backend.h); what only a file
 * has (journal mode, fixtures of corrupt files) is checked per backend. */
#include <dirent.h>
#include <fcntl.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "store/internal.h" /* white box: pragma checks read st->db */
#include "store_backend.h"
#include "store/store.h"
#include "wa/store_daemon.h"
#include "wa/store_pace.h"

static char tmpdir[256];

static void mk_tmpdir(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/wa_store_test.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		exit(1);
	}
}

static void rm_tmpdir(void)
{
	DIR *d = opendir(tmpdir);
	if (!d)
		return;
	struct dirent *e;
	char p[512];
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(tmpdir);
	store_backend_cleanup();
}

static const char *path_in(const char *name)
{
	static char p[4][512];
	static int i;
	i = (i + 1) % 4;
	snprintf(p[i], sizeof p[i], "%s/%s", tmpdir, name);
	return p[i];
}

/* What to pass to wa_store_open for the store called name. */
static const char *db_in(const char *name)
{
	return store_backend_path(path_in(name));
}

/* The statement for this backend (raw SQL checks below the store). */
static const char *SQL2(const char *sqlite_sql, const char *pg_sql)
{
	return store_backend_pg() ? pg_sql : sqlite_sql;
}

static wa_store *open_ok(const char *name, const wa_store_opts *o)
{
	wa_store *st = NULL;
	int rc = wa_store_open(db_in(name), o, &st);
	CHECK_EQ_INT(rc, 0);
	if (rc != 0) {
		fprintf(stderr, "open %s failed: %s\n", name, wa_errname(rc));
		exit(1);
	}
	return st;
}

/* Raw access (another connection) to check what is really stored. */
static long long raw_int(const char *name, const char *sql)
{
	if (store_backend_pg())
		return store_backend_pg_int(path_in(name), sql);
	sqlite3 *db = NULL;
	long long v = -1;
	if (sqlite3_open_v2(path_in(name), &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK) {
		sqlite3_stmt *s = NULL;
		if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
			v = sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
	}
	sqlite3_close(db);
	return v;
}

static void raw_exec(const char *name, const char *sql)
{
	if (store_backend_pg()) {
		CHECK(store_backend_pg_exec(path_in(name), sql));
		return;
	}
	sqlite3 *db = NULL;
	CHECK_EQ_INT(sqlite3_open_v2(path_in(name), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL), SQLITE_OK);
	CHECK_EQ_INT(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* PostgreSQL: true when needle occurs in any row of any table (the rows'
 * text form, where bytea is hex and text is itself). */
static bool pg_contains(const char *name, const uint8_t *needle, size_t n)
{
	char *hex = malloc(2 * n + 1), *txt = malloc(n + 1);
	for (size_t i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", needle[i]);
	memcpy(txt, needle, n);
	txt[n] = '\0';
	bool text_ok = n > 0; /* searched as text too when it is printable ASCII */
	for (size_t i = 0; i < n; i++)
		text_ok = text_ok && needle[i] >= 0x20 && needle[i] < 0x7f;
	char schema[24];
	store_backend_schema(path_in(name), schema);
	PGconn *c = store_backend_admin(schema);
	PGresult *tl = PQexec(c, "SELECT table_name FROM information_schema.tables"
				 " WHERE table_schema = current_schema()");
	bool found = false;
	for (int i = 0; PQresultStatus(tl) == PGRES_TUPLES_OK && i < PQntuples(tl) && !found; i++) {
		char sql[256];
		snprintf(sql, sizeof sql, "SELECT count(*) FROM %s x WHERE strpos(x::text, $1) > 0 OR"
					  " ($2 <> '' AND strpos(x::text, $2) > 0)", PQgetvalue(tl, i, 0));
		const char *params[2] = { hex, text_ok ? txt : "" };
		PGresult *r = PQexecParams(c, sql, 2, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_TUPLES_OK)
			fprintf(stderr, "pg_contains: %s", PQresultErrorMessage(r));
		else
			found = strtoll(PQgetvalue(r, 0, 0), NULL, 10) > 0;
		PQclear(r);
	}
	PQclear(tl);
	PQfinish(c);
	free(hex);
	free(txt);
	return found;
}

/* True when needle occurs anywhere in the database file or its WAL. */
static bool file_contains(const char *name, const uint8_t *needle, size_t n)
{
	if (store_backend_pg())
		return pg_contains(name, needle, n);
	char p[600];
	bool found = false;
	for (int w = 0; w < 2 && !found; w++) {
		snprintf(p, sizeof p, "%s%s", path_in(name), w ? "-wal" : "");
		FILE *f = fopen(p, "rb");
		if (!f)
			continue;
		fseek(f, 0, SEEK_END);
		long sz = ftell(f);
		fseek(f, 0, SEEK_SET);
		uint8_t *buf = malloc(sz > 0 ? (size_t)sz : 1);
		size_t got = fread(buf, 1, (size_t)(sz > 0 ? sz : 0), f);
		fclose(f);
		for (size_t i = 0; i + n <= got && !found; i++)
			found = memcmp(buf + i, needle, n) == 0;
		free(buf);
	}
	return found;
}

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

static void make_creds(wa_store_creds *c)
{
	memset(c, 0, sizeof *c);
	fill(c->noise_pub, 32, 1);
	fill(c->noise_priv, 32, 2);
	fill(c->identity_pub, 32, 3);
	fill(c->identity_priv, 32, 4);
	c->registration_id = 0x3fff;
	fill(c->adv_secret, 32, 5);
	c->signed_prekey_id = 7;
	fill(c->signed_prekey_pub, 32, 6);
	fill(c->signed_prekey_priv, 32, 8);
	fill(c->signed_prekey_sig, 64, 9);
	c->next_prekey_id = 812;
	c->first_unuploaded_prekey_id = 31;
	snprintf(c->me_jid, sizeof c->me_jid, "5511999999999:12@s.whatsapp.net");
	snprintf(c->me_lid, sizeof c->me_lid, "123456789012345:12@lid");
	/* another step than fill's: a 300-byte run of step 7 passes through
	 * every 32-byte window of the private keys' patterns, and this public
	 * field (stored in clear, its old copy left in freed page space after
	 * the save that empties it) made the on-disk check find them */
	for (size_t i = 0; i < 300; i++)
		c->adv_identity[i] = (uint8_t)(10 + i * 3);
	c->adv_identity_len = 300;
	snprintf(c->platform, sizeof c->platform, "android");
	snprintf(c->push_name, sizeof c->push_name, "Clínica São João");
	fill(c->routing_info, 9, 11);
	c->routing_info_len = 9;
}

static long long pragma_int(wa_store *st, const char *sql)
{
	sqlite3_stmt *s = NULL;
	long long v = -1;
	sqlite3 *db = wa_drv_sqlite_handle(st->db);
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* PostgreSQL: a session setting of the store's own connection. */
static void pg_setting_is(wa_store *st, const char *name, const char *want)
{
	char sql[96];
	snprintf(sql, sizeof sql, "SELECT current_setting('%s')", name);
	wa_stmt *s = NULL;
	CHECK_EQ_INT(st->db->ops->prepare(st->db, sql, &s), 0);
	CHECK_EQ_INT(wa_stmt_step(s), WA_DB_ROW);
	CHECK_EQ_STR(wa_stmt_col_text(s, 0), want);
	st->db->ops->finalize(s);
}

/* The PostgreSQL twin of the pragmas: durability and lock wait per options,
 * and writers serialized per store as BEGIN IMMEDIATE does. */
static void test_pg_session(void)
{
	mk_tmpdir();
	wa_store *st = open_ok("p.db", NULL);
	CHECK(st->pg);
	pg_setting_is(st, "synchronous_commit", "off"); /* NORMAL */
	pg_setting_is(st, "lock_timeout", "5s");
	wa_store_close(st);
	wa_store_opts o = { .sync = WA_STORE_SYNC_FULL, .busy_timeout_ms = 250, .low_memory = true };
	st = open_ok("p.db", &o);
	pg_setting_is(st, "synchronous_commit", "on"); /* FULL */
	pg_setting_is(st, "lock_timeout", "250ms");
	CHECK_EQ_INT(wa_store_begin(st), 0);
	usleep(20 * 1000);
	CHECK_EQ_INT(wa_store_commit(st), 0);
	CHECK(wa_store_last_tx_ms(st) >= 20);
	/* a second handle waits for the writer lock, then gives up: busy */
	wa_store *st2 = open_ok("p.db", &o);
	CHECK_EQ_INT(wa_store_begin(st), 0);
	CHECK_EQ_INT(wa_store_begin(st2), WA_EDB_BUSY);
	CHECK_EQ_INT(wa_store_tx_depth(st2), 0);
	CHECK_EQ_INT(wa_store_commit(st), 0);
	CHECK_EQ_INT(wa_store_begin(st2), 0);
	CHECK_EQ_INT(wa_store_commit(st2), 0);
	wa_store_close(st2);
	wa_store_close(st);
	rm_tmpdir();
}

static void test_pragmas(void)
{
	if (store_backend_pg()) {
		test_pg_session();
		return;
	}
	mk_tmpdir();
	wa_store *st = open_ok("p.db", NULL);
	sqlite3_stmt *s = NULL;
	CHECK_EQ_INT(sqlite3_prepare_v2(wa_drv_sqlite_handle(st->db), "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
	CHECK_EQ_INT(sqlite3_step(s), SQLITE_ROW);
	CHECK_EQ_STR((const char *)sqlite3_column_text(s, 0), "wal");
	sqlite3_finalize(s);
	CHECK_EQ_INT(pragma_int(st, "PRAGMA foreign_keys"), 1);
	CHECK_EQ_INT(pragma_int(st, "PRAGMA synchronous"), 1); /* NORMAL */
	CHECK_EQ_INT(pragma_int(st, "PRAGMA busy_timeout"), 5000);
	CHECK_EQ_INT(pragma_int(st, "PRAGMA cache_size"), -2048);
	CHECK_EQ_INT(pragma_int(st, "PRAGMA secure_delete"), 2); /* FAST */
	wa_store_close(st);
	wa_store_opts o = { .sync = WA_STORE_SYNC_FULL, .busy_timeout_ms = 250, .low_memory = true };
	st = open_ok("p.db", &o);
	CHECK_EQ_INT(pragma_int(st, "PRAGMA synchronous"), 2); /* FULL */
	CHECK_EQ_INT(pragma_int(st, "PRAGMA busy_timeout"), 250);
	CHECK_EQ_INT(pragma_int(st, "PRAGMA cache_size"), -64);
	/* Transaction timing is reported for the caller's slow-transaction warning. */
	CHECK_EQ_INT(wa_store_begin(st), 0);
	usleep(20 * 1000);
	CHECK_EQ_INT(wa_store_commit(st), 0);
	CHECK(wa_store_last_tx_ms(st) >= 20);
	wa_store_close(st);
	rm_tmpdir();
}

static void test_migrations(void)
{
	mk_tmpdir();
	wa_store *st = open_ok("m.db", NULL);
	CHECK(wa_store_schema_latest() >= 1);
	CHECK_EQ_INT(wa_store_schema_version(st), wa_store_schema_latest());
	CHECK(!wa_store_encrypted(st));
	int64_t id = 0;
	CHECK_EQ_INT(wa_store_instance_create(st, "a", &id), 0);
	wa_store_close(st);
	CHECK_EQ_INT(raw_int("m.db", SQL2("PRAGMA user_version", "SELECT max(version) FROM wa_schema")), wa_store_schema_latest());

	/* Re-open: nothing re-applied (would fail on CREATE TABLE), data kept. */
	st = open_ok("m.db", NULL);
	CHECK_EQ_INT(wa_store_schema_version(st), wa_store_schema_latest());
	int64_t id2 = 0;
	CHECK_EQ_INT(wa_store_instance_find(st, "a", &id2), 0);
	CHECK_EQ_INT(id2, id);
	wa_store_close(st);

	/* A file from a newer build is refused, with a message. */
	char sql[64];
	if (store_backend_pg())
		snprintf(sql, sizeof sql, "UPDATE wa_schema SET version = %d", wa_store_schema_latest() + 1);
	else
		snprintf(sql, sizeof sql, "PRAGMA user_version=%d", wa_store_schema_latest() + 1);
	raw_exec("m.db", sql);
	char err[256] = "";
	wa_store_opts o = { .errbuf = err, .errbuf_len = sizeof err };
	wa_store *st2 = (wa_store *)0x1;
	CHECK_EQ_INT(wa_store_open(db_in("m.db"), &o, &st2), WA_EDB_SCHEMA);
	CHECK(st2 == (wa_store *)0x1); /* untouched on failure */
	CHECK(strstr(err, "newer") != NULL);
	rm_tmpdir();
}

static void test_creds(bool encrypted)
{
	mk_tmpdir();
	uint8_t key[32];
	fill(key, 32, 77);
	wa_store_opts o = { .master_key = encrypted ? key : NULL };
	wa_store *st = open_ok("c.db", &o);
	CHECK_EQ_INT(wa_store_encrypted(st), encrypted);
	int64_t inst;
	CHECK_EQ_INT(wa_store_instance_create(st, "creds", &inst), 0);
	wa_store_creds c, got;
	make_creds(&c);
	CHECK_EQ_INT(wa_store_creds_load(st, inst, &got), WA_ENOTFOUND);
	CHECK_EQ_INT(wa_store_creds_save(st, inst, &c), 0);
	memset(&got, 0xEE, sizeof got);
	CHECK_EQ_INT(wa_store_creds_load(st, inst, &got), 0);
	CHECK_EQ_MEM(got.noise_priv, c.noise_priv, 32);
	CHECK_EQ_MEM(got.noise_pub, c.noise_pub, 32);
	CHECK_EQ_MEM(got.identity_priv, c.identity_priv, 32);
	CHECK_EQ_MEM(got.identity_pub, c.identity_pub, 32);
	CHECK_EQ_MEM(got.adv_secret, c.adv_secret, 32);
	CHECK_EQ_MEM(got.signed_prekey_priv, c.signed_prekey_priv, 32);
	CHECK_EQ_MEM(got.signed_prekey_pub, c.signed_prekey_pub, 32);
	CHECK_EQ_MEM(got.signed_prekey_sig, c.signed_prekey_sig, 64);
	CHECK_EQ_INT(got.registration_id, c.registration_id);
	CHECK_EQ_INT(got.signed_prekey_id, 7);
	CHECK_EQ_INT(got.next_prekey_id, 812);
	CHECK_EQ_INT(got.first_unuploaded_prekey_id, 31);
	CHECK_EQ_STR(got.me_jid, c.me_jid);
	CHECK_EQ_STR(got.me_lid, c.me_lid);
	CHECK_EQ_STR(got.platform, "android");
	CHECK_EQ_STR(got.push_name, c.push_name);
	CHECK_EQ_INT(got.adv_identity_len, 300);
	CHECK_EQ_MEM(got.adv_identity, c.adv_identity, 300);
	CHECK_EQ_INT(got.routing_info_len, 9);
	CHECK_EQ_MEM(got.routing_info, c.routing_info, 9);

	/* Save replaces. */
	c.next_prekey_id = 900;
	c.me_jid[0] = '\0';
	c.adv_identity_len = 0;
	CHECK_EQ_INT(wa_store_creds_save(st, inst, &c), 0);
	CHECK_EQ_INT(wa_store_creds_load(st, inst, &got), 0);
	CHECK_EQ_INT(got.next_prekey_id, 900);
	CHECK_EQ_STR(got.me_jid, "");
	CHECK_EQ_INT(got.adv_identity_len, 0);

	/* Unterminated string / oversize length: rejected, nothing written. */
	wa_store_creds bad = c;
	memset(bad.platform, 'x', sizeof bad.platform);
	CHECK_EQ_INT(wa_store_creds_save(st, inst, &bad), WA_EINVAL);
	bad = c;
	bad.routing_info_len = WA_STORE_ROUTING_MAX + 1;
	CHECK_EQ_INT(wa_store_creds_save(st, inst, &bad), WA_EINVAL);

	/* Private keys for a non-existent instance: the foreign key refuses. */
	CHECK(wa_store_creds_save(st, inst + 1000, &c) < 0);
	wa_store_close(st);

	/* On disk: private halves readable only when unencrypted; public ones always. */
	CHECK_EQ_INT(file_contains("c.db", c.identity_priv, 32), !encrypted);
	CHECK_EQ_INT(file_contains("c.db", c.noise_priv, 32), !encrypted);
	CHECK_EQ_INT(file_contains("c.db", c.signed_prekey_priv, 32), !encrypted);
	CHECK(file_contains("c.db", c.identity_pub, 32));
	rm_tmpdir();
}

/* Privacy tokens: stored per contact, an older token never replaces a
 * newer one, our issue time is kept apart, credentials wipe them. */
static void test_tctokens(void)
{
	mk_tmpdir();
	wa_store *st = open_ok("t.db", NULL);
	int64_t inst;
	CHECK_EQ_INT(wa_store_instance_create(st, "t", &inst), 0);
	uint8_t a[16], b[16], *tok = NULL;
	size_t n = 0;
	int64_t t = 0, sender_t = 0;
	fill(a, 16, 1);
	fill(b, 16, 2);
	CHECK_EQ_INT(wa_store_tctoken_get(st, inst, "x@lid", &tok, &n, &t, &sender_t), WA_ENOTFOUND);
	CHECK_EQ_INT(wa_store_tctoken_issued(st, inst, "x@lid", 50), 0);
	CHECK_EQ_INT(wa_store_tctoken_get(st, inst, "x@lid", &tok, &n, &t, &sender_t), 0);
	CHECK(tok == NULL && n == 0 && t == 0 && sender_t == 50);
	CHECK_EQ_INT(wa_store_tctoken_put(st, inst, "x@lid", a, 16, 100), 0);
	CHECK_EQ_INT(wa_store_tctoken_put(st, inst, "x@lid", b, 16, 90), 0); /* older: ignored */
	CHECK_EQ_INT(wa_store_tctoken_get(st, inst, "x@lid", &tok, &n, &t, &sender_t), 0);
	CHECK(tok && n == 16 && memcmp(tok, a, 16) == 0 && t == 100 && sender_t == 50);
	free(tok);
	CHECK_EQ_INT(wa_store_tctoken_put(st, inst, "x@lid", b, 16, 120), 0);
	CHECK_EQ_INT(wa_store_tctoken_get(st, inst, "x@lid", &tok, &n, &t, &sender_t), 0);
	CHECK(tok && memcmp(tok, b, 16) == 0 && t == 120);
	free(tok);
	CHECK_EQ_INT(wa_store_tctoken_put(st, inst, "x@lid", b, 16, 0), WA_EINVAL);
	CHECK_EQ_INT(wa_store_creds_wipe(st, inst), 0);
	CHECK_EQ_INT(wa_store_tctoken_get(st, inst, "x@lid", &tok, &n, &t, &sender_t), WA_ENOTFOUND);
	wa_store_close(st);
	rm_tmpdir();
}

/* The holders of our sender key in a group, listed at once and sorted
 * (a group send looks each device up in that list). */
static void test_gsk_list(void)
{
	mk_tmpdir();
	wa_store *st = open_ok("gsk.db", NULL);
	int64_t id;
	CHECK_EQ_INT(wa_store_instance_create(st, "a", &id), 0);
	char(*v)[WA_STORE_JID_MAX] = NULL;
	size_t n = 9;
	CHECK_EQ_INT(wa_store_gsk_list(st, id, "1@g.us", &v, &n), 0);
	CHECK(n == 0 && v == NULL);
	const char *devs[] = {"9:1@lid", "10@s.whatsapp.net", "1:2@s.whatsapp.net", "10:1@s.whatsapp.net"};
	for (size_t i = 0; i < 4; i++)
		CHECK_EQ_INT(wa_store_gsk_add(st, id, "1@g.us", devs[i]), 0);
	CHECK_EQ_INT(wa_store_gsk_add(st, id, "1@g.us", devs[0]), 0); /* once */
	CHECK_EQ_INT(wa_store_gsk_add(st, id, "2@g.us", "5@s.whatsapp.net"), 0);
	CHECK_EQ_INT(wa_store_gsk_list(st, id, "1@g.us", &v, &n), 0);
	CHECK(n == 4);
	for (size_t i = 0; v && i + 1 < n; i++)
		CHECK(strcmp(v[i], v[i + 1]) < 0);
	CHECK(v && strcmp(v[0], "10:1@s.whatsapp.net") == 0 && strcmp(v[3], "9:1@lid") == 0);
	free(v);
	CHECK_EQ_INT(wa_store_gsk_clear(st, id, "1@g.us"), 0);
	CHECK_EQ_INT(wa_store_gsk_list(st, id, "1@g.us", &v, &n), 0);
	CHECK(n == 0);
	free(v);
	wa_store_close(st);
}

static void test_identity(void)
{
	mk_tmpdir();
	wa_store *st = open_ok("i.db", NULL);
	int64_t inst;
	CHECK_EQ_INT(wa_store_instance_create(st, "i", &inst), 0);
	uint8_t k1[33], k2[33];
	fill(k1, 33, 1);
	fill(k2, 33, 2);
	k1[0] = k2[0] = 0x05;
	enum wa_store_identity_result r = (enum wa_store_identity_result)99;
	bool trusted = false;
	CHECK_EQ_INT(wa_store_identity_is_trusted(st, inst, "5511", 0, k1, 33, &trusted), 0);
	CHECK(trusted); /* first use */
	CHECK_EQ_INT(wa_store_identity_save(st, inst, "5511", 0, k1, 33, &r), 0);
	CHECK_EQ_INT(r, WA_STORE_IDENTITY_NEW);
	CHECK_EQ_INT(wa_store_identity_save(st, inst, "5511", 0, k1, 33, &r), 0);
	CHECK_EQ_INT(r, WA_STORE_IDENTITY_SAME);
	CHECK_EQ_INT(wa_store_identity_is_trusted(st, inst, "5511", 0, k2, 33, &trusted), 0);
	CHECK(!trusted);
	CHECK_EQ_INT(wa_store_identity_is_trusted(st, inst, "5511", 0, k1, 33, &trusted), 0);
	CHECK(trusted);
	/* A different key for a known address is reported and replaces the old. */
	CHECK_EQ_INT(wa_store_identity_save(st, inst, "5511", 0, k2, 33, &r), 0);
	CHECK_EQ_INT(r, WA_STORE_IDENTITY_CHANGED);
	uint8_t *got = NULL;
	size_t got_len = 0;
	CHECK_EQ_INT(wa_store_identity_load(st, inst, "5511", 0, &got, &got_len), 0);
	CHECK_EQ_INT(got_len, 33);
	if (got)
		CHECK_EQ_MEM(got, k2, 33);
	wa_store_free(got, got_len);
	/* A shorter key that is a prefix of the stored one still counts as different. */
	CHECK_EQ_INT(wa_store_identity_save(st, inst, "5511", 0, k2, 32, &r), 0);
	CHECK_EQ_INT(r, WA_STORE_IDENTITY_CHANGED);
	/* Other device of the same name is independent. */
	CHECK_EQ_INT(wa_store_identity_save(st, inst, "5511", 1, k1, 33, &r), 0);
	CHECK_EQ_INT(r, WA_STORE_IDENTITY_NEW);
	CHECK_EQ_INT(wa_store_identity_delete(st, inst, "5511", 0), 0);
	CHECK_EQ_INT(wa_store_identity_load(st, inst, "5511", 0, &got, &got_len), WA_ENOTFOUND);
	CHECK_EQ_INT(wa_store_identity_save(st, inst, "5511", 0, k1, 0, &r), WA_EINVAL);
	CHECK_EQ_INT(wa_store_identity_save(st, inst, "", 0, k1, 33, &r), WA_EINVAL);
	wa_store_close(st);
	rm_tmpdir();
}

/* Takes p and n by address: argument evaluation order would otherwise read
 * them before the load call in the first argument wrote them. */
static void check_blob(int rc, uint8_t **pp, size_t *pn, const uint8_t *want, size_t want_n)
{
	uint8_t *p = *pp;
	size_t n = *pn;
	*pp = NULL;
	*pn = 0;
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_INT(n, want_n);
	if (rc == 0 && n == want_n)
		CHECK_EQ_MEM(p, want, n);
	wa_store_free(p, n);
}


/* test_store's pending app-state rows, as each reads them */
struct pend_seen {
	int n, bad;
	int64_t last;
	char names[128];
};

static int pend_row(void *user, const wa_store_as_pending *p)
{
	struct pend_seen *ps = user;
	ps->n++;
	ps->last = p->id;
	if (p->value_len != 7 || p->api != 3 || p->iv[0] != 9 || strcmp(p->index_json, "[\"archive\",\"x\"]") != 0)
		ps->bad++;
	size_t l = strlen(ps->names);
	snprintf(ps->names + l, sizeof ps->names - l, "%s,", p->name);
	return 0;
}
static void test_signal_tables(bool encrypted)
{
	mk_tmpdir();
	uint8_t key[32];
	fill(key, 32, 3);
	wa_store_opts o = { .master_key = encrypted ? key : NULL };
	wa_store *st = open_ok("s.db", &o);
	int64_t a, b;
	CHECK_EQ_INT(wa_store_instance_create(st, "a", &a), 0);
	CHECK_EQ_INT(wa_store_instance_create(st, "b", &b), 0);
	uint8_t rec[200], rec2[150];
	fill(rec, sizeof rec, 40);
	fill(rec2, sizeof rec2, 90);
	uint8_t *p = NULL;
	size_t n = 0;
	bool ex = true;

	/* pre-keys */
	CHECK_EQ_INT(wa_store_prekey_load(st, a, 5, &p, &n), WA_ENOTFOUND);
	CHECK_EQ_INT(wa_store_prekey_save(st, a, 5, rec, sizeof rec), 0);
	CHECK_EQ_INT(wa_store_prekey_save(st, a, 6, rec2, sizeof rec2), 0);
	CHECK_EQ_INT(wa_store_prekey_save(st, b, 5, rec2, sizeof rec2), 0);
	check_blob(wa_store_prekey_load(st, a, 5, &p, &n), &p, &n, rec, sizeof rec);
	check_blob(wa_store_prekey_load(st, b, 5, &p, &n), &p, &n, rec2, sizeof rec2);
	CHECK_EQ_INT(wa_store_prekey_exists(st, a, 6, &ex), 0);
	CHECK(ex);
	size_t cnt = 0;
	CHECK_EQ_INT(wa_store_prekey_count(st, a, &cnt), 0);
	CHECK_EQ_INT(cnt, 2);
	CHECK_EQ_INT(wa_store_prekey_remove(st, a, 6), 0);
	CHECK_EQ_INT(wa_store_prekey_remove(st, a, 6), 0); /* absent: fine */
	CHECK_EQ_INT(wa_store_prekey_exists(st, a, 6, &ex), 0);
	CHECK(!ex);
	CHECK_EQ_INT(wa_store_prekey_count(st, a, &cnt), 0);
	CHECK_EQ_INT(cnt, 1);
	CHECK_EQ_INT(wa_store_prekey_save(st, a, 7, rec, 0), WA_EINVAL);
	{
		uint8_t *big = calloc(1, WA_STORE_MAX_RECORD + 1);
		CHECK_EQ_INT(wa_store_prekey_save(st, a, 7, big, WA_STORE_MAX_RECORD + 1), WA_ETOOBIG);
		CHECK_EQ_INT(wa_store_session_save(st, a, "x", 0, big, WA_STORE_MAX_RECORD + 1), WA_ETOOBIG);
		CHECK_EQ_INT(wa_store_sender_key_save(st, a, "g", "x", 0, big, WA_STORE_MAX_RECORD + 1), WA_ETOOBIG);
		CHECK_EQ_INT(wa_store_session_save(st, a, "x", 0, big, WA_STORE_MAX_RECORD), 0); /* at the cap: fine */
		CHECK_EQ_INT(wa_store_session_delete(st, a, "x", 0), 0);
		free(big);
	}
	CHECK_EQ_INT(wa_store_prekey_save(st, a, 0xffffffffu, rec, 10), 0); /* full uint32 range */
	check_blob(wa_store_prekey_load(st, a, 0xffffffffu, &p, &n), &p, &n, rec, 10);

	/* signed pre-keys */
	CHECK_EQ_INT(wa_store_signed_prekey_save(st, a, 1, rec, sizeof rec), 0);
	check_blob(wa_store_signed_prekey_load(st, a, 1, &p, &n), &p, &n, rec, sizeof rec);
	CHECK_EQ_INT(wa_store_signed_prekey_save(st, a, 1, rec2, sizeof rec2), 0); /* replace */
	check_blob(wa_store_signed_prekey_load(st, a, 1, &p, &n), &p, &n, rec2, sizeof rec2);
	CHECK_EQ_INT(wa_store_signed_prekey_exists(st, b, 1, &ex), 0);
	CHECK(!ex);
	CHECK_EQ_INT(wa_store_signed_prekey_remove(st, a, 1), 0);
	CHECK_EQ_INT(wa_store_signed_prekey_load(st, a, 1, &p, &n), WA_ENOTFOUND);

	/* sessions */
	CHECK_EQ_INT(wa_store_session_save(st, a, "5511", 0, rec, sizeof rec), 0);
	CHECK_EQ_INT(wa_store_session_save(st, a, "5511", 3, rec2, sizeof rec2), 0);
	CHECK_EQ_INT(wa_store_session_save(st, a, "5511", 1, rec, 20), 0);
	CHECK_EQ_INT(wa_store_session_save(st, a, "5512", 0, rec, 30), 0);
	CHECK_EQ_INT(wa_store_session_save(st, b, "5511", 9, rec, 30), 0);
	check_blob(wa_store_session_load(st, a, "5511", 3, &p, &n), &p, &n, rec2, sizeof rec2);
	CHECK_EQ_INT(wa_store_session_exists(st, a, "5511", 1, &ex), 0);
	CHECK(ex);
	CHECK_EQ_INT(wa_store_session_exists(st, a, "5511", 2, &ex), 0);
	CHECK(!ex);
	int32_t *ids = NULL;
	size_t nids = 0;
	CHECK_EQ_INT(wa_store_session_devices(st, a, "5511", &ids, &nids), 0);
	CHECK_EQ_INT(nids, 3);
	if (nids == 3) {
		CHECK_EQ_INT(ids[0], 0);
		CHECK_EQ_INT(ids[1], 1);
		CHECK_EQ_INT(ids[2], 3);
	}
	free(ids);
	CHECK_EQ_INT(wa_store_session_devices(st, a, "nobody", &ids, &nids), 0);
	CHECK_EQ_INT(nids, 0);
	CHECK(ids == NULL);
	CHECK_EQ_INT(wa_store_session_delete(st, a, "5511", 1), 0);
	CHECK_EQ_INT(wa_store_session_load(st, a, "5511", 1, &p, &n), WA_ENOTFOUND);
	size_t ndel = 0;
	CHECK_EQ_INT(wa_store_session_delete_all(st, a, "5511", &ndel), 0);
	CHECK_EQ_INT(ndel, 2);
	CHECK_EQ_INT(wa_store_session_exists(st, a, "5512", 0, &ex), 0);
	CHECK(ex);
	CHECK_EQ_INT(wa_store_session_exists(st, b, "5511", 9, &ex), 0);
	CHECK(ex); /* other instance untouched */

	/* sender keys */
	CHECK_EQ_INT(wa_store_sender_key_save(st, a, "120363@g.us", "5511", 2, rec, sizeof rec), 0);
	check_blob(wa_store_sender_key_load(st, a, "120363@g.us", "5511", 2, &p, &n), &p, &n, rec, sizeof rec);
	CHECK_EQ_INT(wa_store_sender_key_load(st, a, "120363@g.us", "5511", 3, &p, &n), WA_ENOTFOUND);
	CHECK_EQ_INT(wa_store_sender_key_load(st, b, "120363@g.us", "5511", 2, &p, &n), WA_ENOTFOUND);
	CHECK_EQ_INT(wa_store_sender_key_delete(st, a, "120363@g.us", "5511", 2), 0);
	CHECK_EQ_INT(wa_store_sender_key_load(st, a, "120363@g.us", "5511", 2, &p, &n), WA_ENOTFOUND);

	/* app state */
	uint8_t kid[6] = { 0, 0, 0, 0, 1, 2 }, hash[WA_STORE_LTHASH_LEN], hash2[WA_STORE_LTHASH_LEN];
	fill(hash, sizeof hash, 5);
	CHECK_EQ_INT(wa_store_app_state_key_save(st, a, kid, sizeof kid, rec, 50), 0);
	check_blob(wa_store_app_state_key_load(st, a, kid, sizeof kid, &p, &n), &p, &n, rec, 50);
	uint64_t ver = 0;
	CHECK_EQ_INT(wa_store_app_state_version_load(st, a, "regular", &ver, hash2), WA_ENOTFOUND);
	CHECK_EQ_INT(wa_store_app_state_version_save(st, a, "regular", 42, hash), 0);
	CHECK_EQ_INT(wa_store_app_state_version_load(st, a, "regular", &ver, hash2), 0);
	CHECK_EQ_INT(ver, 42);
	CHECK_EQ_MEM(hash2, hash, sizeof hash);
	/* applied mutations: index MAC -> value MAC, per collection */
	uint8_t im[32], vm[32], vm2[32];
	size_t nm = 9;
	fill(im, sizeof im, 7);
	fill(vm, sizeof vm, 8);
	CHECK_EQ_INT(wa_store_app_state_mac_get(st, a, "regular", im, vm2), WA_ENOTFOUND);
	CHECK_EQ_INT(wa_store_app_state_mutation_put(st, a, "regular", im, vm, "[\"archive\",\"j\"]", rec, 5), 0);
	CHECK_EQ_INT(wa_store_app_state_mac_get(st, a, "regular", im, vm2), 0);
	CHECK_EQ_MEM(vm2, vm, sizeof vm);
	CHECK_EQ_INT(wa_store_app_state_mac_get(st, a, "regular_low", im, vm2), WA_ENOTFOUND); /* per collection */
	CHECK_EQ_INT(wa_store_app_state_mutation_count(st, a, "regular", &nm), 0);
	CHECK_EQ_INT(nm, 1);
	CHECK_EQ_INT(wa_store_app_state_mutation_del(st, a, "regular", im), 0);
	CHECK_EQ_INT(wa_store_app_state_mac_get(st, a, "regular", im, vm2), WA_ENOTFOUND);
	CHECK_EQ_INT(wa_store_contact_set_full_name(st, a, "5599@s.whatsapp.net", "Carol"), 0);
	/* a full resync drops one collection's version and mutations, not another's */
	CHECK_EQ_INT(wa_store_app_state_mutation_put(st, a, "regular", im, vm, "[\"archive\",\"j\"]", rec, 5), 0);
	CHECK_EQ_INT(wa_store_app_state_mutation_put(st, a, "regular_low", im, vm, "[\"pin_v1\",\"j\"]", rec, 5), 0);
	CHECK_EQ_INT(wa_store_app_state_version_save(st, a, "regular_low", 3, hash), 0);
	CHECK_EQ_INT(wa_store_app_state_drop(st, a, "regular"), 0);
	CHECK_EQ_INT(wa_store_app_state_version_load(st, a, "regular", &ver, hash2), WA_ENOTFOUND);
	CHECK_EQ_INT(wa_store_app_state_mac_get(st, a, "regular", im, vm2), WA_ENOTFOUND);
	CHECK_EQ_INT(wa_store_app_state_version_load(st, a, "regular_low", &ver, hash2), 0);
	CHECK_EQ_INT(wa_store_app_state_mac_get(st, a, "regular_low", im, vm2), 0);
	/* our own pending mutations: queue order, per instance, deleted by id */
	struct pend_seen ps = {0};
	uint8_t iv[WA_STORE_APP_IV_LEN];
	fill(iv, sizeof iv, 9);
	wa_store_as_pending p1 = { .name = "regular_low", .index_json = "[\"archive\",\"x\"]", .value = rec,
		.value_len = 7, .api = 3, .iv = iv }, p2 = p1;
	p2.name = "regular_high";
	int64_t r1 = 0, r2 = 0, r3 = 0;
	CHECK_EQ_INT(wa_store_app_state_pending_add(st, a, &p1, &r1), 0);
	CHECK_EQ_INT(wa_store_app_state_pending_add(st, b, &p1, &r3), 0);
	CHECK_EQ_INT(wa_store_app_state_pending_add(st, a, &p2, &r2), 0);
	CHECK(r1 > 0 && r2 > r1);
	CHECK_EQ_INT(wa_store_app_state_pending_each(st, a, pend_row, &ps), 0);
	CHECK_EQ_INT(ps.n, 2);
	CHECK_EQ_STR(ps.names, "regular_low,regular_high,");
	CHECK_EQ_INT(ps.bad, 0);
	CHECK_EQ_INT(wa_store_app_state_pending_del(st, a, r1), 0);
	memset(&ps, 0, sizeof ps);
	CHECK_EQ_INT(wa_store_app_state_pending_each(st, a, pend_row, &ps), 0);
	CHECK_EQ_STR(ps.names, "regular_high,");
	CHECK_EQ_INT(ps.last, r2);
	CHECK_EQ_INT(wa_store_app_state_pending_del(st, a, r2), 0);
	CHECK_EQ_INT(wa_store_app_state_pending_del(st, b, r3), 0);

	/* contacts / lid mapping */
	char *lid = NULL, *pn = NULL;
	CHECK_EQ_INT(wa_store_contact_save(st, a, "5511@s.whatsapp.net", NULL, "Ana"), 0);
	CHECK_EQ_INT(wa_store_contact_save(st, a, "5511@s.whatsapp.net", "99@lid", NULL), 0);
	CHECK_EQ_INT(wa_store_contact_load(st, a, "5511@s.whatsapp.net", &lid, &pn), 0);
	CHECK_EQ_STR(lid, "99@lid");
	CHECK_EQ_STR(pn, "Ana"); /* kept when the update passed NULL */
	free(lid);
	free(pn);
	CHECK_EQ_INT(wa_store_lid_mapping_save(st, a, "5511", "99"), 0);
	CHECK_EQ_INT(wa_store_lid_for_pn(st, a, "5511", &lid), 0);
	CHECK_EQ_STR(lid, "99");
	free(lid);
	CHECK_EQ_INT(wa_store_pn_for_lid(st, a, "99", &pn), 0);
	CHECK_EQ_STR(pn, "5511");
	free(pn);
	CHECK_EQ_INT(wa_store_pn_for_lid(st, b, "99", &pn), WA_ENOTFOUND);
	wa_store_close(st);

	/* Sealed record bytes never appear on disk when encrypted. */
	CHECK_EQ_INT(file_contains("s.db", rec, sizeof rec), !encrypted);
	rm_tmpdir();
}

static void test_messages(void)
{
	mk_tmpdir();
	wa_store *st = open_ok("msg.db", NULL);
	int64_t a;
	CHECK_EQ_INT(wa_store_instance_create(st, "a", &a), 0);
	uint8_t pt[] = { 0x0a, 0x05, 'h', 'e', 'l', 'l', 'o' };
	wa_store_msg m = { .chat_jid = "5511@s.whatsapp.net", .msg_id = "3EB0ABC", .from_me = false,
		.timestamp = 1700000000, .status = WA_STORE_MSG_RECEIVED, .plaintext = pt, .plaintext_len = sizeof pt };
	bool existed = true;
	CHECK_EQ_INT(wa_store_msg_insert(st, a, &m, &existed), 0);
	CHECK(!existed);
	/* Redelivery: the second insert reports the first and changes nothing. */
	wa_store_msg m2 = m;
	uint8_t other[] = { 1, 2, 3 };
	m2.plaintext = other;
	m2.plaintext_len = sizeof other;
	CHECK_EQ_INT(wa_store_msg_insert(st, a, &m2, &existed), 0);
	CHECK(existed);
	wa_store_msg_row *row = NULL;
	CHECK_EQ_INT(wa_store_msg_load(st, a, m.chat_jid, m.msg_id, false, &row), 0);
	if (row) {
		CHECK_EQ_INT(row->plaintext_len, sizeof pt);
		CHECK_EQ_MEM(row->plaintext, pt, sizeof pt);
		CHECK_EQ_STR(row->msg_id, "3EB0ABC");
		CHECK(row->sender_jid == NULL);
		CHECK_EQ_INT(row->timestamp, 1700000000);
		CHECK_EQ_INT(row->status, WA_STORE_MSG_RECEIVED);
	}
	wa_store_msg_row_free(row);
	/* Same id from_me is a different message. */
	m2.from_me = true;
	m2.sender_jid = "me@s.whatsapp.net";
	CHECK_EQ_INT(wa_store_msg_insert(st, a, &m2, &existed), 0);
	CHECK(!existed);
	CHECK_EQ_INT(wa_store_msg_set_status(st, a, m.chat_jid, m.msg_id, false, WA_STORE_MSG_ACKED), 0);
	CHECK_EQ_INT(wa_store_msg_load(st, a, m.chat_jid, m.msg_id, false, &row), 0);
	if (row)
		CHECK_EQ_INT(row->status, WA_STORE_MSG_ACKED);
	wa_store_msg_row_free(row);
	CHECK_EQ_INT(wa_store_msg_load(st, a, m.chat_jid, "nope", false, &row), WA_ENOTFOUND);
	CHECK_EQ_INT(wa_store_msg_set_status(st, a, m.chat_jid, "nope", false, 1), WA_ENOTFOUND);

	/* outbox: FIFO over queued entries */
	int64_t r1, r2, rid;
	char *mid, *chat;
	uint8_t *pl;
	size_t pl_len;
	CHECK_EQ_INT(wa_store_outbox_next(st, a, &rid, &mid, &chat, &pl, &pl_len), WA_ENOTFOUND);
	CHECK_EQ_INT(wa_store_outbox_add(st, a, "x@s.whatsapp.net", "ID1", pt, sizeof pt, &r1), 0);
	CHECK_EQ_INT(wa_store_outbox_add(st, a, "y@s.whatsapp.net", "ID2", other, sizeof other, &r2), 0);
	CHECK_EQ_INT(wa_store_outbox_next(st, a, &rid, &mid, &chat, &pl, &pl_len), 0);
	CHECK_EQ_INT(rid, r1);
	CHECK_EQ_STR(mid, "ID1");
	CHECK_EQ_STR(chat, "x@s.whatsapp.net");
	CHECK_EQ_INT(pl_len, sizeof pt);
	free(mid);
	free(chat);
	free(pl);
	CHECK_EQ_INT(wa_store_outbox_set_state(st, a, r1, WA_STORE_OUTBOX_SENT), 0);
	CHECK_EQ_INT(wa_store_outbox_next(st, a, &rid, &mid, &chat, &pl, &pl_len), 0);
	CHECK_EQ_INT(rid, r2);
	free(mid);
	free(chat);
	free(pl);
	CHECK_EQ_INT(wa_store_outbox_set_state(st, a, r2, 17), WA_EINVAL);
	/* update: record the encrypted stanza and mark it SENDING in one step;
	 * requeue brings SENDING rows back after a restart */
	static const uint8_t rec2[] = {'S', 1, 2, 3};
	size_t nrq = 99;
	CHECK_EQ_INT(wa_store_outbox_update(st, a, r2, WA_STORE_OUTBOX_SENDING, rec2, sizeof rec2), 0);
	CHECK_EQ_INT(wa_store_outbox_next(st, a, &rid, &mid, &chat, &pl, &pl_len), WA_ENOTFOUND);
	CHECK_EQ_INT(wa_store_outbox_update(st, a, 999999, WA_STORE_OUTBOX_SENDING, rec2, 1), WA_ENOTFOUND);
	CHECK_EQ_INT(wa_store_outbox_requeue(st, a, &nrq), 0);
	CHECK_EQ_INT(nrq, 1);
	CHECK_EQ_INT(wa_store_outbox_next(st, a, &rid, &mid, &chat, &pl, &pl_len), 0);
	CHECK_EQ_INT(rid, r2);
	CHECK_EQ_INT(pl_len, sizeof rec2);
	CHECK_EQ_MEM(pl, rec2, sizeof rec2);
	free(mid);
	free(chat);
	free(pl);
	CHECK_EQ_INT(wa_store_outbox_requeue(st, a, &nrq), 0);
	CHECK_EQ_INT(nrq, 0);

	/* skipping chats: x holds r3, r5 (in backoff), y holds r2 (queued
	 * above) and r4; skipping x yields y's rows in order, never a later
	 * row of x; skipping both yields nothing; a skipped JID only matches
	 * whole chats (no prefix, no suffix match) */
	int64_t r3, r4, r5;
	CHECK_EQ_INT(wa_store_outbox_add(st, a, "x@s.whatsapp.net", "ID3", pt, sizeof pt, &r3), 0);
	CHECK_EQ_INT(wa_store_outbox_add(st, a, "y@s.whatsapp.net", "ID4", pt, sizeof pt, &r4), 0);
	CHECK_EQ_INT(wa_store_outbox_add(st, a, "x@s.whatsapp.net", "ID5", pt, sizeof pt, &r5), 0);
	const char *skip_x[] = {"x@s.whatsapp.net"};
	const char *skip_xy[] = {"q@s.whatsapp.net", "y@s.whatsapp.net", "x@s.whatsapp.net"};
	const char *skip_part[] = {"x@s.whatsapp", "@s.whatsapp.net", "y@s.whatsapp.net"};
	CHECK_EQ_INT(wa_store_outbox_set_state(st, a, r2, WA_STORE_OUTBOX_SENT), 0);
	CHECK_EQ_INT(wa_store_outbox_next_skip(st, a, skip_x, 1, &rid, &mid, &chat, &pl, &pl_len), 0);
	CHECK_EQ_INT(rid, r4);
	CHECK_EQ_STR(chat, "y@s.whatsapp.net");
	free(mid);
	free(chat);
	free(pl);
	CHECK_EQ_INT(wa_store_outbox_next_skip(st, a, skip_xy, 3, &rid, &mid, &chat, &pl, &pl_len), WA_ENOTFOUND);
	CHECK_EQ_INT(wa_store_outbox_next_skip(st, a, skip_part, 3, &rid, &mid, &chat, &pl, &pl_len), 0);
	CHECK_EQ_INT(rid, r3);
	free(mid);
	free(chat);
	free(pl);
	CHECK_EQ_INT(wa_store_outbox_set_state(st, a, r4, WA_STORE_OUTBOX_SENT), 0);
	CHECK_EQ_INT(wa_store_outbox_next_skip(st, a, skip_x, 1, &rid, &mid, &chat, &pl, &pl_len), WA_ENOTFOUND);
	CHECK_EQ_INT(wa_store_outbox_next_skip(st, a, NULL, 0, &rid, &mid, &chat, &pl, &pl_len), 0);
	CHECK_EQ_INT(rid, r3);
	free(mid);
	free(chat);
	free(pl);
	CHECK_EQ_INT(wa_store_outbox_set_state(st, a, r3, WA_STORE_OUTBOX_SENT), 0);
	CHECK_EQ_INT(wa_store_outbox_next(st, a, &rid, &mid, &chat, &pl, &pl_len), 0);
	CHECK_EQ_INT(rid, r5);
	free(mid);
	free(chat);
	free(pl);
	/* bad skip lists are refused; nothing is written */
	const char *skip_nl[] = {"x@s.whatsapp.net\ny@s.whatsapp.net"};
	const char *skip_empty[] = {""};
	const char *skip_null[] = {NULL};
	const char *many[WA_STORE_OUTBOX_MAX_SKIP + 1];
	for (size_t i = 0; i <= WA_STORE_OUTBOX_MAX_SKIP; i++)
		many[i] = "z@s.whatsapp.net";
	rid = -7;
	CHECK_EQ_INT(wa_store_outbox_next_skip(st, a, skip_nl, 1, &rid, &mid, &chat, &pl, &pl_len), WA_EINVAL);
	CHECK_EQ_INT(wa_store_outbox_next_skip(st, a, skip_empty, 1, &rid, &mid, &chat, &pl, &pl_len), WA_EINVAL);
	CHECK_EQ_INT(wa_store_outbox_next_skip(st, a, skip_null, 1, &rid, &mid, &chat, &pl, &pl_len), WA_EINVAL);
	CHECK_EQ_INT(wa_store_outbox_next_skip(st, a, NULL, 1, &rid, &mid, &chat, &pl, &pl_len), WA_EINVAL);
	CHECK_EQ_INT(wa_store_outbox_next_skip(st, a, many, WA_STORE_OUTBOX_MAX_SKIP + 1, &rid, &mid, &chat, &pl,
			     &pl_len), WA_EINVAL);
	CHECK_EQ_INT(rid, -7);
	CHECK_EQ_INT(wa_store_outbox_next_skip(st, a, many, WA_STORE_OUTBOX_MAX_SKIP, &rid, &mid, &chat, &pl, &pl_len),
		0);
	CHECK_EQ_INT(rid, r5);
	free(mid);
	free(chat);
	free(pl);
	wa_store_close(st);
	rm_tmpdir();
}

static void test_transactions(void)
{
	mk_tmpdir();
	wa_store *st = open_ok("t.db", NULL);
	int64_t a;
	CHECK_EQ_INT(wa_store_instance_create(st, "a", &a), 0);
	uint8_t rec[40];
	fill(rec, sizeof rec, 1);
	bool ex;

	CHECK_EQ_INT(wa_store_commit(st), WA_ESTATE);
	CHECK_EQ_INT(wa_store_rollback(st), WA_ESTATE);

	/* Rollback leaves nothing: ratchet + message written together, undone together. */
	CHECK_EQ_INT(wa_store_begin(st), 0);
	CHECK_EQ_INT(wa_store_tx_depth(st), 1);
	CHECK_EQ_INT(wa_store_session_save(st, a, "5511", 0, rec, sizeof rec), 0);
	wa_store_msg m = { .chat_jid = "c", .msg_id = "m1", .timestamp = 1, .plaintext = rec, .plaintext_len = 4 };
	CHECK_EQ_INT(wa_store_msg_insert(st, a, &m, NULL), 0);
	CHECK_EQ_INT(wa_store_prekey_remove(st, a, 1), 0);
	CHECK_EQ_INT(wa_store_rollback(st), 0);
	CHECK_EQ_INT(wa_store_tx_depth(st), 0);
	CHECK_EQ_INT(wa_store_session_exists(st, a, "5511", 0, &ex), 0);
	CHECK(!ex);
	wa_store_msg_row *row = NULL;
	CHECK_EQ_INT(wa_store_msg_load(st, a, "c", "m1", false, &row), WA_ENOTFOUND);

	/* Uncommitted writes are invisible to another connection; committed ones are visible. */
	CHECK_EQ_INT(wa_store_begin(st), 0);
	CHECK_EQ_INT(wa_store_session_save(st, a, "5511", 0, rec, sizeof rec), 0);
	CHECK_EQ_INT(raw_int("t.db", "SELECT count(*) FROM sessions"), 0);
	CHECK_EQ_INT(wa_store_commit(st), 0);
	CHECK_EQ_INT(raw_int("t.db", "SELECT count(*) FROM sessions"), 1);

	/* Nested: inner rollback undoes only the inner level. */
	CHECK_EQ_INT(wa_store_begin(st), 0);
	CHECK_EQ_INT(wa_store_prekey_save(st, a, 1, rec, 10), 0);
	CHECK_EQ_INT(wa_store_begin(st), 0);
	CHECK_EQ_INT(wa_store_tx_depth(st), 2);
	CHECK_EQ_INT(wa_store_prekey_save(st, a, 2, rec, 10), 0);
	CHECK_EQ_INT(wa_store_rollback(st), 0);
	CHECK_EQ_INT(wa_store_tx_depth(st), 1);
	CHECK_EQ_INT(wa_store_begin(st), 0);
	CHECK_EQ_INT(wa_store_prekey_save(st, a, 3, rec, 10), 0);
	/* write functions that use an internal unit (identity save) nest too */
	uint8_t k[33] = { 5 };
	CHECK_EQ_INT(wa_store_identity_save(st, a, "5511", 0, k, sizeof k, NULL), 0);
	CHECK_EQ_INT(wa_store_commit(st), 0);
	CHECK_EQ_INT(wa_store_tx_depth(st), 1);
	CHECK_EQ_INT(raw_int("t.db", "SELECT count(*) FROM prekeys"), 0); /* still uncommitted */
	CHECK_EQ_INT(wa_store_commit(st), 0);
	CHECK_EQ_INT(wa_store_tx_depth(st), 0);
	CHECK_EQ_INT(wa_store_prekey_exists(st, a, 1, &ex), 0);
	CHECK(ex);
	CHECK_EQ_INT(wa_store_prekey_exists(st, a, 2, &ex), 0);
	CHECK(!ex);
	CHECK_EQ_INT(wa_store_prekey_exists(st, a, 3, &ex), 0);
	CHECK(ex);
	CHECK_EQ_INT(raw_int("t.db", "SELECT count(*) FROM identity_keys"), 1);

	/* Outer rollback undoes committed inner levels. */
	CHECK_EQ_INT(wa_store_begin(st), 0);
	CHECK_EQ_INT(wa_store_begin(st), 0);
	CHECK_EQ_INT(wa_store_prekey_save(st, a, 4, rec, 10), 0);
	CHECK_EQ_INT(wa_store_commit(st), 0);
	CHECK_EQ_INT(wa_store_rollback(st), 0);
	CHECK_EQ_INT(wa_store_prekey_exists(st, a, 4, &ex), 0);
	CHECK(!ex);

	/* Closing with an open transaction rolls it back. */
	CHECK_EQ_INT(wa_store_begin(st), 0);
	CHECK_EQ_INT(wa_store_prekey_save(st, a, 5, rec, 10), 0);
	wa_store_close(st);
	st = open_ok("t.db", NULL);
	CHECK_EQ_INT(wa_store_prekey_exists(st, a, 5, &ex), 0);
	CHECK(!ex);

	/* A second writer waits out the busy timeout, then gets WA_EDB_BUSY. */
	wa_store_opts o = { .busy_timeout_ms = 50 };
	wa_store *st2 = open_ok("t.db", &o);
	CHECK_EQ_INT(wa_store_begin(st), 0);
	CHECK_EQ_INT(wa_store_begin(st2), WA_EDB_BUSY);
	CHECK_EQ_INT(wa_store_tx_depth(st2), 0);
	CHECK_EQ_INT(wa_store_rollback(st), 0);
	CHECK_EQ_INT(wa_store_begin(st2), 0);
	CHECK_EQ_INT(wa_store_commit(st2), 0);
	wa_store_close(st2);
	wa_store_close(st);
	rm_tmpdir();
}

/* Group commit (store.h): units inside one transaction, the flush callback
 * after the one commit, and the guard that commits the group before any
 * other write. */
static int flushes, flush_rc, flush_saw_rows;

static void on_flush(void *user, int rc)
{
	(void)user;
	flushes++;
	flush_rc = rc;
	/* durable by the time the callback runs */
	flush_saw_rows = raw_int("g.db", "SELECT count(*) FROM prekeys");
}

static void test_group(void)
{
	mk_tmpdir();
	wa_store *st = open_ok("g.db", NULL);
	int64_t a;
	CHECK_EQ_INT(wa_store_instance_create(st, "a", &a), 0);
	uint8_t rec[16];
	fill(rec, sizeof rec, 3);
	bool ex;
	CHECK_EQ_INT(wa_store_unit_begin(st), WA_ESTATE); /* no group */
	CHECK_EQ_INT(wa_store_group_flush(st), 0);        /* no-op */
	CHECK_EQ_INT(flushes, 0);

	CHECK_EQ_INT(wa_store_group_open(st, on_flush, NULL), 0);
	CHECK(wa_store_group_active(st));
	for (uint32_t id = 1; id <= 3; id++) {
		CHECK_EQ_INT(wa_store_unit_begin(st), 0);
		CHECK_EQ_INT(wa_store_unit_begin(st), WA_ESTATE); /* units do not nest */
		CHECK_EQ_INT(wa_store_prekey_save(st, a, id, rec, sizeof rec), 0);
		/* begin inside a unit nests as usual, no flush */
		CHECK_EQ_INT(wa_store_begin(st), 0);
		CHECK_EQ_INT(wa_store_commit(st), 0);
		/* the second unit fails: its write is undone, the others stay */
		CHECK_EQ_INT(wa_store_unit_end(st, id == 2 ? WA_EINVAL : 0), id == 2 ? WA_EINVAL : 0);
	}
	CHECK(wa_store_group_active(st));
	CHECK_EQ_INT(flushes, 0);
	CHECK_EQ_INT(raw_int("g.db", "SELECT count(*) FROM prekeys"), 0); /* nothing durable yet */
	/* reads outside a unit do not flush */
	CHECK_EQ_INT(wa_store_prekey_exists(st, a, 3, &ex), 0);
	CHECK(ex);
	CHECK(wa_store_group_active(st));
	/* a write outside any unit commits the group first */
	CHECK_EQ_INT(wa_store_prekey_save(st, a, 9, rec, sizeof rec), 0);
	CHECK(!wa_store_group_active(st));
	CHECK_EQ_INT(flushes, 1);
	CHECK_EQ_INT(flush_rc, 0);
	CHECK_EQ_INT(flush_saw_rows, 2); /* 1 and 3, before 9 was written */
	CHECK_EQ_INT(raw_int("g.db", "SELECT count(*) FROM prekeys"), 3);
	CHECK_EQ_INT(wa_store_tx_depth(st), 0);

	/* a begin outside a unit flushes too; an explicit flush returns the commit */
	CHECK_EQ_INT(wa_store_group_open(st, on_flush, NULL), 0);
	CHECK_EQ_INT(wa_store_unit_begin(st), 0);
	CHECK_EQ_INT(wa_store_prekey_save(st, a, 4, rec, sizeof rec), 0);
	CHECK_EQ_INT(wa_store_unit_end(st, 0), 0);
	CHECK_EQ_INT(wa_store_begin(st), 0);
	CHECK_EQ_INT(flushes, 2);
	CHECK_EQ_INT(wa_store_tx_depth(st), 1);
	CHECK_EQ_INT(wa_store_group_open(st, on_flush, NULL), WA_ESTATE); /* depth must be 0 */
	CHECK_EQ_INT(wa_store_commit(st), 0);
	CHECK_EQ_INT(wa_store_group_open(st, on_flush, NULL), 0);
	CHECK_EQ_INT(wa_store_group_flush(st), 0);
	CHECK_EQ_INT(flushes, 3);

	/* closing with an open group rolls it back (a crash loses the group) */
	CHECK_EQ_INT(wa_store_group_open(st, on_flush, NULL), 0);
	CHECK_EQ_INT(wa_store_unit_begin(st), 0);
	CHECK_EQ_INT(wa_store_prekey_save(st, a, 5, rec, sizeof rec), 0);
	CHECK_EQ_INT(wa_store_unit_end(st, 0), 0);
	wa_store_close(st);
	st = open_ok("g.db", NULL);
	CHECK_EQ_INT(wa_store_prekey_exists(st, a, 5, &ex), 0);
	CHECK(!ex);
	CHECK_EQ_INT(flushes, 3);
	wa_store_close(st);
	rm_tmpdir();
}

static void write_file(const char *name, const void *p, size_t n)
{
	FILE *f = fopen(path_in(name), "wb");
	CHECK(f != NULL);
	if (!f)
		return;
	CHECK_EQ_INT(fwrite(p, 1, n, f), n);
	fclose(f);
}

static void test_encryption(void)
{
	mk_tmpdir();
	uint8_t key[32], wrong[32];
	fill(key, 32, 9);
	fill(wrong, 32, 10);
	char err[256];
	wa_store *st = NULL;
	int64_t a;
	uint8_t rec[64];
	fill(rec, sizeof rec, 0x33);

	wa_store_opts o = { .master_key = key, .errbuf = err, .errbuf_len = sizeof err };
	st = open_ok("e.db", &o);
	CHECK(wa_store_encrypted(st));
	CHECK_EQ_INT(wa_store_instance_create(st, "a", &a), 0);
	CHECK_EQ_INT(wa_store_session_save(st, a, "5511", 0, rec, sizeof rec), 0);
	wa_store_close(st);

	/* Missing key: refused at open with a clear message. */
	wa_store_opts none = { .errbuf = err, .errbuf_len = sizeof err };
	st = NULL;
	CHECK_EQ_INT(wa_store_open(db_in("e.db"), &none, &st), WA_EDB_KEY);
	CHECK(st == NULL);
	CHECK(strstr(err, "encrypted") != NULL);

	/* Wrong key: refused at open, never garbage. */
	wa_store_opts bad = { .master_key = wrong, .errbuf = err, .errbuf_len = sizeof err };
	CHECK_EQ_INT(wa_store_open(db_in("e.db"), &bad, &st), WA_EDB_KEY);
	CHECK(strstr(err, "does not match") != NULL);

	/* Key from a file: hex with newline. */
	char hex[80];
	sodium_bin2hex(hex, sizeof hex, key, 32);
	strcat(hex, "\n");
	write_file("key.hex", hex, strlen(hex));
	wa_store_opts fo = { .master_key_file = path_in("key.hex"), .errbuf = err, .errbuf_len = sizeof err };
	st = open_ok("e.db", &fo);
	uint8_t *p = NULL;
	size_t n = 0;
	check_blob(wa_store_session_load(st, a, "5511", 0, &p, &n), &p, &n, rec, sizeof rec);
	wa_store_close(st);

	/* base64 and raw file forms. */
	char b64[80];
	sodium_bin2base64(b64, sizeof b64, key, 32, sodium_base64_VARIANT_ORIGINAL);
	write_file("key.b64", b64, strlen(b64));
	fo.master_key_file = path_in("key.b64");
	st = open_ok("e.db", &fo);
	wa_store_close(st);
	write_file("key.raw", key, 32);
	fo.master_key_file = path_in("key.raw");
	st = open_ok("e.db", &fo);
	wa_store_close(st);

	/* Malformed key file and missing key file. */
	write_file("key.bad", "not a key\n", 10);
	fo.master_key_file = path_in("key.bad");
	CHECK_EQ_INT(wa_store_open(db_in("e.db"), &fo, &st), WA_EDB_KEY);
	CHECK(strstr(err, "master key file") != NULL);
	fo.master_key_file = path_in("key.none");
	CHECK_EQ_INT(wa_store_open(db_in("e.db"), &fo, &st), WA_EDB_KEY);

	/* Environment variable, only when asked for. */
	setenv("WAMD_MASTER_KEY", b64, 1);
	wa_store_opts eo = { .key_from_env = true, .errbuf = err, .errbuf_len = sizeof err };
	st = open_ok("e.db", &eo);
	CHECK(wa_store_encrypted(st));
	wa_store_close(st);
	setenv("WAMD_MASTER_KEY", "zz", 1);
	CHECK_EQ_INT(wa_store_open(db_in("e.db"), &eo, &st), WA_EDB_KEY);
	CHECK(strstr(err, "WAMD_MASTER_KEY") != NULL);
	unsetenv("WAMD_MASTER_KEY");
	CHECK_EQ_INT(wa_store_open(db_in("e.db"), &eo, &st), WA_EDB_KEY); /* env empty: no key */

	/* A key offered for a plaintext file is refused (no silent mixing). */
	st = open_ok("plain.db", NULL);
	wa_store_close(st);
	CHECK_EQ_INT(wa_store_open(db_in("plain.db"), &o, &st), WA_EDB_KEY);
	CHECK(strstr(err, "without encryption") != NULL);

	/* Fresh nonce per value: the same record sealed twice differs on disk. */
	st = open_ok("e.db", &o);
	CHECK_EQ_INT(wa_store_session_save(st, a, "5512", 0, rec, sizeof rec), 0);
	wa_store_close(st);
	CHECK_EQ_INT(raw_int("e.db", "SELECT count(DISTINCT record) FROM sessions"), 2);
	CHECK_EQ_INT(raw_int("e.db", "SELECT length(record) FROM sessions LIMIT 1"), 1 + 24 + 16 + (long long)sizeof rec);

	/* A tampered sealed value fails authentication instead of returning bytes. */
	/* (a byte that is already 00 would make the "tamper" a no-op: flip instead) */
	raw_exec("e.db", SQL2("UPDATE sessions SET record = substr(record, 1, 30) ||"
			      " CASE WHEN substr(record, 31, 1) = x'00' THEN x'01' ELSE x'00' END || substr(record, 32)",
			 "UPDATE sessions SET record = set_byte(record, 30, CASE WHEN get_byte(record, 30) = 0 THEN 1"
			 " ELSE 0 END)"));
	st = open_ok("e.db", &o);
	CHECK_EQ_INT(wa_store_session_load(st, a, "5511", 0, &p, &n), WA_EDB_KEY);
	wa_store_close(st);
	rm_tmpdir();
}

static void copy_fixture(const char *fixture, const char *name)
{
	const char *root = getenv("WA_SOURCE_ROOT");
	char src[600];
	snprintf(src, sizeof src, "%s/tests/unit/fixtures/store/%s", root ? root : ".", fixture);
	FILE *f = fopen(src, "rb");
	CHECK(f != NULL);
	if (!f) {
		fprintf(stderr, "missing fixture %s\n", src);
		return;
	}
	uint8_t buf[65536];
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	CHECK(n > 0);
	write_file(name, buf, n);
}

/* PostgreSQL has no file to corrupt: a server that cannot be reached is an
 * I/O error with libpq's reason, and nothing is returned. */
static void test_pg_unreachable(void)
{
	mk_tmpdir();
	char uri[400], err[256] = "";
	snprintf(uri, sizeof uri, "postgresql:///none?host=%s&connect_timeout=2", tmpdir);
	wa_store_opts o = { .errbuf = err, .errbuf_len = sizeof err };
	wa_store *st = NULL;
	CHECK_EQ_INT(wa_store_open(uri, &o, &st), WA_EIO);
	CHECK(st == NULL);
	CHECK(strstr(err, "PostgreSQL") != NULL);
	rm_tmpdir();
}

static void test_corrupt(void)
{
	static const char *fixtures[] = { "garbage.db", "truncated.db", "scrambled.db" };
	if (store_backend_pg()) {
		test_pg_unreachable();
		return;
	}
	mk_tmpdir();
	for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) {
		copy_fixture(fixtures[i], "x.db");
		char err[256] = "";
		wa_store_opts o = { .errbuf = err, .errbuf_len = sizeof err };
		wa_store *st = NULL;
		int rc = wa_store_open(db_in("x.db"), &o, &st);
		if (rc != WA_EDB_CORRUPT)
			fprintf(stderr, "fixture %s: %s\n", fixtures[i], wa_errname(rc));
		CHECK_EQ_INT(rc, WA_EDB_CORRUPT);
		CHECK(st == NULL);
		CHECK(err[0] != '\0');
		unlink(path_in("x.db"));
		unlink(path_in("x.db-wal"));
		unlink(path_in("x.db-shm"));
	}
	/* A directory where the file should be: an error, not a crash. */
	wa_store *st = NULL;
	CHECK(wa_store_open(tmpdir, NULL, &st) < 0);
	CHECK(st == NULL);
	rm_tmpdir();
}

static void test_instances(void)
{
	mk_tmpdir();
	wa_store *st = open_ok("n.db", NULL);
	int64_t a, b, x;
	wa_store_instance_info *empty = (wa_store_instance_info *)0x1;
	size_t n_empty = 99;
	CHECK_EQ_INT(wa_store_instance_list(st, &empty, &n_empty), 0);
	CHECK_EQ_INT(n_empty, 0);
	CHECK(empty == NULL);
	CHECK_EQ_INT(wa_store_instance_create(st, "alpha", &a), 0);
	CHECK_EQ_INT(wa_store_instance_create(st, "beta", &b), 0);
	CHECK(a != b);
	CHECK_EQ_INT(wa_store_instance_create(st, "alpha", &x), WA_EEXIST);
	CHECK_EQ_INT(wa_store_instance_create(st, "", &x), WA_EINVAL);
	CHECK_EQ_INT(wa_store_instance_find(st, "beta", &x), 0);
	CHECK_EQ_INT(x, b);
	CHECK_EQ_INT(wa_store_instance_find(st, "gamma", &x), WA_ENOTFOUND);
	wa_store_instance_info *list = NULL;
	size_t n = 0;
	CHECK_EQ_INT(wa_store_instance_list(st, &list, &n), 0);
	CHECK_EQ_INT(n, 2);
	if (n == 2) {
		CHECK_EQ_STR(list[0].name, "alpha");
		CHECK_EQ_INT(list[1].id, b);
	}
	free(list);

	/* Fill every table for both instances, then delete one. */
	uint8_t rec[32];
	fill(rec, sizeof rec, 1);
	wa_store_creds c;
	make_creds(&c);
	uint8_t hash[WA_STORE_LTHASH_LEN] = { 0 };
	int64_t ids[2] = { a, b };
	for (int i = 0; i < 2; i++) {
		int64_t id = ids[i];
		CHECK_EQ_INT(wa_store_creds_save(st, id, &c), 0);
		CHECK_EQ_INT(wa_store_identity_save(st, id, "p", 0, rec, 32, NULL), 0);
		CHECK_EQ_INT(wa_store_prekey_save(st, id, 1, rec, 32), 0);
		CHECK_EQ_INT(wa_store_signed_prekey_save(st, id, 1, rec, 32), 0);
		CHECK_EQ_INT(wa_store_session_save(st, id, "p", 0, rec, 32), 0);
		CHECK_EQ_INT(wa_store_sender_key_save(st, id, "g", "p", 0, rec, 32), 0);
		CHECK_EQ_INT(wa_store_app_state_key_save(st, id, rec, 6, rec, 32), 0);
		CHECK_EQ_INT(wa_store_app_state_version_save(st, id, "regular", 1, hash), 0);
		CHECK_EQ_INT(wa_store_app_state_mutation_put(st, id, "regular", rec, rec, "[]", NULL, 0), 0);
		CHECK_EQ_INT(wa_store_contact_save(st, id, "j", "l", "n"), 0);
		CHECK_EQ_INT(wa_store_lid_mapping_save(st, id, "pn", "lid"), 0);
		CHECK_EQ_INT(wa_store_tctoken_put(st, id, "j", rec, 16, 5), 0);
		CHECK_EQ_INT(wa_store_gmeta_put(st, id, "1@g.us", rec, 16), 0);
		CHECK_EQ_INT(wa_store_gsk_add(st, id, "1@g.us", "d:1@s.whatsapp.net"), 0);
		wa_store_msg m = { .chat_jid = "c", .msg_id = "m", .timestamp = 1 };
		CHECK_EQ_INT(wa_store_msg_insert(st, id, &m, NULL), 0);
		CHECK_EQ_INT(wa_store_outbox_add(st, id, "c", "m", rec, 3, NULL), 0);
		CHECK_EQ_INT(wa_store_meta_put(st, id, "{}", 2), 0);
		wa_store_mrec mr = { .key_id = "k", .remote_jid = "c", .message_type = "conversation",
			.timestamp = 1, .status = 1, .record = "{}", .record_len = 2 };
		CHECK_EQ_INT(wa_store_msgrec_put(st, id, &mr), 0);
		CHECK_EQ_INT(wa_store_pace_note(st, id, "c", false, 1), 0);
		wa_store_pace_job pj = { .total = 1 };
		snprintf(pj.key, sizeof pj.key, "j");
		CHECK_EQ_INT(wa_store_pace_job_put(st, id, &pj, "{}", 2, &pj.row), 0);
		CHECK_EQ_INT(wa_store_pace_job_rcpt_put(st, pj.row, 0, "c", "{}", 2), 0);
		uint8_t iv[WA_STORE_APP_IV_LEN] = {1};
		wa_store_as_pending ap = { .name = "regular", .index_json = "[]", .value = iv, .value_len = 1, .api = 2,
			.iv = iv };
		int64_t prow = 0;
		CHECK_EQ_INT(wa_store_app_state_pending_add(st, id, &ap, &prow), 0);
	}
	wa_store_close(st);
	/* (a one-byte blob: x'00' on SQLite, '\x00'::bytea on PostgreSQL) */
	raw_exec("n.db", SQL2("INSERT INTO chats (instance_id, jid) VALUES (1, 'c'), (2, 'c');"
			      "INSERT INTO webhook_queue (instance_id, event, payload, created_at) VALUES (1,'e',x'00',0),"
			      " (2,'e',x'00',0);"
			      "INSERT INTO history_pending (instance_id, msg_id, chat_jid, notification)"
			      " VALUES (1,'h','c',x'00'), (2,'h','c',x'00');"
			      "INSERT INTO wamd_relay (instance_id, key_id, jid, payload, created_at)"
			      " VALUES (1,'k','j','{}',0), (2,'k','j','{}',0);"
			      "INSERT INTO wamd_relay_media (seq, part, data) SELECT seq, 0, x'00' FROM wamd_relay",
			 "INSERT INTO chats (instance_id, jid) VALUES (1, 'c'), (2, 'c');"
			 "INSERT INTO webhook_queue (instance_id, event, payload, created_at)"
			 " VALUES (1,'e','\\x00'::bytea,0), (2,'e','\\x00'::bytea,0);"
			 "INSERT INTO history_pending (instance_id, msg_id, chat_jid, notification)"
			 " VALUES (1,'h','c','\\x00'::bytea), (2,'h','c','\\x00'::bytea);"
			 "INSERT INTO wamd_relay (instance_id, key_id, jid, payload, created_at)"
			 " VALUES (1,'k','j','{}',0), (2,'k','j','{}',0);"
			 "INSERT INTO wamd_relay_media (seq, part, data) SELECT seq, 0, '\\x00'::bytea FROM wamd_relay"));
	st = open_ok("n.db", NULL);
	CHECK_EQ_INT(wa_store_instance_delete(st, a), 0);
	CHECK_EQ_INT(wa_store_instance_delete(st, a), WA_ENOTFOUND);
	wa_store_close(st);
	static const char *tables[] = { "creds", "identity_keys", "prekeys", "signed_prekeys", "sessions",
		"sender_keys", "app_state_keys", "app_state_versions", "app_state_mutations", "contacts", "chats", "messages", "outbox",
		"webhook_queue", "lid_mapping", "wamd_instance_meta", "wamd_messages", "privacy_tokens", "groups",
		"group_sk_holders", "wamd_pace", "history_pending", "wamd_pace_jobs", "wamd_relay",
		"app_state_pending" };
	for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
		char sql[160];
		snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE instance_id = %lld", tables[i], (long long)a);
		long long left = raw_int("n.db", sql);
		snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE instance_id = %lld", tables[i], (long long)b);
		long long kept = raw_int("n.db", sql);
		if (left != 0 || kept != 1)
			fprintf(stderr, "table %s: left %lld kept %lld\n", tables[i], left, kept);
		CHECK_EQ_INT(left, 0);
		CHECK_EQ_INT(kept, 1);
	}
	/* a job's recipients (rows of their job, not of the instance) go with the job */
	CHECK_EQ_INT(raw_int("n.db", "SELECT count(*) FROM wamd_pace_job_rcpt"), 1);
	CHECK_EQ_INT(raw_int("n.db", "SELECT count(*) FROM wamd_pace_job_rcpt WHERE job_id NOT IN (SELECT id FROM wamd_pace_jobs)"), 0);
	/* a relayed send's file parts go with its relay row */
	CHECK_EQ_INT(raw_int("n.db", "SELECT count(*) FROM wamd_relay_media"), 1);
	CHECK_EQ_INT(raw_int("n.db", "SELECT count(*) FROM wamd_relay_media WHERE seq NOT IN (SELECT seq FROM wamd_relay)"), 0);
	/* Every table in the schema is covered by the list above (new ones must be added).
	 * Cluster mode's: wamd_nodes is not per instance, wamd_leases is checked
	 * by test_store_cluster (a lease row fences its instance's writes). */
	CHECK_EQ_INT(raw_int("n.db", SQL2("SELECT count(*) FROM sqlite_schema WHERE type = 'table'"
					  " AND name NOT IN ('meta', 'instances', 'sqlite_sequence', 'wamd_leases', 'wamd_nodes',"
					  " 'wamd_pace_job_rcpt', 'wamd_relay_media')",
				     "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()"
				     " AND table_name NOT IN ('meta', 'instances', 'wa_schema', 'wamd_leases', 'wamd_nodes',"
				     " 'wamd_pace_job_rcpt', 'wamd_relay_media')")),
		(long long)(sizeof tables / sizeof tables[0]));
	rm_tmpdir();
}

/* A migration that fails part-way leaves the previous version and no partial
 * schema: each migration is one transaction with its user_version bump. */
static void test_migration_atomic(void)
{
	mk_tmpdir();
	/* A stray table with a name migration 0001 creates makes it fail midway. */
	raw_exec("a.db", SQL2("CREATE TABLE lid_mapping (x)", "CREATE TABLE lid_mapping (x int)"));
	char err[256] = "";
	wa_store_opts o = { .errbuf = err, .errbuf_len = sizeof err };
	wa_store *st = NULL;
	CHECK_EQ_INT(wa_store_open(db_in("a.db"), &o, &st), WA_EDB);
	CHECK(st == NULL);
	CHECK(strstr(err, "0001-initial") != NULL);
	CHECK_EQ_INT(raw_int("a.db", SQL2("PRAGMA user_version", "SELECT count(*) FROM pg_tables WHERE"
									" schemaname = current_schema() AND tablename = 'wa_schema'")),
		0);
	CHECK_EQ_INT(raw_int("a.db", SQL2("SELECT count(*) FROM sqlite_schema WHERE name IN ('instances', 'meta')",
				     "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
				     " AND tablename IN ('instances', 'meta')")),
		0);
	rm_tmpdir();
}

/* Two processes opening the same new file at once: one migrates, the other
 * sees the new version inside its transaction and does not re-apply. */
static void test_concurrent_open(void)
{
	mk_tmpdir();
	(void)db_in("cc.db"); /* PostgreSQL: the schema exists before the race */
	pid_t kids[2];
	for (int k = 0; k < 2; k++) {
		kids[k] = fork();
		if (kids[k] == 0) {
			wa_store *st = NULL;
			int rc = wa_store_open(db_in("cc.db"), NULL, &st);
			wa_store_close(st);
			_exit(rc == 0 ? 0 : 1);
		}
	}
	for (int k = 0; k < 2; k++) {
		int status = 0;
		waitpid(kids[k], &status, 0);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	CHECK_EQ_INT(raw_int("cc.db", SQL2("PRAGMA user_version", "SELECT max(version) FROM wa_schema")), wa_store_schema_latest());
	rm_tmpdir();
}

/* SIGKILL in the middle of a stream of transactions: every transaction the
 * child reported committed is there, and the session record and message of
 * each unit are either both present or both absent. */
static void test_sigkill(void)
{
	mk_tmpdir();
	wa_store *st = open_ok("k.db", NULL);
	int64_t a;
	CHECK_EQ_INT(wa_store_instance_create(st, "a", &a), 0);
	wa_store_close(st);
	int fds[2];
	CHECK_EQ_INT(pipe(fds), 0);
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		wa_store *cs = NULL;
		if (wa_store_open(db_in("k.db"), NULL, &cs) != 0)
			_exit(1);
		for (uint32_t i = 0;; i++) {
			uint8_t rec[512];
			memset(rec, 0, sizeof rec);
			memcpy(rec, &i, sizeof i);
			char id[32];
			snprintf(id, sizeof id, "m%u", i);
			wa_store_msg m = { .chat_jid = "c", .msg_id = id, .timestamp = i, .plaintext = rec,
				.plaintext_len = 64 };
			if (wa_store_begin(cs) != 0 || wa_store_session_save(cs, a, "peer", 0, rec, sizeof rec) != 0 ||
			    wa_store_msg_insert(cs, a, &m, NULL) != 0 || wa_store_commit(cs) != 0)
				_exit(1);
			if (write(fds[1], &i, sizeof i) != (ssize_t)sizeof i)
				_exit(1);
		}
	}
	close(fds[1]);
	uint32_t last = 0, v;
	int got = 0;
	/* Let it commit a few hundred units, then kill it mid-stream. */
	while (got < 300 && read(fds[0], &v, sizeof v) == (ssize_t)sizeof v) {
		last = v;
		got++;
	}
	kill(pid, SIGKILL);
	int status = 0;
	waitpid(pid, &status, 0);
	close(fds[0]);
	CHECK(WIFSIGNALED(status));
	CHECK(got == 300);

	st = open_ok("k.db", NULL);
	long long n_msgs = raw_int("k.db", "SELECT count(*) FROM messages");
	CHECK(n_msgs >= (long long)last + 1); /* everything reported committed survived */
	uint8_t *p = NULL;
	size_t n = 0;
	CHECK_EQ_INT(wa_store_session_load(st, a, "peer", 0, &p, &n), 0);
	if (p && n == 512) {
		uint32_t in_session;
		memcpy(&in_session, p, sizeof in_session);
		/* The ratchet state matches the newest stored message: no unit was torn. */
		CHECK_EQ_INT((long long)in_session + 1, n_msgs);
	}
	wa_store_free(p, n);
	wa_store_close(st);
	rm_tmpdir();
}


/* seal_messages: message bodies and outbox payloads leave no plaintext in
 * the file or its WAL; rows written under either setting stay readable. */
static void test_seal_messages(void)
{
	mk_tmpdir();
	uint8_t key[32];
	fill(key, 32, 21);
	char err[256];
	wa_store *st = NULL;
	wa_store_opts nokey = { .seal_messages = true, .errbuf = err, .errbuf_len = sizeof err };
	CHECK_EQ_INT(wa_store_open(db_in("s.db"), &nokey, &st), WA_EDB_KEY);
	CHECK(st == NULL && strstr(err, "master key") != NULL);

	static const char in_text[] = "inbound secret words", out_text[] = "outbound secret words",
			  clear_text[] = "written before sealing", late_text[] = "queued after sealing";
	wa_store_opts plain = { .master_key = key };
	wa_store_opts sealed = { .master_key = key, .seal_messages = true };
	int64_t a, r0, r1, rid;
	/* a row written with the setting off, then the setting turned on */
	st = open_ok("s.db", &plain);
	CHECK_EQ_INT(wa_store_instance_create(st, "a", &a), 0);
	wa_store_msg m0 = { .chat_jid = "1@s.whatsapp.net", .msg_id = "OLD", .timestamp = 1,
		.plaintext = (const uint8_t *)clear_text, .plaintext_len = sizeof clear_text - 1 };
	CHECK_EQ_INT(wa_store_msg_insert(st, a, &m0, NULL), 0);
	wa_store_close(st);
	CHECK(file_contains("s.db", (const uint8_t *)clear_text, sizeof clear_text - 1));

	st = open_ok("s.db", &sealed);
	wa_store_msg m = { .chat_jid = "1@s.whatsapp.net", .msg_id = "IN", .timestamp = 2,
		.plaintext = (const uint8_t *)in_text, .plaintext_len = sizeof in_text - 1 };
	CHECK_EQ_INT(wa_store_msg_insert(st, a, &m, NULL), 0);
	wa_store_msg e = { .chat_jid = "1@s.whatsapp.net", .msg_id = "EMPTY", .timestamp = 3 };
	CHECK_EQ_INT(wa_store_msg_insert(st, a, &e, NULL), 0);
	CHECK_EQ_INT(wa_store_outbox_add(st, a, "1@s.whatsapp.net", "OUT", (const uint8_t *)out_text,
			     sizeof out_text - 1, &r0), 0);
	CHECK_EQ_INT(wa_store_outbox_add(st, a, "1@s.whatsapp.net", "OUT2", (const uint8_t *)"x", 1, &r1), 0);
	CHECK_EQ_INT(wa_store_outbox_update(st, a, r1, WA_STORE_OUTBOX_QUEUED, (const uint8_t *)late_text,
			     sizeof late_text - 1), 0);
	/* nothing in clear, while open (WAL) and after close */
	CHECK(!file_contains("s.db", (const uint8_t *)in_text, sizeof in_text - 1));
	CHECK(!file_contains("s.db", (const uint8_t *)out_text, sizeof out_text - 1));
	CHECK(!file_contains("s.db", (const uint8_t *)late_text, sizeof late_text - 1));
	wa_store_msg_row *row = NULL;
	CHECK_EQ_INT(wa_store_msg_load(st, a, "1@s.whatsapp.net", "IN", false, &row), 0);
	if (row) {
		CHECK_EQ_INT(row->plaintext_len, sizeof in_text - 1);
		CHECK_EQ_MEM(row->plaintext, in_text, sizeof in_text - 1);
	}
	wa_store_msg_row_free(row);
	row = NULL;
	CHECK_EQ_INT(wa_store_msg_load(st, a, "1@s.whatsapp.net", "OLD", false, &row), 0);
	if (row)
		CHECK_EQ_MEM(row->plaintext, clear_text, sizeof clear_text - 1);
	wa_store_msg_row_free(row);
	wa_store_close(st);
	CHECK(!file_contains("s.db", (const uint8_t *)in_text, sizeof in_text - 1));
	CHECK(!file_contains("s.db", (const uint8_t *)out_text, sizeof out_text - 1));
	CHECK_EQ_INT(raw_int("s.db", "SELECT count(*) FROM messages WHERE sealed = 1"), 2);
	CHECK_EQ_INT(raw_int("s.db", "SELECT count(*) FROM outbox WHERE sealed = 1"), 2);

	/* the setting off again: sealed rows still read back */
	st = open_ok("s.db", &plain);
	CHECK_EQ_INT(wa_store_msg_load(st, a, "1@s.whatsapp.net", "IN", false, &row), 0);
	if (row)
		CHECK_EQ_MEM(row->plaintext, in_text, sizeof in_text - 1);
	wa_store_msg_row_free(row);
	row = NULL;
	CHECK_EQ_INT(wa_store_msg_load(st, a, "1@s.whatsapp.net", "EMPTY", false, &row), 0);
	if (row)
		CHECK(row->plaintext_len == 0);
	wa_store_msg_row_free(row);
	char *mid = NULL, *chat = NULL;
	uint8_t *pl = NULL;
	size_t pn = 0;
	CHECK_EQ_INT(wa_store_outbox_next(st, a, &rid, &mid, &chat, &pl, &pn), 0);
	CHECK(rid == r0 && pn == sizeof out_text - 1 && pl && !memcmp(pl, out_text, pn));
	free(mid);
	free(chat);
	wa_store_free(pl, pn);
	CHECK_EQ_INT(wa_store_outbox_set_state(st, a, r0, WA_STORE_OUTBOX_SENT), 0);
	CHECK_EQ_INT(wa_store_outbox_next(st, a, &rid, &mid, &chat, &pl, &pn), 0);
	CHECK(rid == r1 && pn == sizeof late_text - 1 && pl && !memcmp(pl, late_text, pn));
	free(mid);
	free(chat);
	wa_store_free(pl, pn);
	wa_store_close(st);
	rm_tmpdir();
}

static int count_rcpt(void *arg, int64_t idx, const char *jid, const char *vars, size_t len)
{
	(void)jid, (void)vars, (void)len;
	int64_t *v = arg;
	if (v[0] == 0)
		v[1] = idx; /* the first index left */
	v[0]++;
	return 0;
}

/* a job's recipients dropped a batch at a time, the lowest indexes first */
static void test_pace_rcpt_drop(void)
{
	mk_tmpdir();
	wa_store *st = open_ok("rcpt.db", NULL);
	int64_t id, dropped = -1;
	CHECK_EQ_INT(wa_store_instance_create(st, "a", &id), 0);
	wa_store_pace_job pj = { .total = 5 };
	snprintf(pj.key, sizeof pj.key, "j");
	CHECK_EQ_INT(wa_store_pace_job_put(st, id, &pj, "{}", 2, &pj.row), 0);
	for (int64_t k = 4; k >= 0; k--)
		CHECK_EQ_INT(wa_store_pace_job_rcpt_put(st, pj.row, k, "c", "{}", 2), 0);
	CHECK_EQ_INT(wa_store_pace_job_rcpt_drop(st, pj.row, 2, &dropped), 0);
	CHECK_EQ_INT(dropped, 2);
	int64_t v[2] = { 0, -1 };
	CHECK_EQ_INT(wa_store_pace_job_rcpt_page(st, pj.row, 0, 10, count_rcpt, v), 0);
	CHECK(v[0] == 3 && v[1] == 2);
	CHECK_EQ_INT(wa_store_pace_job_rcpt_drop(st, pj.row, 10, &dropped), 0);
	CHECK_EQ_INT(dropped, 3);
	CHECK_EQ_INT(wa_store_pace_job_rcpt_drop(st, pj.row, 10, &dropped), 0);
	CHECK_EQ_INT(dropped, 0);
	wa_store_close(st);
}

int main(void)
{
	test_migrations();
	test_pragmas();
	test_creds(false);
	test_creds(true);
	test_identity();
	test_tctokens();
	test_gsk_list();
	test_signal_tables(false);
	test_signal_tables(true);
	test_messages();
	test_transactions();
	test_group();
	test_encryption();
	test_seal_messages();
	test_corrupt();
	test_instances();
	test_migration_atomic();
	test_concurrent_open();
	test_sigkill();
	test_pace_rcpt_drop();
	return check_exit("test_store");
}
