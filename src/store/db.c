/* src/store/db.c: opening a store (backend, key, migrations), the prepared
 * statement cache, nested transactions and group commit. Table families live
 * in their own files; they reach the backend only through db_driver.h and
 * the helpers here. */
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"
#include "store/migrations.h"
#include "util/seams.h"

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

static void group_guard(wa_store *st, wa_stmt *stmt);

int wa_store_stmt(wa_store *st, const char *sql, wa_stmt **out)
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
	wa_stmt *stmt = NULL;
	int rc = st->db->ops->prepare(st->db, sql, &stmt);
	if (rc != 0)
		return rc;
	st->stmts[st->n_stmts].sql = sql;
	st->stmts[st->n_stmts].stmt = stmt;
	st->n_stmts++;
	group_guard(st, stmt);
	*out = stmt;
	return 0;
}

void wa_store_stmt_done(wa_stmt *stmt)
{
	wa_stmt_reset(stmt);
}

int wa_store_stmt_exec(wa_stmt *stmt)
{
	int rc = wa_stmt_step(stmt);
	wa_store_stmt_done(stmt);
	return rc == WA_DB_DONE ? 0 : rc == WA_DB_ROW ? WA_EDB : wa_store_map_rc(rc);
}

/* The backend's transaction is gone or unusable (SQLite rolled it back on
 * an I/O error, OOM or busy; a PostgreSQL statement failed in it). */
static bool tx_lost(wa_store *st)
{
	return st->db->ops->tx_state(st->db) != WA_DB_TX_ACTIVE;
}

/* ---- transactions ----
 * Level 0 is the backend transaction (BEGIN IMMEDIATE on SQLite; BEGIN plus
 * the writer lock on PostgreSQL), deeper levels are savepoints. A later
 * fencing check belongs in the drivers' tx_begin(level 0): every write
 * transaction, group commits included, starts there. */

int wa_store_begin(wa_store *st)
{
	int rc;
	if (st->group_open && st->unit_depth == 0 && !st->group_flushing)
		(void)wa_store_group_flush(st); /* not part of the group: commit it first */
	rc = st->db->ops->tx_begin(st->db, st->depth);
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

static bool auto_unit_top(const wa_store *st)
{
	return st->unit_auto && st->group_open && st->unit_depth == 1 && st->depth == 2;
}

int wa_store_commit(wa_store *st)
{
	if (st->depth == 0)
		return WA_ESTATE;
	if (auto_unit_top(st)) {
		st->unit_auto = false;
		return wa_store_unit_end(st, 0);
	}
	int state = st->db->ops->tx_state(st->db);
	if (state == WA_DB_TX_NONE) {
		/* SQLite already rolled everything back (I/O error, OOM, busy). */
		wa_store_sess_cache_drop_all(st);
		tx_ended(st);
		return WA_EDB;
	}
	int rc;
	if (st->depth > 1) {
		/* an aborted PostgreSQL transaction refuses RELEASE: an error */
		rc = state == WA_DB_TX_ACTIVE ? st->db->ops->tx_commit(st->db, st->depth - 1) : WA_EDB;
		if (rc == 0)
			st->depth--;
		else
			wa_store_sess_cache_drop_all(st);
		return rc;
	}
	/* PostgreSQL answers COMMIT of an aborted transaction with a rollback,
	 * not an error: report it as the failure it is. */
	rc = state == WA_DB_TX_ACTIVE ? st->db->ops->tx_commit(st->db, 0) : WA_EDB;
	if (rc != 0) {
		wa_store_sess_cache_drop_all(st);
		/* Leave no half-open transaction behind: the caller sees the error
		 * and retries the whole unit. */
		if (st->db->ops->tx_state(st->db) != WA_DB_TX_NONE)
			(void)st->db->ops->tx_rollback(st->db, 0);
	}
	tx_ended(st);
	return rc;
}

int wa_store_rollback(wa_store *st)
{
	if (st->depth == 0)
		return WA_ESTATE;
	if (auto_unit_top(st)) {
		st->unit_auto = false;
		(void)wa_store_unit_end(st, WA_ESTATE); /* any rc: undo the unit */
		return 0;
	}
	wa_store_sess_cache_drop_all(st); /* whatever it undoes, cached records may have seen */
	if (st->db->ops->tx_state(st->db) == WA_DB_TX_NONE) {
		tx_ended(st);
		return 0;
	}
	int rc;
	if (st->depth > 1) {
		/* also what brings an aborted PostgreSQL transaction back */
		rc = st->db->ops->tx_rollback(st->db, st->depth - 1);
		st->depth--;
		return rc;
	}
	rc = st->db->ops->tx_rollback(st->db, 0);
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
	st->unit_auto = false;
	/* detach the list first: entries run with the group closed, so what
	 * they write or defer is durable (or runs) on its own */
	struct wa_store_after *after = st->after;
	size_t n_after = st->n_after;
	st->after = NULL;
	st->n_after = st->cap_after = 0;
	bool was = st->group_flushing;
	st->group_flushing = true;
	if (fn)
		fn(user, rc);
	for (size_t i = 0; i < n_after; i++)
		after[i].fn(after[i].user, rc);
	st->group_flushing = was;
	free(after);
	return rc;
}

/* A write statement about to run outside any unit of the open group: the
 * group goes first. Transaction control statements count as read-only. */
static void group_guard(wa_store *st, wa_stmt *stmt)
{
	if (st->group_open && st->unit_depth == 0 && !st->group_flushing && !st->db->ops->readonly(stmt))
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
	if (tx_lost(st)) {
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
	if (st->db->ops->tx_state(st->db) == WA_DB_TX_NONE) {
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
	return group_end(st, tx_lost(st) ? WA_EDB : 0);
}

bool wa_store_group_active(const wa_store *st)
{
	return st->group_open;
}

/* ---- deferred commit (include/wa/store.h) ---- */

int wa_store_turn_mode(wa_store *st, bool on)
{
	if (on && st->pg)
		return WA_EUNSUPPORTED;
	if (!on)
		(void)wa_store_turn_flush(st);
	st->turn_on = on;
	return 0;
}

int wa_store_begin_grouped(wa_store *st)
{
	bool join = st->turn_on && !st->group_flushing &&
		    (st->group_open ? st->unit_depth == 0 && st->depth == 1 : st->depth == 0);
	if (!join)
		return wa_store_begin(st);
	if (!st->group_open) {
		int rc = wa_store_group_open(st, NULL, NULL);
		if (rc != 0)
			return rc;
	}
	int rc = wa_store_unit_begin(st);
	if (rc == 0)
		st->unit_auto = true;
	return rc;
}

bool wa_store_tx_outermost(const wa_store *st)
{
	return st->depth == (st->group_open && st->unit_depth ? 2 : 1);
}

int wa_store_turn_flush(wa_store *st)
{
	/* a drain's group with nothing of the turn in it keeps its own pace */
	if (!st || !st->group_open || (st->group_fn && st->n_after == 0))
		return 0;
	return wa_store_group_flush(st);
}

bool wa_store_turn_pending(const wa_store *st)
{
	return st && st->group_open && !st->group_flushing;
}

void wa_store_after_commit(wa_store *st, wa_store_after_fn fn, void *user)
{
	if (!st->group_open || st->group_flushing) {
		fn(user, 0);
		return;
	}
	if (st->n_after == st->cap_after) {
		size_t nc = st->cap_after ? st->cap_after * 2 : 64;
		struct wa_store_after *g = realloc(st->after, nc * sizeof *g);
		if (!g) {
			/* inside a unit a flush would undo it: report the failure */
			int rc = st->unit_depth ? WA_ENOMEM : wa_store_group_flush(st);
			fn(user, rc);
			return;
		}
		st->after = g;
		st->cap_after = nc;
	}
	st->after[st->n_after++] = (struct wa_store_after){ .fn = fn, .user = user };
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

	st->pg = wa_drv_is_pg_uri(path);
	rc = st->pg ? wa_drv_pg_open(path, o, &st->db, err, err_len)
		    : wa_drv_sqlite_open(path, o, &st->db, err, err_len);
	if (rc != 0)
		goto fail;
	rc = wa_store_migrate(st, err, err_len);
	if (rc != 0)
		goto fail;
	rc = wa_store_key_check(st, err, err_len);
	if (rc != 0)
		goto fail;
	st->exclusive = o->exclusive;
	wa_store_sess_cache_enable(st);
	*out = st;
	return 0;

fail:
	if (rc == WA_EDB_CORRUPT && err && err_len && !err[0])
		set_err(err, err_len, "%s is not a valid database or is corrupt", st->pg ? "the store" : path);
	wa_store_close(st);
	return rc;
}

void wa_store_close(wa_store *st)
{
	if (!st)
		return;
	/* an open group is rolled back as a crash would lose it; what waited
	 * for it learns that (and frees what it held) */
	struct wa_store_after *after = st->after;
	size_t n_after = st->n_after;
	st->after = NULL;
	st->n_after = 0;
	st->group_flushing = true; /* nothing joins or waits any more */
	for (size_t i = 0; i < n_after; i++)
		after[i].fn(after[i].user, WA_ESTATE);
	free(after);
	if (st->db) {
		if (st->depth > 0 && st->db->ops->tx_state(st->db) != WA_DB_TX_NONE)
			(void)st->db->ops->tx_rollback(st->db, 0);
		for (size_t i = 0; i < st->n_stmts; i++)
			st->db->ops->finalize(st->stmts[i].stmt);
		st->db->ops->close(st->db);
	}
	wa_store_sess_cache_free(st);
	sodium_memzero(st->key, sizeof st->key);
	free(st);
}

const char *wa_store_errmsg(const wa_store *st)
{
	return (st && st->db) ? st->db->ops->errmsg(st->db) : "no database";
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

int wa_store_column_blob(wa_stmt *stmt, int col, size_t max, uint8_t **out, size_t *out_len)
{
	const void *p = wa_stmt_col_blob(stmt, col);
	int n = wa_stmt_col_bytes(stmt, col);
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

int wa_store_column_strdup(wa_stmt *stmt, int col, size_t max, char **out)
{
	if (wa_stmt_col_null(stmt, col)) {
		*out = NULL;
		return 0;
	}
	const char *s = wa_stmt_col_text(stmt, col);
	int n = wa_stmt_col_bytes(stmt, col);
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

int wa_store_load_one(wa_store *st, wa_stmt *stmt, bool sealed, size_t max, uint8_t **out, size_t *out_len)
{
	int src = wa_stmt_step(stmt);
	int rc;
	if (src == WA_DB_ROW) {
		rc = sealed ? wa_store_column_sealed(st, stmt, 0, max, out, out_len)
			    : wa_store_column_blob(stmt, 0, max, out, out_len);
		/* A stored value over the cap means the file was tampered with. */
		if (rc == WA_ETOOBIG)
			rc = WA_EDB_CORRUPT;
	} else {
		rc = src == WA_DB_DONE ? WA_ENOTFOUND : wa_store_map_rc(src);
	}
	wa_store_stmt_done(stmt);
	return rc;
}

int wa_store_exists(wa_stmt *stmt, bool *exists_out)
{
	int src = wa_stmt_step(stmt);
	wa_store_stmt_done(stmt);
	if (src != WA_DB_ROW && src != WA_DB_DONE)
		return wa_store_map_rc(src);
	*exists_out = src == WA_DB_ROW;
	return 0;
}

void wa_store_release_memory(wa_store *st)
{
	if (st && st->db)
		st->db->ops->release_memory(st->db);
}

bool wa_store_lost(wa_store *st)
{
	return st && st->db && wa_drv_pg_lost(st->db);
}
