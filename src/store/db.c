/* src/store/db.c: opening a store (pragmas, key, migrations), the prepared
 * statement cache, error mapping and nested transactions. Table families live
 * in their own files; they reach SQLite only through the helpers here. */
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"
#include "store/migrations.h"
#include "util/seams.h"

#define WA_STORE_DEFAULT_BUSY_MS 5000
/* Default page cache per connection: 2 MiB is SQLite's own default and suits
 * one shared file holding many instances; per-file deployments should pass a
 * small cache_kib (see README.md, "one file or many"). */
#define WA_STORE_DEFAULT_CACHE_KIB 2048
#define WA_STORE_LOW_MEMORY_CACHE_KIB 64

__attribute__((format(printf, 3, 4)))
static void set_err(char *err, size_t err_len, const char *fmt, ...)
{
	if (!err || err_len == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
}

int wa_store_map_rc(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_NOMEM:
		return WA_ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return WA_EDB_BUSY;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return WA_EDB_CORRUPT;
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
	case SQLITE_FULL:
	case SQLITE_READONLY:
	case SQLITE_PERM:
		return WA_EIO;
	case SQLITE_TOOBIG:
		return WA_ETOOBIG;
	default:
		return WA_EDB;
	}
}

bool wa_store_str_ok(const char *s, size_t max)
{
	return s && s[0] && memchr(s, '\0', max) != NULL;
}

void wa_store_free(void *p, size_t len)
{
	if (!p)
		return;
	sodium_memzero(p, len);
	free(p);
}

static void group_guard(wa_store *st, sqlite3_stmt *stmt);

int wa_store_stmt(wa_store *st, const char *sql, sqlite3_stmt **out)
{
	for (size_t i = 0; i < st->n_stmts; i++) {
		if (st->stmts[i].sql == sql) {
			group_guard(st, st->stmts[i].stmt);
			*out = st->stmts[i].stmt;
			return 0;
		}
	}
	/* The cap is a bound on our own code's distinct statements, not on input. */
	if (st->n_stmts == WA_STORE_STMT_CAP)
		return WA_ETOOBIG;
	sqlite3_stmt *stmt = NULL;
	int rc = sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(stmt);
		return wa_store_map_rc(rc);
	}
	st->stmts[st->n_stmts].sql = sql;
	st->stmts[st->n_stmts].stmt = stmt;
	st->n_stmts++;
	group_guard(st, stmt);
	*out = stmt;
	return 0;
}

void wa_store_stmt_done(sqlite3_stmt *stmt)
{
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
}

int wa_store_stmt_exec(sqlite3_stmt *stmt)
{
	int rc = sqlite3_step(stmt);
	wa_store_stmt_done(stmt);
	return rc == SQLITE_DONE ? 0 : wa_store_map_rc(rc == SQLITE_ROW ? SQLITE_MISUSE : rc);
}

static int exec_sql(wa_store *st, const char *sql)
{
	return wa_store_map_rc(sqlite3_exec(st->db, sql, NULL, NULL, NULL));
}

/* ---- transactions ----
 * BEGIN/COMMIT and the savepoints of the first levels run as cached
 * statements: through sqlite3_exec each was parsed again on every
 * transaction, which was 6% of a symmetric-ratchet message. */

#define SP_CACHED 4 /* savepoint levels with cached statements; deeper ones use exec */
static const char sql_begin[] = "BEGIN IMMEDIATE";
static const char sql_commit[] = "COMMIT";
static const char sql_rollback[] = "ROLLBACK";
static const char *const sql_sp[SP_CACHED] = { "SAVEPOINT wa_sp1", "SAVEPOINT wa_sp2", "SAVEPOINT wa_sp3",
					       "SAVEPOINT wa_sp4" };
static const char *const sql_release[SP_CACHED] = { "RELEASE wa_sp1", "RELEASE wa_sp2", "RELEASE wa_sp3",
						    "RELEASE wa_sp4" };
static const char *const sql_sp_undo[SP_CACHED] = { "ROLLBACK TO wa_sp1", "ROLLBACK TO wa_sp2",
						    "ROLLBACK TO wa_sp3", "ROLLBACK TO wa_sp4" };

/* Runs one cached statement that returns no rows. */
static int exec_cached(wa_store *st, const char *sql)
{
	sqlite3_stmt *s;
	int rc = wa_store_stmt(st, sql, &s);
	if (rc != 0)
		return rc;
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : wa_store_map_rc(rc == SQLITE_ROW ? SQLITE_MISUSE : rc);
}

int wa_store_begin(wa_store *st)
{
	int rc;
	if (st->group_open && st->unit_depth == 0 && !st->group_flushing)
		(void)wa_store_group_flush(st); /* not part of the group: commit it first */
	if (st->depth == 0) {
		/* IMMEDIATE takes the write lock now: a deferred transaction that
		 * upgrades later can hit SQLITE_BUSY without the busy handler. */
		rc = exec_cached(st, sql_begin);
	} else if (st->depth <= SP_CACHED) {
		rc = exec_cached(st, sql_sp[st->depth - 1]);
	} else {
		char sp[32];
		snprintf(sp, sizeof sp, "SAVEPOINT wa_sp%d", st->depth);
		rc = exec_sql(st, sp);
	}
	if (rc == 0) {
		if (st->depth == 0)
			st->tx_start_ms = wa_mono_ms();
		st->depth++;
	}
	return rc;
}

static void tx_ended(wa_store *st)
{
	st->depth = 0;
	st->last_tx_ms = wa_mono_ms() - st->tx_start_ms;
}

int wa_store_commit(wa_store *st)
{
	if (st->depth == 0)
		return WA_ESTATE;
	if (sqlite3_get_autocommit(st->db)) {
		/* SQLite already rolled everything back (I/O error, OOM, busy). */
		tx_ended(st);
		return WA_EDB;
	}
	int rc;
	if (st->depth > 1) {
		int level = st->depth - 1;
		if (level <= SP_CACHED) {
			rc = exec_cached(st, sql_release[level - 1]);
		} else {
			char sp[40];
			snprintf(sp, sizeof sp, "RELEASE wa_sp%d", level);
			rc = exec_sql(st, sp);
		}
		if (rc == 0)
			st->depth--;
		return rc;
	}
	rc = exec_cached(st, sql_commit);
	if (rc != 0) {
		/* Leave no half-open transaction behind: the caller sees the error
		 * and retries the whole unit. */
		if (!sqlite3_get_autocommit(st->db))
			(void)exec_sql(st, "ROLLBACK");
	}
	tx_ended(st);
	return rc;
}

int wa_store_rollback(wa_store *st)
{
	if (st->depth == 0)
		return WA_ESTATE;
	if (sqlite3_get_autocommit(st->db)) {
		tx_ended(st);
		return 0;
	}
	int rc;
	if (st->depth > 1) {
		int level = st->depth - 1;
		/* ROLLBACK TO keeps the savepoint open; RELEASE pops it. */
		if (level <= SP_CACHED) {
			rc = exec_cached(st, sql_sp_undo[level - 1]);
			int rc2 = exec_cached(st, sql_release[level - 1]);
			if (rc == 0)
				rc = rc2;
		} else {
			char sp[80];
			snprintf(sp, sizeof sp, "ROLLBACK TO wa_sp%d; RELEASE wa_sp%d", level, level);
			rc = exec_sql(st, sp);
		}
		st->depth--;
		return rc;
	}
	rc = exec_cached(st, sql_rollback);
	tx_ended(st);
	return rc;
}

/* ---- group commit (store.h) ---- */

/* Ends the group: commit (or the error that already ended it), then the
 * caller's flush_fn. The flag stops the flush_fn's own store calls from
 * flushing again. */
static int group_end(wa_store *st, int rc)
{
	wa_store_group_flush_fn fn = st->group_fn;
	void *user = st->group_user;
	st->group_open = false;
	st->unit_depth = 0;
	st->group_fn = NULL;
	st->group_user = NULL;
	if (rc == 0)
		rc = wa_store_commit(st);
	else if (st->depth > 0)
		(void)wa_store_rollback(st);
	if (fn) {
		st->group_flushing = true;
		fn(user, rc);
		st->group_flushing = false;
	}
	return rc;
}

/* A write statement about to run outside any unit of the open group: the
 * group goes first. Transaction control statements count as read-only. */
static void group_guard(wa_store *st, sqlite3_stmt *stmt)
{
	if (st->group_open && st->unit_depth == 0 && !st->group_flushing && !sqlite3_stmt_readonly(stmt))
		(void)wa_store_group_flush(st);
}

int wa_store_group_open(wa_store *st, wa_store_group_flush_fn fn, void *user)
{
	if (st->group_open) {
		if (st->group_fn == fn && st->group_user == user)
			return 0;
		(void)wa_store_group_flush(st);
	}
	if (st->depth != 0 || st->group_flushing)
		return WA_ESTATE;
	int rc = wa_store_begin(st);
	if (rc != 0)
		return rc;
	st->group_open = true;
	st->unit_depth = 0;
	st->group_fn = fn;
	st->group_user = user;
	return 0;
}

int wa_store_unit_begin(wa_store *st)
{
	if (!st->group_open || st->unit_depth != 0 || st->depth != 1)
		return WA_ESTATE;
	if (sqlite3_get_autocommit(st->db)) {
		(void)group_end(st, WA_EDB); /* the transaction is already gone */
		return WA_EDB;
	}
	st->unit_depth = 1; /* first: the begin below must not flush the group */
	int rc = wa_store_begin(st);
	if (rc != 0)
		st->unit_depth = 0;
	return rc;
}

int wa_store_unit_end(wa_store *st, int rc)
{
	if (!st->group_open || st->unit_depth != 1)
		return rc ? rc : WA_ESTATE;
	st->unit_depth = 0;
	if (sqlite3_get_autocommit(st->db)) {
		/* SQLite rolled the whole transaction back: every unit is lost */
		st->depth = 0;
		(void)group_end(st, WA_EDB);
		return rc ? rc : WA_EDB;
	}
	if (rc == 0) {
		rc = wa_store_commit(st); /* RELEASE of the unit's savepoint */
		if (rc != 0 && st->depth > 1)
			(void)wa_store_rollback(st);
	} else {
		(void)wa_store_rollback(st);
	}
	return rc;
}

int wa_store_group_flush(wa_store *st)
{
	if (!st->group_open)
		return 0;
	if (st->unit_depth != 0) {
		/* a flush from inside a unit (its caller's bug): keep the unit's
		 * work out of the commit */
		(void)wa_store_rollback(st);
		st->unit_depth = 0;
	}
	return group_end(st, sqlite3_get_autocommit(st->db) ? WA_EDB : 0);
}

bool wa_store_group_active(const wa_store *st)
{
	return st->group_open;
}

int wa_store_tx_depth(const wa_store *st)
{
	return st->depth;
}

int64_t wa_store_last_tx_ms(const wa_store *st)
{
	return st->last_tx_ms;
}

int wa_store_tx_enter(wa_store *st)
{
	return wa_store_begin(st);
}

int wa_store_tx_leave(wa_store *st, int rc)
{
	if (rc == 0)
		return wa_store_commit(st);
	(void)wa_store_rollback(st);
	return rc;
}

/* ---- open / close ---- */

static int apply_pragmas(wa_store *st, const wa_store_opts *o, char *err, size_t err_len)
{
	int busy = o->busy_timeout_ms > 0 ? o->busy_timeout_ms : WA_STORE_DEFAULT_BUSY_MS;
	int cache = o->cache_kib > 0 ? o->cache_kib
		  : o->low_memory ? WA_STORE_LOW_MEMORY_CACHE_KIB : WA_STORE_DEFAULT_CACHE_KIB;
	sqlite3_busy_timeout(st->db, busy);

	/* Exclusive locking must come before the first WAL access for SQLite
	 * to keep the WAL index in heap memory instead of the -shm file. At
	 * ~1,000 commits/s the per-transaction fcntl locks were a third of
	 * the daemon's system calls (tests/bench/README.md, send latency). */
	if (o->exclusive) {
		int xrc = exec_sql(st, "PRAGMA locking_mode=EXCLUSIVE");
		if (xrc != 0) {
			set_err(err, err_len, "cannot set exclusive locking: %s", sqlite3_errmsg(st->db));
			return xrc;
		}
	}
	/* journal_mode is the first statement that reads the file header, so a
	 * file that is not a database fails here with SQLITE_NOTADB. */
	sqlite3_stmt *stmt = NULL;
	int rc = sqlite3_prepare_v2(st->db, "PRAGMA journal_mode=WAL", -1, &stmt, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		const unsigned char *mode = sqlite3_column_text(stmt, 0);
		rc = (mode && strcmp((const char *)mode, "wal") == 0) ? SQLITE_OK : SQLITE_ERROR;
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_OK) {
		set_err(err, err_len, "cannot enable WAL: %s", sqlite3_errmsg(st->db));
		return wa_store_map_rc(rc);
	}

	char sql[384];
	/* NORMAL in WAL syncs at checkpoints, not at every commit: a commit
	 * survives the process dying (the WAL is in the OS page cache) but the
	 * last commits can be lost on power failure. FULL fsyncs each commit. */
	snprintf(sql, sizeof sql,
		"PRAGMA synchronous=%s; PRAGMA foreign_keys=ON; PRAGMA cache_size=-%d;"
		" PRAGMA secure_delete=FAST; PRAGMA temp_store=MEMORY;"
		/* The WAL is reused, not shrunk, after checkpoints; cap what it keeps. */
		" PRAGMA journal_size_limit=67108864; PRAGMA mmap_size=%lld;",
		o->sync == WA_STORE_SYNC_FULL ? "FULL" : "NORMAL", cache,
		o->mmap_mib > 0 ? (long long)o->mmap_mib << 20 : 0LL);
	rc = exec_sql(st, sql);
	if (rc != 0)
		set_err(err, err_len, "pragmas failed: %s", sqlite3_errmsg(st->db));
	return rc;
}

int wa_store_open(const char *path, const wa_store_opts *opts, wa_store **out)
{
	static const wa_store_opts defaults = { 0 };
	const wa_store_opts *o = opts ? opts : &defaults;
	char *err = o->errbuf;
	size_t err_len = o->errbuf_len;
	if (err && err_len)
		err[0] = '\0';
	if (!path || !out)
		return WA_EINVAL;
	if (sodium_init() < 0) {
		set_err(err, err_len, "libsodium init failed");
		return WA_ECRYPTO;
	}

	wa_store *st = calloc(1, sizeof *st);
	if (!st)
		return WA_ENOMEM;
	int rc = wa_store_key_load(st, o, err, err_len);
	if (rc != 0)
		goto fail;
	if (o->seal_messages && !st->has_key) {
		set_err(err, err_len, "sealing message bodies needs a master key");
		rc = WA_EDB_KEY;
		goto fail;
	}
	st->seal_messages = o->seal_messages;

	int src = sqlite3_open_v2(path, &st->db,
		SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, NULL);
	if (src != SQLITE_OK) {
		set_err(err, err_len, "cannot open %s: %s", path, st->db ? sqlite3_errmsg(st->db) : "out of memory");
		rc = st->db ? wa_store_map_rc(src) : WA_ENOMEM;
		goto fail;
	}
	/* Extended codes tell corruption apart from other errors. */
	sqlite3_extended_result_codes(st->db, 1);
	/* The lookaside allocator preallocates ~120 KiB per connection: cheap
	 * for one connection, the largest fixed cost when there are thousands. */
	if (o->low_memory)
		sqlite3_db_config(st->db, SQLITE_DBCONFIG_LOOKASIDE, NULL, 0, 0);

	rc = apply_pragmas(st, o, err, err_len);
	if (rc != 0)
		goto fail;
	rc = wa_store_migrate(st, err, err_len);
	if (rc != 0)
		goto fail;
	rc = wa_store_key_check(st, err, err_len);
	if (rc != 0)
		goto fail;
	*out = st;
	return 0;

fail:
	if (rc == WA_EDB_CORRUPT && err && err_len && !err[0])
		set_err(err, err_len, "%s is not a valid database or is corrupt", path);
	wa_store_close(st);
	return rc;
}

void wa_store_close(wa_store *st)
{
	if (!st)
		return;
	if (st->db) {
		if (st->depth > 0 && !sqlite3_get_autocommit(st->db))
			(void)exec_sql(st, "ROLLBACK");
		for (size_t i = 0; i < st->n_stmts; i++)
			sqlite3_finalize(st->stmts[i].stmt);
		sqlite3_close_v2(st->db);
	}
	sodium_memzero(st->key, sizeof st->key);
	free(st);
}

const char *wa_store_errmsg(const wa_store *st)
{
	return (st && st->db) ? sqlite3_errmsg(st->db) : "no database";
}

bool wa_store_encrypted(const wa_store *st)
{
	return st->has_key;
}

int wa_store_schema_version(const wa_store *st)
{
	return st->schema_version;
}

int wa_store_schema_latest(void)
{
	return wa_store_n_migrations;
}

/* ---- column helpers ---- */

int wa_store_column_blob(sqlite3_stmt *stmt, int col, size_t max, uint8_t **out, size_t *out_len)
{
	const void *p = sqlite3_column_blob(stmt, col);
	int n = sqlite3_column_bytes(stmt, col);
	if (n < 0)
		return WA_EDB_CORRUPT;
	if ((size_t)n > max)
		return WA_ETOOBIG;
	uint8_t *buf = NULL;
	if (n > 0) {
		buf = malloc((size_t)n);
		if (!buf)
			return WA_ENOMEM;
		memcpy(buf, p, (size_t)n);
	}
	*out = buf;
	*out_len = (size_t)n;
	return 0;
}

int wa_store_column_strdup(sqlite3_stmt *stmt, int col, size_t max, char **out)
{
	if (sqlite3_column_type(stmt, col) == SQLITE_NULL) {
		*out = NULL;
		return 0;
	}
	const unsigned char *s = sqlite3_column_text(stmt, col);
	int n = sqlite3_column_bytes(stmt, col);
	if (!s)
		return WA_ENOMEM;
	if (n < 0 || (size_t)n >= max)
		return WA_ETOOBIG;
	char *c = malloc((size_t)n + 1);
	if (!c)
		return WA_ENOMEM;
	memcpy(c, s, (size_t)n);
	c[n] = '\0';
	*out = c;
	return 0;
}

int wa_store_load_one(wa_store *st, sqlite3_stmt *stmt, bool sealed, size_t max, uint8_t **out, size_t *out_len)
{
	int src = sqlite3_step(stmt);
	int rc;
	if (src == SQLITE_ROW) {
		rc = sealed ? wa_store_column_sealed(st, stmt, 0, max, out, out_len)
			    : wa_store_column_blob(stmt, 0, max, out, out_len);
		/* A stored value over the cap means the file was tampered with. */
		if (rc == WA_ETOOBIG)
			rc = WA_EDB_CORRUPT;
	} else {
		rc = src == SQLITE_DONE ? WA_ENOTFOUND : wa_store_map_rc(src);
	}
	wa_store_stmt_done(stmt);
	return rc;
}

int wa_store_exists(sqlite3_stmt *stmt, bool *exists_out)
{
	int src = sqlite3_step(stmt);
	wa_store_stmt_done(stmt);
	if (src != SQLITE_ROW && src != SQLITE_DONE)
		return wa_store_map_rc(src);
	*exists_out = src == SQLITE_ROW;
	return 0;
}

void wa_store_release_memory(wa_store *st)
{
	if (st && st->db)
		sqlite3_db_release_memory(st->db);
}
