/* src/store/migrate.c: brings a database up to this build's schema.
 * The schema version (PRAGMA user_version on SQLite, the wa_schema row on
 * PostgreSQL) is the number of migrations applied; each migration
 * runs in its own transaction together with the user_version bump, so a
 * crash mid-upgrade leaves the file at the previous version, never between. */
#include <stdio.h>

#include "store/internal.h"
#include "store/migrations.h"

static int read_user_version(wa_store *st, int *out)
{
	return st->db->ops->schema_version(st->db, out);
}

int wa_store_migrate(wa_store *st, char *err, size_t err_len)
{
	int have = 0;
	int rc = read_user_version(st, &have);
	if (rc != 0) {
		if (err)
			snprintf(err, err_len, "cannot read schema version: %s", wa_store_errmsg(st));
		return rc;
	}
	if (have < 0 || have > wa_store_n_migrations) {
		if (err)
			snprintf(err, err_len, "database schema version %d is newer than this build (%d)",
				have, wa_store_n_migrations);
		return WA_EDB_SCHEMA;
	}
	while (have < wa_store_n_migrations) {
		const wa_store_migration *m = &wa_store_migrations[have];
		rc = wa_store_begin(st);
		if (rc != 0)
			break;
		/* Another process may have migrated while we waited for the lock. */
		int now = 0;
		rc = read_user_version(st, &now);
		if (rc == 0 && now != have) {
			(void)wa_store_rollback(st);
			have = now;
			if (have < 0 || have > wa_store_n_migrations) {
				rc = WA_EDB_SCHEMA;
				break;
			}
			continue;
		}
		if (rc == 0)
			rc = st->db->ops->exec(st->db, st->pg ? m->sql_pg : m->sql);
		if (rc == 0)
			rc = st->db->ops->set_schema_version(st->db, m->version);
		if (rc != 0 && err)
			snprintf(err, err_len, "migration %s failed: %s", m->name, wa_store_errmsg(st));
		rc = wa_store_tx_leave(st, rc);
		if (rc != 0)
			break;
		have = m->version;
	}
	if (rc == 0)
		st->schema_version = have;
	else if (rc == WA_EDB_SCHEMA && err)
		snprintf(err, err_len, "database schema version %d is newer than this build (%d)",
			have, wa_store_n_migrations);
	return rc;
}
