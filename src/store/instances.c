/* src/store/instances.c: the instances table. Each WhatsApp account hosted by
 * the daemon is one row; every other table references it with ON DELETE
 * CASCADE, so deleting the row wipes the instance's keys and history. */
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"
#include "util/seams.h"

static const char sql_create[] = "INSERT INTO instances (name, created_at) VALUES (?1, ?2)";
static const char sql_find[] = "SELECT id FROM instances WHERE name = ?1";
static const char sql_list[] = "SELECT id, name FROM instances ORDER BY id LIMIT ?1";
static const char sql_delete[] = "DELETE FROM instances WHERE id = ?1";

int wa_store_instance_create(wa_store *st, const char *name, int64_t *id_out)
{
	if (!wa_store_str_ok(name, WA_STORE_NAME_MAX))
		return WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_create, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_text(s, 1, name);
	wa_stmt_bind_i64(s, 2, wa_now_ms());
	int src = wa_stmt_step(s);
	wa_store_stmt_done(s);
	if (src == WA_DB_UNIQUE)
		return WA_EEXIST;
	if (src != WA_DB_DONE)
		return wa_store_map_rc(src);
	if (id_out)
		*id_out = wa_store_last_insert_id(st);
	return 0;
}

int wa_store_instance_find(wa_store *st, const char *name, int64_t *id_out)
{
	if (!wa_store_str_ok(name, WA_STORE_NAME_MAX))
		return WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_find, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_text(s, 1, name);
	int src = wa_stmt_step(s);
	if (src == WA_DB_ROW)
		*id_out = wa_stmt_col_i64(s, 0);
	rc = src == WA_DB_ROW ? 0 : src == WA_DB_DONE ? WA_ENOTFOUND : wa_store_map_rc(src);
	wa_store_stmt_done(s);
	return rc;
}

int wa_store_instance_list(wa_store *st, wa_store_instance_info **out, size_t *n_out)
{
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_list, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, WA_STORE_MAX_INSTANCES);
	wa_store_instance_info *arr = NULL;
	size_t n = 0, cap = 0;
	int src;
	while ((src = wa_stmt_step(s)) == WA_DB_ROW) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			wa_store_instance_info *na = realloc(arr, ncap * sizeof *na);
			if (!na) {
				rc = WA_ENOMEM;
				break;
			}
			arr = na;
			cap = ncap;
		}
		arr[n].id = wa_stmt_col_i64(s, 0);
		const char *nm = wa_stmt_col_text(s, 1);
		int len = wa_stmt_col_bytes(s, 1);
		if (!nm || len <= 0 || len >= WA_STORE_NAME_MAX) {
			rc = WA_EDB_CORRUPT;
			break;
		}
		memcpy(arr[n].name, nm, (size_t)len);
		arr[n].name[len] = '\0';
		n++;
	}
	if (rc == 0 && src != WA_DB_DONE)
		rc = wa_store_map_rc(src);
	wa_store_stmt_done(s);
	if (rc != 0) {
		free(arr);
		return rc;
	}
	*out = arr;
	*n_out = n;
	return 0;
}

int wa_store_instance_delete(wa_store *st, int64_t instance_id)
{
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_delete, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_store_sess_cache_drop_all(st); /* its sessions go by cascade */
	rc = wa_store_stmt_exec(s);
	if (rc == 0 && wa_store_changes(st) == 0)
		rc = WA_ENOTFOUND;
	return rc;
}
