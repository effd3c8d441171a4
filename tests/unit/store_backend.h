/* Store tests run on both backends. Without WA_TEST_PG_URI a store is the
 * SQLite file the test names; with it (set by tests/unit/store_pg.py, which
 * runs a private PostgreSQL server), each file path becomes a schema of that
 * database, named after a hash of the path, so a test that reopens "a.db"
 * gets the same schema back and two paths never share one. The schemas a
 * process made are dropped by store_backend_cleanup(). */
#ifndef WA_TEST_STORE_BACKEND_H
#define WA_TEST_STORE_BACKEND_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STORE_BACKEND_MAX_SCHEMAS 64

static char store_backend_schemas[STORE_BACKEND_MAX_SCHEMAS][24];
static int store_backend_n_schemas;

static inline const char *store_backend_pg(void)
{
	const char *u = getenv("WA_TEST_PG_URI");
	return u && u[0] ? u : NULL;
}

static inline const char *store_backend_name(void)
{
	return store_backend_pg() ? "postgres" : "sqlite";
}

static inline void store_backend_schema(const char *path, char out[24])
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (const char *p = path; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ull;
	snprintf(out, 24, "t%016llx", (unsigned long long)h);
}

static inline void store_backend_quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/* An admin connection to the test database (the caller PQfinish'es it). */
static inline PGconn *store_backend_admin(const char *schema)
{
	char uri[1024];
	const char *base = store_backend_pg();
	if (schema)
		snprintf(uri, sizeof uri, "%s%soptions=-csearch_path%%3D%s", base, strchr(base, '?') ? "&" : "?",
			schema);
	else
		snprintf(uri, sizeof uri, "%s", base);
	PGconn *c = PQconnectdb(uri);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "store_backend: cannot connect: %s", PQerrorMessage(c));
		exit(1);
	}
	PQsetNoticeProcessor(c, store_backend_quiet, NULL);
	return c;
}

static inline bool store_backend_run(PGconn *c, const char *sql, long long *v)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType t = PQresultStatus(r);
	bool ok = t == PGRES_COMMAND_OK || t == PGRES_TUPLES_OK;
	if (!ok)
		fprintf(stderr, "store_backend: %s: %s", sql, PQresultErrorMessage(r));
	if (ok && v && t == PGRES_TUPLES_OK && PQntuples(r) > 0)
		*v = PQgetisnull(r, 0, 0) ? 0 : strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return ok;
}

/* The store "path" to open for a SQLite file path: the path itself, or
 * a PostgreSQL URI whose schema (created here) stands for that file. */
static inline const char *store_backend_path(const char *file)
{
	static char uris[8][1024];
	static int slot;
	const char *base = store_backend_pg();
	if (!base)
		return file;
	char schema[24];
	store_backend_schema(file, schema);
	bool known = false;
	for (int i = 0; i < store_backend_n_schemas; i++)
		known = known || strcmp(store_backend_schemas[i], schema) == 0;
	if (!known) {
		if (store_backend_n_schemas == STORE_BACKEND_MAX_SCHEMAS) {
			fprintf(stderr, "store_backend: too many schemas\n");
			exit(1);
		}
		PGconn *c = store_backend_admin(NULL);
		char sql[128];
		snprintf(sql, sizeof sql, "CREATE SCHEMA IF NOT EXISTS %s", schema);
		if (!store_backend_run(c, sql, NULL))
			exit(1);
		PQfinish(c);
		snprintf(store_backend_schemas[store_backend_n_schemas++], 24, "%s", schema);
	}
	slot = (slot + 1) % 8;
	snprintf(uris[slot], sizeof uris[slot], "%s%soptions=-csearch_path%%3D%s", base, strchr(base, '?') ? "&" : "?",
		schema);
	return uris[slot];
}

/* The first column of the first row of sql, run on the store at file
 * outside of it (-1 when it fails). */
static inline long long store_backend_pg_int(const char *file, const char *sql)
{
	(void)store_backend_path(file); /* the schema exists from here on */
	char schema[24];
	store_backend_schema(file, schema);
	PGconn *c = store_backend_admin(schema);
	long long v = -1;
	if (!store_backend_run(c, sql, &v))
		v = -1;
	PQfinish(c);
	return v;
}

static inline bool store_backend_pg_exec(const char *file, const char *sql)
{
	(void)store_backend_path(file);
	char schema[24];
	store_backend_schema(file, schema);
	PGconn *c = store_backend_admin(schema);
	bool ok = store_backend_run(c, sql, NULL);
	PQfinish(c);
	return ok;
}

/* Drops the schemas this process created (PostgreSQL only). */
static inline void store_backend_cleanup(void)
{
	if (!store_backend_pg() || store_backend_n_schemas == 0)
		return;
	PGconn *c = store_backend_admin(NULL);
	for (int i = 0; i < store_backend_n_schemas; i++) {
		char sql[96];
		snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE", store_backend_schemas[i]);
		(void)store_backend_run(c, sql, NULL);
	}
	store_backend_n_schemas = 0;
	PQfinish(c);
}

#endif
