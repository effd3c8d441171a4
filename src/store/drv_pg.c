/* src/store/drv_pg.c: the PostgreSQL driver (libpq). A store URI names a
 * database; the tables live in the connection's current schema (set one
 * with options=-csearch_path%3Dname in the URI), which plays the part of
 * the SQLite file: the writer lock and the exclusive lock are per schema.
 *
 * Statements: ?N becomes $N once, at prepare; each is PQprepare'd under its
 * own name and cached by db.c for the connection's life. Integers and text
 * go as text parameters (the server casts them to the column's type), blobs
 * as binary BYTEA; results come back in binary and are read row by row from
 * the PGresult. Every call is one blocking round trip to the server.
 *
 * Transactions: BEGIN takes a transaction-scoped advisory lock, so writers
 * are serialized per schema as BEGIN IMMEDIATE does in SQLite, and waiting
 * longer than busy_timeout_ms is WA_EDB_BUSY (lock_timeout). Savepoints are
 * those of SQL. A failed statement aborts a PostgreSQL transaction (SQLite
 * keeps it): tx_state then says WA_DB_TX_FAILED and db.c rolls back. */
#include <libpq-fe.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db_driver.h"
#include "store/store.h"

#define DEFAULT_BUSY_MS 5000
#define LOCK_CLASS_WRITER 0x7761 /* advisory lock classes (the two-key form) */
#define LOCK_CLASS_OPEN 0x7762

/* type OIDs (catalog/pg_type_d.h is a server header) */
#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_FLOAT8 701

typedef struct pg_db {
	wa_db base;
	PGconn *c;
	int64_t changes;
	unsigned next_name;
	int lock_key;       /* hash of the current schema */
	int64_t fenced;     /* writes the cluster fence refused (SQLSTATE WF001) */
	char begin_sql[96]; /* BEGIN and the writer lock, one round trip */
	char err[256];
} pg_db;

typedef struct pg_param {
	const char *val; /* NULL: SQL NULL */
	int len;
	int fmt;       /* 0 text, 1 binary */
	char *owned;   /* a copy the statement frees (zeroed: it may be a key) */
	size_t owned_len;
	char num[24];  /* an integer as text */
} pg_param;

typedef struct pg_stmt {
	wa_stmt base;
	pg_db *db;
	char name[16];
	int n_params;
	bool readonly;
	bool ran;      /* executed since the last reset */
	PGresult *res; /* rows of a statement that returned some */
	int row, n_rows;
	pg_param *p;
	const char **vals;
	int *lens, *fmts;
} pg_stmt;

static const wa_db_ops pg_ops;

bool wa_drv_is_pg_uri(const char *path)
{
	return path && (strncmp(path, "postgres://", 11) == 0 || strncmp(path, "postgresql://", 13) == 0);
}

static inline pg_db *DB(wa_db *db)
{
	return (pg_db *)db;
}

static inline pg_stmt *ST(wa_stmt *s)
{
	return (pg_stmt *)s;
}

int64_t wa_drv_pg_fenced(wa_db *db)
{
	return db->ops == &pg_ops ? DB(db)->fenced : 0;
}

bool wa_drv_pg_lost(wa_db *db)
{
	if (db->ops != &pg_ops)
		return false;
	PGconn *c = DB(db)->c;
	/* libpq's socket is non-blocking underneath: this reads what the
	 * server sent (its goodbye and the close, say) without waiting */
	if (PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) == PQTRANS_IDLE)
		(void)PQconsumeInput(c);
	return PQstatus(c) == CONNECTION_BAD;
}

int wa_drv_pg_socket(wa_db *db)
{
	return db->ops == &pg_ops ? PQsocket(DB(db)->c) : -1;
}

int wa_drv_pg_notifies(wa_db *db, wa_drv_notify_fn fn, void *arg)
{
	if (db->ops != &pg_ops)
		return WA_EUNSUPPORTED;
	PGconn *c = DB(db)->c;
	/* while a query runs its own reads collect them: only reads between
	 * queries here (a group commit's transaction may stay open between
	 * loop turns) */
	if (PQstatus(c) != CONNECTION_OK)
		return WA_EIO;
	if (PQtransactionStatus(c) != PQTRANS_ACTIVE && !PQconsumeInput(c))
		return WA_EIO;
	int me = PQbackendPID(c), n = 0;
	PGnotify *nf;
	while ((nf = PQnotifies(c))) {
		fn(arg, nf->relname, nf->extra ? nf->extra : "", nf->be_pid == me);
		PQfreemem(nf);
		n++;
	}
	return n;
}

/* SQLSTATE classes to the codes the SQLite driver returns for the same
 * situations. */
static int map_state(const char *state)
{
	if (!state || strlen(state) != 5)
		return WA_EIO; /* no SQLSTATE: the connection failed */
	if (strcmp(state, "23505") == 0)
		return WA_DB_UNIQUE;
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0 ||
	    strcmp(state, "57014") == 0 /* canceled: lock or statement timeout */)
		return WA_EDB_BUSY;
	if (strcmp(state, "53200") == 0)
		return WA_ENOMEM;
	if (strncmp(state, "08", 2) == 0 || strncmp(state, "53", 2) == 0 || strncmp(state, "57", 2) == 0 ||
	    strncmp(state, "58", 2) == 0 || strcmp(state, "25006") == 0 /* read-only transaction */ ||
	    strncmp(state, "42501", 5) == 0 /* insufficient privilege */)
		return WA_EIO;
	if (strcmp(state, "54000") == 0 || strcmp(state, "22001") == 0)
		return WA_ETOOBIG;
	if (strncmp(state, "XX", 2) == 0)
		return WA_EDB_CORRUPT;
	return WA_EDB;
}

/* Maps a result: 0 when it is one of ok (a status), else the error (and
 * keeps the server's message for wa_store_errmsg). */
static int result_rc(pg_db *d, const PGresult *r)
{
	ExecStatusType t = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (t == PGRES_COMMAND_OK || t == PGRES_TUPLES_OK)
		return 0;
	const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(d->c);
	snprintf(d->err, sizeof d->err, "%s", msg && msg[0] ? msg : "PostgreSQL error");
	size_t n = strlen(d->err);
	while (n && (d->err[n - 1] == '\n' || d->err[n - 1] == ' '))
		d->err[--n] = '\0';
	if (!r)
		return PQstatus(d->c) == CONNECTION_OK ? WA_ENOMEM : WA_EIO;
	const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	if (state && strcmp(state, "WF001") == 0)
		d->fenced++; /* the cluster fence (migration 0011's trigger) */
	return map_state(state);
}

static int run(pg_db *d, const char *sql)
{
	PGresult *r = PQexec(d->c, sql);
	int rc = result_rc(d, r);
	PQclear(r);
	return rc == WA_DB_UNIQUE ? WA_EDB : rc;
}

/* ?N -> $N outside quotes; *n_out = the highest N. */
static char *rewrite_params(const char *sql, int *n_out)
{
	size_t len = strlen(sql);
	char *out = malloc(len + 1);
	if (!out)
		return NULL;
	char quote = 0;
	int max = 0;
	size_t j = 0;
	for (size_t i = 0; i < len; i++) {
		char c = sql[i];
		if (quote) {
			if (c == quote)
				quote = 0;
		} else if (c == '\'' || c == '"') {
			quote = c;
		} else if (c == '?' && sql[i + 1] >= '0' && sql[i + 1] <= '9') {
			int n = atoi(sql + i + 1);
			if (n > max)
				max = n;
			c = '$';
		}
		out[j++] = c;
	}
	out[j] = '\0';
	*n_out = max;
	return out;
}

/* The first keyword decides: SELECT/VALUES/WITH ... SELECT and transaction
 * control do not write (as sqlite3_stmt_readonly answers). */
static bool sql_readonly(const char *sql)
{
	while (*sql == ' ' || *sql == '\t' || *sql == '\n' || *sql == '(')
		sql++;
	static const char *const ro[] = { "SELECT", "VALUES", "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE" };
	for (size_t i = 0; i < sizeof ro / sizeof ro[0]; i++) {
		size_t n = strlen(ro[i]);
		if (strncasecmp(sql, ro[i], n) == 0 && !((sql[n] >= 'A' && sql[n] <= 'Z') || (sql[n] >= 'a' && sql[n] <= 'z')))
			return true;
	}
	return false;
}

static void param_clear(pg_param *p)
{
	if (p->owned) {
		explicit_bzero(p->owned, p->owned_len);
		free(p->owned);
	}
	p->owned = NULL;
	p->owned_len = 0;
	p->val = NULL;
	p->len = 0;
	p->fmt = 0;
}

static int pg_prepare(wa_db *db, const char *sql, wa_stmt **out)
{
	pg_db *d = DB(db);
	int n = 0;
	char *text = rewrite_params(sql, &n);
	if (!text)
		return WA_ENOMEM;
	pg_stmt *s = calloc(1, sizeof *s);
	if (!s) {
		free(text);
		return WA_ENOMEM;
	}
	s->base.ops = &pg_ops;
	s->db = d;
	s->n_params = n;
	s->readonly = sql_readonly(sql);
	if (n > 0) {
		s->p = calloc((size_t)n, sizeof *s->p);
		s->vals = calloc((size_t)n, sizeof *s->vals);
		s->lens = calloc((size_t)n, sizeof *s->lens);
		s->fmts = calloc((size_t)n, sizeof *s->fmts);
		if (!s->p || !s->vals || !s->lens || !s->fmts) {
			free(text);
			pg_ops.finalize(&s->base);
			return WA_ENOMEM;
		}
	}
	snprintf(s->name, sizeof s->name, "w%u", d->next_name++);
	PGresult *r = PQprepare(d->c, s->name, text, n, NULL);
	free(text);
	int rc = result_rc(d, r);
	PQclear(r);
	if (rc != 0) {
		pg_ops.finalize(&s->base);
		return rc == WA_DB_UNIQUE ? WA_EDB : rc;
	}
	*out = &s->base;
	return 0;
}

static void pg_reset(wa_stmt *w)
{
	pg_stmt *s = ST(w);
	PQclear(s->res);
	s->res = NULL;
	s->ran = false;
	s->row = s->n_rows = 0;
	for (int i = 0; i < s->n_params; i++)
		param_clear(&s->p[i]);
}

static void pg_finalize(wa_stmt *w)
{
	if (!w)
		return;
	pg_stmt *s = ST(w);
	pg_reset(w);
	free(s->p);
	free(s->vals);
	free(s->lens);
	free(s->fmts);
	free(s);
}

static pg_param *param(wa_stmt *w, int idx)
{
	pg_stmt *s = ST(w);
	if (idx < 1 || idx > s->n_params)
		return NULL;
	pg_param *p = &s->p[idx - 1];
	param_clear(p);
	return p;
}

static int pg_bind_i64(wa_stmt *w, int idx, int64_t v)
{
	pg_param *p = param(w, idx);
	if (!p)
		return WA_EDB;
	snprintf(p->num, sizeof p->num, "%lld", (long long)v);
	p->val = p->num;
	return 0;
}

static int pg_bind_text(wa_stmt *w, int idx, const char *v, int n, bool copy)
{
	pg_param *p = param(w, idx);
	if (!p)
		return WA_EDB;
	if (!v)
		return 0;
	if (n < 0 && !copy) {
		p->val = v;
		return 0;
	}
	size_t len = n < 0 ? strlen(v) : (size_t)n;
	p->owned = malloc(len + 1); /* text parameters end at their NUL */
	if (!p->owned)
		return WA_ENOMEM;
	memcpy(p->owned, v, len);
	p->owned[len] = '\0';
	p->owned_len = len + 1;
	p->val = p->owned;
	return 0;
}

static int pg_bind_blob(wa_stmt *w, int idx, const void *v, size_t n, bool copy)
{
	pg_param *p = param(w, idx);
	if (!p)
		return WA_EDB;
	if (n > 0x3fffffff)
		return WA_ETOOBIG;
	if (copy && n) {
		p->owned = malloc(n);
		if (!p->owned)
			return WA_ENOMEM;
		memcpy(p->owned, v, n);
		p->owned_len = n;
		v = p->owned;
	}
	p->val = n ? v : "";
	p->len = (int)n;
	p->fmt = 1;
	return 0;
}

static int pg_bind_null(wa_stmt *w, int idx)
{
	return param(w, idx) ? 0 : WA_EDB;
}

static int pg_step(wa_stmt *w)
{
	pg_stmt *s = ST(w);
	if (s->ran) {
		if (s->res && ++s->row < s->n_rows)
			return WA_DB_ROW;
		return WA_DB_DONE;
	}
	for (int i = 0; i < s->n_params; i++) {
		s->vals[i] = s->p[i].val;
		s->lens[i] = s->p[i].len;
		s->fmts[i] = s->p[i].fmt;
	}
	PGresult *r = PQexecPrepared(s->db->c, s->name, s->n_params, s->vals, s->lens, s->fmts, 1);
	int rc = result_rc(s->db, r);
	s->ran = true;
	if (rc != 0) {
		PQclear(r);
		return rc;
	}
	const char *tuples = PQcmdTuples(r);
	if (!s->readonly && tuples && tuples[0])
		s->db->changes = strtoll(tuples, NULL, 10);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) {
		s->res = r;
		s->row = 0;
		s->n_rows = PQntuples(r);
		return WA_DB_ROW;
	}
	PQclear(r);
	return WA_DB_DONE;
}

static bool have(pg_stmt *s, int col)
{
	return s->res && s->row < s->n_rows && col >= 0 && col < PQnfields(s->res) &&
	       !PQgetisnull(s->res, s->row, col);
}

static uint64_t be(const unsigned char *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static int64_t pg_col_i64(wa_stmt *w, int col)
{
	pg_stmt *s = ST(w);
	if (!have(s, col))
		return 0;
	const unsigned char *v = (const unsigned char *)PQgetvalue(s->res, s->row, col);
	int n = PQgetlength(s->res, s->row, col);
	switch (PQftype(s->res, col)) {
	case OID_INT8:
		return n == 8 ? (int64_t)be(v, 8) : 0;
	case OID_INT4:
		return n == 4 ? (int64_t)(int32_t)(uint32_t)be(v, 4) : 0;
	case OID_INT2:
		return n == 2 ? (int64_t)(int16_t)(uint16_t)be(v, 2) : 0;
	case OID_BOOL:
		return n == 1 ? v[0] != 0 : 0;
	case OID_FLOAT8: {
		if (n != 8)
			return 0;
		uint64_t bits = be(v, 8);
		double d;
		memcpy(&d, &bits, sizeof d);
		return (int64_t)d;
	}
	case OID_BYTEA:
		return 0;
	default:
		return strtoll((const char *)v, NULL, 10); /* text: libpq ends it with a NUL */
	}
}

static const char *pg_col_text(wa_stmt *w, int col)
{
	pg_stmt *s = ST(w);
	return have(s, col) ? PQgetvalue(s->res, s->row, col) : NULL;
}

static const void *pg_col_blob(wa_stmt *w, int col)
{
	pg_stmt *s = ST(w);
	return have(s, col) ? PQgetvalue(s->res, s->row, col) : NULL;
}

static int pg_col_bytes(wa_stmt *w, int col)
{
	pg_stmt *s = ST(w);
	return have(s, col) ? PQgetlength(s->res, s->row, col) : 0;
}

static bool pg_col_null(wa_stmt *w, int col)
{
	return !have(ST(w), col);
}

static bool pg_readonly(wa_stmt *w)
{
	return ST(w)->readonly;
}

static int pg_exec(wa_db *db, const char *sql)
{
	return run(DB(db), sql);
}

static int64_t pg_changes(wa_db *db)
{
	return DB(db)->changes;
}

static int64_t pg_last_insert_id(wa_db *db)
{
	PGresult *r = PQexecParams(DB(db)->c, "SELECT lastval()", 0, NULL, NULL, NULL, NULL, 0);
	int64_t v = 0;
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return v;
}

static int pg_tx_state(wa_db *db)
{
	switch (PQtransactionStatus(DB(db)->c)) {
	case PQTRANS_INTRANS:
	case PQTRANS_ACTIVE:
		return WA_DB_TX_ACTIVE;
	case PQTRANS_INERROR:
		return WA_DB_TX_FAILED;
	default:
		return WA_DB_TX_NONE;
	}
}

static int pg_tx_begin(wa_db *db, int level)
{
	pg_db *d = DB(db);
	if (level == 0) {
		int rc = run(d, d->begin_sql);
		if (rc != 0 && PQtransactionStatus(d->c) != PQTRANS_IDLE)
			(void)run(d, "ROLLBACK"); /* BEGIN ran, the lock did not come */
		return rc;
	}
	char sql[32];
	snprintf(sql, sizeof sql, "SAVEPOINT wa_sp%d", level);
	return run(d, sql);
}

static int pg_tx_commit(wa_db *db, int level)
{
	pg_db *d = DB(db);
	if (level > 0) {
		char sql[32];
		snprintf(sql, sizeof sql, "RELEASE wa_sp%d", level);
		return run(d, sql);
	}
	PGresult *r = PQexec(d->c, "COMMIT");
	int rc = result_rc(d, r);
	/* COMMIT of an aborted transaction "succeeds" as a ROLLBACK */
	if (rc == 0 && strcmp(PQcmdStatus(r), "COMMIT") != 0) {
		snprintf(d->err, sizeof d->err, "transaction was rolled back");
		rc = WA_EDB;
	}
	PQclear(r);
	return rc == WA_DB_UNIQUE ? WA_EDB : rc; /* a deferred constraint */
}

static int pg_tx_rollback(wa_db *db, int level)
{
	pg_db *d = DB(db);
	if (level == 0)
		return run(d, "ROLLBACK");
	char sql[80];
	snprintf(sql, sizeof sql, "ROLLBACK TO wa_sp%d; RELEASE wa_sp%d", level, level);
	return run(d, sql);
}

static int query_int(pg_db *d, const char *sql, int64_t *out)
{
	PGresult *r = PQexec(d->c, sql);
	int rc = result_rc(d, r);
	if (rc == 0) {
		if (PQntuples(r) == 1 && PQnfields(r) >= 1)
			*out = PQgetisnull(r, 0, 0) ? 0 : strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		else
			rc = WA_EDB;
	}
	PQclear(r);
	return rc == WA_DB_UNIQUE ? WA_EDB : rc;
}

/* The schema version lives in wa_schema (PRAGMA user_version's place);
 * no table yet is version 0. Read without an error so that it can run
 * inside the migration's transaction, and from pg_tables under the
 * statement's snapshot: to_regclass() may answer from a stale cache entry
 * after waiting for the writer lock while another process migrated. */
static int pg_schema_version(wa_db *db, int *out)
{
	pg_db *d = DB(db);
	int64_t exists = 0, v = 0;
	int rc = query_int(d,
		"SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'wa_schema'",
		&exists);
	if (rc == 0 && exists)
		rc = query_int(d, "SELECT max(version) FROM wa_schema", &v);
	if (rc == 0)
		*out = (int)v;
	return rc;
}

static int pg_set_schema_version(wa_db *db, int v)
{
	char sql[160];
	snprintf(sql, sizeof sql,
		"CREATE TABLE IF NOT EXISTS wa_schema (version BIGINT NOT NULL);"
		" DELETE FROM wa_schema; INSERT INTO wa_schema (version) VALUES (%d)", v);
	return run(DB(db), sql);
}

static const char *pg_errmsg(wa_db *db)
{
	pg_db *d = DB(db);
	if (d->err[0])
		return d->err;
	const char *m = PQerrorMessage(d->c);
	return m && m[0] ? m : "not an error";
}

static void pg_release_memory(wa_db *db)
{
	(void)db; /* the server holds the cache */
}

static void pg_close(wa_db *db)
{
	if (!db)
		return;
	pg_db *d = DB(db);
	PQfinish(d->c); /* an open transaction is rolled back by the server */
	free(d);
}

static const wa_db_ops pg_ops = {
	.name = "postgres",
	.prepare = pg_prepare,
	.finalize = pg_finalize,
	.bind_i64 = pg_bind_i64,
	.bind_text = pg_bind_text,
	.bind_blob = pg_bind_blob,
	.bind_null = pg_bind_null,
	.step = pg_step,
	.reset = pg_reset,
	.col_i64 = pg_col_i64,
	.col_text = pg_col_text,
	.col_blob = pg_col_blob,
	.col_bytes = pg_col_bytes,
	.col_null = pg_col_null,
	.readonly = pg_readonly,
	.exec = pg_exec,
	.changes = pg_changes,
	.last_insert_id = pg_last_insert_id,
	.tx_state = pg_tx_state,
	.tx_begin = pg_tx_begin,
	.tx_commit = pg_tx_commit,
	.tx_rollback = pg_tx_rollback,
	.schema_version = pg_schema_version,
	.set_schema_version = pg_set_schema_version,
	.errmsg = pg_errmsg,
	.release_memory = pg_release_memory,
	.close = pg_close,
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

static void quiet_notices(void *arg, const char *msg)
{
	(void)arg;
	(void)msg; /* "already exists, skipping" and the like: not for stderr */
}

int wa_drv_pg_open(const char *uri, const wa_store_opts *o, wa_db **out, char *err, size_t err_len)
{
	pg_db *d = calloc(1, sizeof *d);
	if (!d)
		return WA_ENOMEM;
	d->base.ops = &pg_ops;
	d->c = PQconnectdb(uri);
	int rc;
	if (!d->c) {
		rc = WA_ENOMEM;
		goto fail;
	}
	if (PQstatus(d->c) != CONNECTION_OK) {
		/* libpq's message names host and user, never the password */
		set_err(err, err_len, "cannot connect to PostgreSQL: %s", PQerrorMessage(d->c));
		size_t n = err ? strlen(err) : 0;
		while (n && err[n - 1] == '\n')
			err[--n] = '\0';
		rc = WA_EIO;
		goto fail;
	}
	PQsetNoticeProcessor(d->c, quiet_notices, NULL);
	/* no row values in messages (a unique violation's DETAIL names the key) */
	PQsetErrorVerbosity(d->c, PQERRORS_TERSE);

	int busy = o->busy_timeout_ms > 0 ? o->busy_timeout_ms : DEFAULT_BUSY_MS;
	/* FULL: the commit waits for the server's WAL flush. NORMAL: it does not
	 * (synchronous_commit=off); a commit survives wamd dying, the last ones
	 * can be lost if the server crashes or loses power, as SQLite's NORMAL. */
	char sql[256];
	snprintf(sql, sizeof sql,
		"SET lock_timeout = %d; SET synchronous_commit = %s; SET client_min_messages = warning;"
		" SET TIME ZONE 'UTC'",
		busy, o->sync == WA_STORE_SYNC_FULL ? "on" : "off");
	rc = run(d, sql);
	int64_t key = 0;
	if (rc == 0)
		rc = query_int(d, "SELECT hashtext(coalesce(current_schema(), ''))", &key);
	if (rc != 0) {
		set_err(err, err_len, "PostgreSQL session setup failed: %s", d->err);
		goto fail;
	}
	d->lock_key = (int)key;
	snprintf(d->begin_sql, sizeof d->begin_sql, "BEGIN; SELECT pg_advisory_xact_lock(%d, %d)", LOCK_CLASS_WRITER,
		d->lock_key);
	/* Every handle holds the schema's open lock, shared or (exclusive)
	 * alone, for its life: SQLite's locking_mode=EXCLUSIVE refuses other
	 * openers the same way. */
	snprintf(sql, sizeof sql, "SELECT pg_try_advisory_lock%s(%d, %d)::int", o->exclusive ? "" : "_shared",
		LOCK_CLASS_OPEN, d->lock_key);
	int64_t got = 0;
	rc = query_int(d, sql, &got);
	if (rc == 0 && !got) {
		set_err(err, err_len, "the store is locked by another process");
		rc = WA_EDB_BUSY;
	}
	if (rc != 0)
		goto fail;
	*out = &d->base;
	return 0;
fail:
	if (d->c)
		PQfinish(d->c);
	free(d);
	return rc;
}
