/* src/store/drv_sqlite.c: the SQLite driver (the default backend). Opening
 * sets the pragmas (WAL, synchronous, foreign keys, cache, secure_delete);
 * statements are sqlite3_stmt behind the wa_stmt interface. */
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db_driver.h"
#include "store/store.h"

#define DEFAULT_BUSY_MS 5000
/* Default page cache per connection: 2 MiB is SQLite's own default and suits
 * one shared file holding many instances; per-file deployments should pass a
 * small cache_kib (see README.md, "one file or many"). */
#define DEFAULT_CACHE_KIB 2048
#define LOW_MEMORY_CACHE_KIB 64

#define SP_CACHED 4 /* savepoint levels with cached statements; deeper ones use exec */

typedef struct sq_db {
	wa_db base;
	sqlite3 *db;
	/* BEGIN/COMMIT and the savepoints of the first levels run as cached
	 * statements: through sqlite3_exec each was parsed again on every
	 * transaction, which was 6% of a symmetric-ratchet message. */
	sqlite3_stmt *begin, *commit, *rollback;
	sqlite3_stmt *sp[SP_CACHED], *release[SP_CACHED], *undo[SP_CACHED];
} sq_db;

typedef struct sq_stmt {
	wa_stmt base;
	sqlite3_stmt *s;
} sq_stmt;

static const wa_db_ops sq_ops;

static int map_rc(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
		return 0;
	case SQLITE_DONE:
		return WA_DB_DONE;
	case SQLITE_ROW:
		return WA_DB_ROW;
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
	case SQLITE_CONSTRAINT:
		return (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) ? WA_DB_UNIQUE : WA_EDB;
	default:
		return WA_EDB;
	}
}

static inline sqlite3_stmt *S(wa_stmt *s)
{
	return ((sq_stmt *)s)->s;
}

static inline sqlite3 *D(wa_db *db)
{
	return ((sq_db *)db)->db;
}

static int sq_prepare(wa_db *db, const char *sql, wa_stmt **out)
{
	sq_stmt *w = malloc(sizeof *w);
	if (!w)
		return WA_ENOMEM;
	w->base.ops = &sq_ops;
	w->s = NULL;
	int rc = sqlite3_prepare_v3(D(db), sql, -1, SQLITE_PREPARE_PERSISTENT, &w->s, NULL);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(w->s);
		free(w);
		rc = map_rc(rc);
		return rc == WA_DB_UNIQUE ? WA_EDB : rc;
	}
	*out = &w->base;
	return 0;
}

static void sq_finalize(wa_stmt *s)
{
	if (!s)
		return;
	sqlite3_finalize(S(s));
	free(s);
}

static int bind_rc(int rc)
{
	return rc == SQLITE_OK ? 0 : map_rc(rc);
}

static int sq_bind_i64(wa_stmt *s, int idx, int64_t v)
{
	return bind_rc(sqlite3_bind_int64(S(s), idx, v));
}

static int sq_bind_text(wa_stmt *s, int idx, const char *v, int n, bool copy)
{
	return bind_rc(sqlite3_bind_text(S(s), idx, v, n, copy ? SQLITE_TRANSIENT : SQLITE_STATIC));
}

static int sq_bind_blob(wa_stmt *s, int idx, const void *p, size_t n, bool copy)
{
	if (n > 0x7fffffff)
		return WA_ETOOBIG;
	return bind_rc(sqlite3_bind_blob(S(s), idx, n ? p : "", (int)n, copy ? SQLITE_TRANSIENT : SQLITE_STATIC));
}

static int sq_bind_null(wa_stmt *s, int idx)
{
	return bind_rc(sqlite3_bind_null(S(s), idx));
}

static int sq_step(wa_stmt *s)
{
	return map_rc(sqlite3_step(S(s)));
}

static void sq_reset(wa_stmt *s)
{
	sqlite3_reset(S(s));
	sqlite3_clear_bindings(S(s));
}

static int64_t sq_col_i64(wa_stmt *s, int col)
{
	return sqlite3_column_int64(S(s), col);
}

static const char *sq_col_text(wa_stmt *s, int col)
{
	return (const char *)sqlite3_column_text(S(s), col);
}

static const void *sq_col_blob(wa_stmt *s, int col)
{
	return sqlite3_column_blob(S(s), col);
}

static int sq_col_bytes(wa_stmt *s, int col)
{
	return sqlite3_column_bytes(S(s), col);
}

static bool sq_col_null(wa_stmt *s, int col)
{
	return sqlite3_column_type(S(s), col) == SQLITE_NULL;
}

static bool sq_readonly(wa_stmt *s)
{
	return sqlite3_stmt_readonly(S(s)) != 0;
}

static int sq_exec(wa_db *db, const char *sql)
{
	return bind_rc(sqlite3_exec(D(db), sql, NULL, NULL, NULL));
}

static int64_t sq_changes(wa_db *db)
{
	return sqlite3_changes(D(db));
}

static int64_t sq_last_insert_id(wa_db *db)
{
	return sqlite3_last_insert_rowid(D(db));
}

static int sq_tx_state(wa_db *db)
{
	return sqlite3_get_autocommit(D(db)) ? WA_DB_TX_NONE : WA_DB_TX_ACTIVE;
}

/* Runs a lazily prepared transaction-control statement. */
static int run_cached(sq_db *d, sqlite3_stmt **slot, const char *sql)
{
	if (!*slot) {
		int rc = sqlite3_prepare_v3(d->db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL);
		if (rc != SQLITE_OK) {
			sqlite3_finalize(*slot);
			*slot = NULL;
			return bind_rc(rc);
		}
	}
	int rc = sqlite3_step(*slot);
	sqlite3_reset(*slot);
	return rc == SQLITE_DONE ? 0 : bind_rc(rc == SQLITE_ROW ? SQLITE_MISUSE : rc);
}

static int sq_tx_begin(wa_db *db, int level)
{
	sq_db *d = (sq_db *)db;
	/* IMMEDIATE takes the write lock now: a deferred transaction that
	 * upgrades later can hit SQLITE_BUSY without the busy handler. */
	if (level == 0)
		return run_cached(d, &d->begin, "BEGIN IMMEDIATE");
	char sql[32];
	snprintf(sql, sizeof sql, "SAVEPOINT wa_sp%d", level);
	if (level <= SP_CACHED)
		return run_cached(d, &d->sp[level - 1], sql);
	return sq_exec(db, sql);
}

static int sq_tx_commit(wa_db *db, int level)
{
	sq_db *d = (sq_db *)db;
	if (level == 0)
		return run_cached(d, &d->commit, "COMMIT");
	char sql[40];
	snprintf(sql, sizeof sql, "RELEASE wa_sp%d", level);
	if (level <= SP_CACHED)
		return run_cached(d, &d->release[level - 1], sql);
	return sq_exec(db, sql);
}

static int sq_tx_rollback(wa_db *db, int level)
{
	sq_db *d = (sq_db *)db;
	if (level == 0)
		return run_cached(d, &d->rollback, "ROLLBACK");
	/* ROLLBACK TO keeps the savepoint open; RELEASE pops it. */
	char sql[80];
	if (level <= SP_CACHED) {
		snprintf(sql, sizeof sql, "ROLLBACK TO wa_sp%d", level);
		int rc = run_cached(d, &d->undo[level - 1], sql);
		snprintf(sql, sizeof sql, "RELEASE wa_sp%d", level);
		int rc2 = run_cached(d, &d->release[level - 1], sql);
		return rc ? rc : rc2;
	}
	snprintf(sql, sizeof sql, "ROLLBACK TO wa_sp%d; RELEASE wa_sp%d", level, level);
	return sq_exec(db, sql);
}

static int sq_schema_version(wa_db *db, int *out)
{
	sqlite3_stmt *stmt = NULL;
	int rc = sqlite3_prepare_v2(D(db), "PRAGMA user_version", -1, &stmt, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int(stmt, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(stmt);
	return bind_rc(rc);
}

static int sq_set_schema_version(wa_db *db, int v)
{
	char sql[64];
	snprintf(sql, sizeof sql, "PRAGMA user_version=%d", v);
	return sq_exec(db, sql);
}

static const char *sq_errmsg(wa_db *db)
{
	return sqlite3_errmsg(D(db));
}

static void sq_release_memory(wa_db *db)
{
	sqlite3_db_release_memory(D(db));
}

static void sq_close(wa_db *db)
{
	if (!db)
		return;
	sq_db *d = (sq_db *)db;
	if (d->db && !sqlite3_get_autocommit(d->db))
		(void)sq_exec(db, "ROLLBACK");
	sqlite3_finalize(d->begin);
	sqlite3_finalize(d->commit);
	sqlite3_finalize(d->rollback);
	for (int i = 0; i < SP_CACHED; i++) {
		sqlite3_finalize(d->sp[i]);
		sqlite3_finalize(d->release[i]);
		sqlite3_finalize(d->undo[i]);
	}
	sqlite3_close_v2(d->db);
	free(d);
}

static const wa_db_ops sq_ops = {
	.name = "sqlite",
	.prepare = sq_prepare,
	.finalize = sq_finalize,
	.bind_i64 = sq_bind_i64,
	.bind_text = sq_bind_text,
	.bind_blob = sq_bind_blob,
	.bind_null = sq_bind_null,
	.step = sq_step,
	.reset = sq_reset,
	.col_i64 = sq_col_i64,
	.col_text = sq_col_text,
	.col_blob = sq_col_blob,
	.col_bytes = sq_col_bytes,
	.col_null = sq_col_null,
	.readonly = sq_readonly,
	.exec = sq_exec,
	.changes = sq_changes,
	.last_insert_id = sq_last_insert_id,
	.tx_state = sq_tx_state,
	.tx_begin = sq_tx_begin,
	.tx_commit = sq_tx_commit,
	.tx_rollback = sq_tx_rollback,
	.schema_version = sq_schema_version,
	.set_schema_version = sq_set_schema_version,
	.errmsg = sq_errmsg,
	.release_memory = sq_release_memory,
	.close = sq_close,
};

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

static int apply_pragmas(sq_db *d, const wa_store_opts *o, char *err, size_t err_len)
{
	int busy = o->busy_timeout_ms > 0 ? o->busy_timeout_ms : DEFAULT_BUSY_MS;
	int cache = o->cache_kib > 0 ? o->cache_kib : o->low_memory ? LOW_MEMORY_CACHE_KIB : DEFAULT_CACHE_KIB;
	sqlite3_busy_timeout(d->db, busy);

	/* Exclusive locking must come before the first WAL access for SQLite
	 * to keep the WAL index in heap memory instead of the -shm file. At
	 * ~1,000 commits/s the per-transaction fcntl locks were a third of
	 * the daemon's system calls (tests/bench/README.md, send latency). */
	if (o->exclusive) {
		int xrc = sq_exec(&d->base, "PRAGMA locking_mode=EXCLUSIVE");
		if (xrc != 0) {
			set_err(err, err_len, "cannot set exclusive locking: %s", sqlite3_errmsg(d->db));
			return xrc;
		}
	}
	/* journal_mode is the first statement that reads the file header, so a
	 * file that is not a database fails here with SQLITE_NOTADB. */
	sqlite3_stmt *stmt = NULL;
	int rc = sqlite3_prepare_v2(d->db, "PRAGMA journal_mode=WAL", -1, &stmt, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		const unsigned char *mode = sqlite3_column_text(stmt, 0);
		rc = (mode && strcmp((const char *)mode, "wal") == 0) ? SQLITE_OK : SQLITE_ERROR;
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_OK) {
		set_err(err, err_len, "cannot enable WAL: %s", sqlite3_errmsg(d->db));
		return bind_rc(rc);
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
	rc = sq_exec(&d->base, sql);
	if (rc == 0 && o->wal_checkpoint_pages > 0) {
		snprintf(sql, sizeof sql, "PRAGMA wal_autocheckpoint=%d", o->wal_checkpoint_pages);
		rc = sq_exec(&d->base, sql);
	}
	if (rc != 0)
		set_err(err, err_len, "pragmas failed: %s", sqlite3_errmsg(d->db));
	return rc;
}

int wa_drv_sqlite_open(const char *path, const wa_store_opts *o, wa_db **out, char *err, size_t err_len)
{
	sq_db *d = calloc(1, sizeof *d);
	if (!d)
		return WA_ENOMEM;
	d->base.ops = &sq_ops;
	int src = sqlite3_open_v2(path, &d->db,
		SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, NULL);
	int rc;
	if (src != SQLITE_OK) {
		set_err(err, err_len, "cannot open %s: %s", path, d->db ? sqlite3_errmsg(d->db) : "out of memory");
		rc = d->db ? bind_rc(src) : WA_ENOMEM;
		goto fail;
	}
	/* Extended codes tell corruption apart from other errors. */
	sqlite3_extended_result_codes(d->db, 1);
	/* The lookaside allocator preallocates ~120 KiB per connection: cheap
	 * for one connection, the largest fixed cost when there are thousands. */
	if (o->low_memory)
		sqlite3_db_config(d->db, SQLITE_DBCONFIG_LOOKASIDE, NULL, 0, 0);
	rc = apply_pragmas(d, o, err, err_len);
	if (rc != 0)
		goto fail;
	*out = &d->base;
	return 0;
fail:
	sq_close(&d->base);
	return rc == WA_DB_UNIQUE ? WA_EDB : rc;
}

void *wa_drv_sqlite_handle(wa_db *db)
{
	return (db && db->ops == &sq_ops) ? D(db) : NULL;
}
