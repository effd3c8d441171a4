/* Schema migrations embedded at build time from migrations/NNNN-name.sql and
 * their PostgreSQL twins migrations/pg/NNNN-name.sql by gen_migrations.py
 * (meson custom_target). Migration N moves the database from schema version
 * N-1 to N. */
#ifndef WA_STORE_MIGRATIONS_H
#define WA_STORE_MIGRATIONS_H

typedef struct wa_store_migration {
	int version;
	const char *name;
	const char *sql;    /* SQLite: migrations/NNNN-name.sql */
	const char *sql_pg; /* PostgreSQL: migrations/pg/NNNN-name.sql */
} wa_store_migration;

extern const wa_store_migration wa_store_migrations[];
extern const int wa_store_n_migrations;

#endif
