/* Private to src/store: the handle struct and helpers every table file uses
 * (statement cache, error mapping, sealed-column binding, nested-safe
 * internal transactions). */
#ifndef WA_STORE_INTERNAL_H
#define WA_STORE_INTERNAL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define WA_STORE_STMT_CAP 128 /* distinct SQL statements cached per handle */

struct wa_stmt_slot {
	const char *sql; /* identity of a static string: the cache key */
	sqlite3_stmt *stmt;
};

struct wa_store {
	sqlite3 *db;
	int depth;                       /* transaction nesting level */
	int64_t tx_start_ms;             /* wa_mono_ms at the outermost begin */
	int64_t last_tx_ms;
	bool has_key;
	bool seal_messages;              /* message bodies sealed too (needs the key) */
	uint8_t key[WA_STORE_MASTER_KEY_LEN];
	int schema_version;
	size_t n_stmts;
	struct wa_stmt_slot stmts[WA_STORE_STMT_CAP];
	/* group commit (wa_store_group_*): the outermost transaction belongs
	 * to the group while open; units are savepoints inside it */
	bool group_open;
	bool group_flushing;
	int unit_depth;                  /* open units (0 or 1) */
	wa_store_group_flush_fn group_fn;
	void *group_user;
};

/* Maps a SQLite result code to a WA_E* code. */
int wa_store_map_rc(int rc);

/* Returns the cached prepared statement for sql (a static string; the
 * pointer is the cache key), preparing it on first use. The statement is
 * reset and its bindings cleared on the way out by wa_store_stmt_done. */
int wa_store_stmt(wa_store *st, const char *sql, sqlite3_stmt **out) WA_MUST_CHECK;
void wa_store_stmt_done(sqlite3_stmt *stmt);
/* Steps a write statement to completion and finishes it. */
int wa_store_stmt_exec(sqlite3_stmt *stmt) WA_MUST_CHECK;

/* Steps a bound single-row SELECT whose column 0 is the value: copies it
 * (unsealing when sealed) and finishes the statement. WA_ENOTFOUND when no row. */
int wa_store_load_one(wa_store *st, sqlite3_stmt *stmt, bool sealed, size_t max,
	uint8_t **out, size_t *out_len) WA_MUST_CHECK;
/* Steps a bound SELECT and reports whether it returned a row. */
int wa_store_exists(sqlite3_stmt *stmt, bool *exists_out) WA_MUST_CHECK;

/* Internal write units: begin (nested ok), then end with rc: commits on 0,
 * rolls back otherwise; returns rc or the commit error. */
int wa_store_tx_enter(wa_store *st) WA_MUST_CHECK;
int wa_store_tx_leave(wa_store *st, int rc);

/* Sealed columns: binds p as-is when unencrypted, else as
 * version || nonce || secretbox(p). */
int wa_store_bind_sealed(wa_store *st, sqlite3_stmt *stmt, int idx, const uint8_t *p, size_t n) WA_MUST_CHECK;
/* The same with a size limit other than WA_STORE_MAX_RECORD (message bodies). */
int wa_store_bind_sealed_max(wa_store *st, sqlite3_stmt *stmt, int idx, const uint8_t *p, size_t n,
	size_t max) WA_MUST_CHECK;
/* Reads a sealed column into a malloc'd buffer (free: wa_store_free).
 * WA_EDB_KEY when the value does not authenticate; WA_ETOOBIG over max. */
int wa_store_column_sealed(wa_store *st, sqlite3_stmt *stmt, int col, size_t max,
	uint8_t **out, size_t *out_len) WA_MUST_CHECK;
/* Reads a sealed column into a fixed buffer of exactly want bytes. */
int wa_store_column_sealed_fixed(wa_store *st, sqlite3_stmt *stmt, int col, uint8_t *dst, size_t want) WA_MUST_CHECK;
/* Copies a plain blob column (<= max) into a malloc'd buffer (NULL if empty). */
int wa_store_column_blob(sqlite3_stmt *stmt, int col, size_t max, uint8_t **out, size_t *out_len) WA_MUST_CHECK;
/* Copies a text column into a malloc'd string; *out = NULL for SQL NULL. */
int wa_store_column_strdup(sqlite3_stmt *stmt, int col, size_t max, char **out) WA_MUST_CHECK;

/* Key material (crypt.c). Loads the key named by opts into st (or none). */
int wa_store_key_load(wa_store *st, const wa_store_opts *opts, char *err, size_t err_len) WA_MUST_CHECK;
/* Checks or creates the encryption marker in meta. */
int wa_store_key_check(wa_store *st, char *err, size_t err_len) WA_MUST_CHECK;

/* Applies pending migrations (migrate.c). */
int wa_store_migrate(wa_store *st, char *err, size_t err_len) WA_MUST_CHECK;

/* Validates a caller string: non-NULL, NUL within max bytes, non-empty. */
bool wa_store_str_ok(const char *s, size_t max);

#endif
