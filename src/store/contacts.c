/* src/store/contacts.c: contacts (jid, lid, push name) and the phone-number
 * <-> LID mapping WhatsApp announces, both per instance. */
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"
#include "util/seams.h"

#define PUSH_NAME_MAX WA_STORE_PUSH_NAME_MAX

static const char sql_c_put[] =
	"INSERT INTO contacts (instance_id, jid, lid, push_name, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)"
	" ON CONFLICT (instance_id, jid) DO UPDATE SET lid = coalesce(excluded.lid, contacts.lid),"
	" push_name = coalesce(excluded.push_name, contacts.push_name), updated_at = excluded.updated_at";
static const char sql_c_get[] = "SELECT lid, push_name FROM contacts WHERE instance_id = ?1 AND jid = ?2";
/* Both pn and lid are unique: the pair replaces any row holding either. */
static const char sql_l_unlid[] = "DELETE FROM lid_mapping WHERE instance_id = ?1 AND lid = ?3 AND pn <> ?2";
static const char sql_l_put[] = "INSERT INTO lid_mapping (instance_id, pn, lid) VALUES (?1, ?2, ?3)"
				" ON CONFLICT (instance_id, pn) DO UPDATE SET lid = excluded.lid";
static const char sql_l_lid[] = "SELECT lid FROM lid_mapping WHERE instance_id = ?1 AND pn = ?2";
static const char sql_l_pn[] = "SELECT pn FROM lid_mapping WHERE instance_id = ?1 AND lid = ?2";

int wa_store_contact_save(wa_store *st, int64_t instance_id, const char *jid, const char *lid, const char *push_name)
{
	if (!wa_store_str_ok(jid, WA_STORE_JID_MAX) || (lid && !wa_store_str_ok(lid, WA_STORE_JID_MAX)) ||
	    (push_name && memchr(push_name, '\0', PUSH_NAME_MAX) == NULL))
		return WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_c_put, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_text(s, 2, jid);
	if (lid)
		wa_stmt_bind_text(s, 3, lid);
	if (push_name)
		wa_stmt_bind_text(s, 4, push_name);
	wa_stmt_bind_i64(s, 5, wa_now_ms());
	return wa_store_stmt_exec(s);
}

int wa_store_contact_load(wa_store *st, int64_t instance_id, const char *jid, char **lid_out, char **push_name_out)
{
	if (!wa_store_str_ok(jid, WA_STORE_JID_MAX) || !lid_out || !push_name_out)
		return WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_c_get, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_text(s, 2, jid);
	int src = wa_stmt_step(s);
	if (src != WA_DB_ROW) {
		wa_store_stmt_done(s);
		return src == WA_DB_DONE ? WA_ENOTFOUND : wa_store_map_rc(src);
	}
	char *lid = NULL, *pn = NULL;
	rc = wa_store_column_strdup(s, 0, WA_STORE_JID_MAX, &lid);
	if (rc == 0)
		rc = wa_store_column_strdup(s, 1, PUSH_NAME_MAX, &pn);
	wa_store_stmt_done(s);
	if (rc != 0) {
		free(lid);
		free(pn);
		return rc == WA_ETOOBIG ? WA_EDB_CORRUPT : rc;
	}
	*lid_out = lid;
	*push_name_out = pn;
	return 0;
}

int wa_store_lid_mapping_save(wa_store *st, int64_t instance_id, const char *pn, const char *lid)
{
	if (!wa_store_str_ok(pn, WA_STORE_JID_MAX) || !wa_store_str_ok(lid, WA_STORE_JID_MAX))
		return WA_EINVAL;
	/* A LID re-assigned to another number replaces the old pair (UNIQUE lid). */
	int rc = wa_store_tx_enter(st);
	if (rc != 0)
		return rc;
	const char *const sqls[2] = { sql_l_unlid, sql_l_put };
	for (int i = 0; i < 2 && rc == 0; i++) {
		wa_stmt *s;
		rc = wa_store_stmt(st, sqls[i], &s);
		if (rc != 0)
			break;
		wa_stmt_bind_i64(s, 1, instance_id);
		wa_stmt_bind_text(s, 2, pn);
		wa_stmt_bind_text(s, 3, lid);
		rc = wa_store_stmt_exec(s);
	}
	return wa_store_tx_leave(st, rc);
}

static int lookup(wa_store *st, const char *sql, int64_t inst, const char *key, char **out)
{
	if (!wa_store_str_ok(key, WA_STORE_JID_MAX) || !out)
		return WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, inst);
	wa_stmt_bind_text(s, 2, key);
	int src = wa_stmt_step(s);
	char *v = NULL;
	if (src == WA_DB_ROW)
		rc = wa_store_column_strdup(s, 0, WA_STORE_JID_MAX, &v);
	else
		rc = src == WA_DB_DONE ? WA_ENOTFOUND : wa_store_map_rc(src);
	wa_store_stmt_done(s);
	if (rc == 0 && !v)
		rc = WA_EDB_CORRUPT;
	if (rc != 0)
		return rc == WA_ETOOBIG ? WA_EDB_CORRUPT : rc;
	*out = v;
	return 0;
}

int wa_store_lid_for_pn(wa_store *st, int64_t instance_id, const char *pn, char **lid_out)
{
	return lookup(st, sql_l_lid, instance_id, pn, lid_out);
}

int wa_store_pn_for_lid(wa_store *st, int64_t instance_id, const char *lid, char **pn_out)
{
	return lookup(st, sql_l_pn, instance_id, lid, pn_out);
}
