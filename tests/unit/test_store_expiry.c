/* Unit test for the expiry of disappearing messages in src/store: records
 * with a due expires_at go, earliest first and at most a batch at a time,
 * with the session engine's copies (keyed by the PN or the LID chat);
 * records that never expire, or not yet, stay; a later write without an
 * expiry keeps the stored one; every instance is swept. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "store/store.h"
#include "wa/store_daemon.h"

static char dir[64];

static void put(wa_store *st, int64_t inst, const char *id, const char *jid, const char *lid, int64_t exp)
{
	wa_store_mrec r = { .key_id = id, .remote_jid = jid, .remote_lid = lid, .from_me = false,
		.message_type = "conversation", .timestamp = 10, .status = 1, .record = "{}", .record_len = 2,
		.expires_at = exp };
	CHECK_EQ_INT(wa_store_msgrec_put(st, inst, &r), 0);
}

static void engine_copy(wa_store *st, int64_t inst, const char *chat, const char *id)
{
	wa_store_msg m = { .chat_jid = chat, .msg_id = id, .timestamp = 10 };
	CHECK_EQ_INT(wa_store_msg_insert(st, inst, &m, NULL), 0);
}

static bool has_copy(wa_store *st, int64_t inst, const char *chat, const char *id)
{
	wa_store_msg_row *row = NULL;
	int rc = wa_store_msg_load(st, inst, chat, id, false, &row);
	if (rc == 0)
		wa_store_msg_row_free(row);
	return rc == 0;
}

static bool has_record(wa_store *st, int64_t inst, const char *id)
{
	wa_store_mrec_query q = { .key_id = id, .from_me = -1, .limit = 10 };
	wa_store_mrec_row *rows = NULL;
	size_t n = 0;
	int64_t total = 0;
	CHECK_EQ_INT(wa_store_msgrec_find(st, inst, &q, &rows, &n, &total), 0);
	wa_store_mrec_rows_free(rows, n);
	return n == 1;
}

static int64_t next_at(wa_store *st)
{
	int64_t at = -1;
	CHECK_EQ_INT(wa_store_msgrec_next_expiry(st, &at), 0);
	return at;
}

static int expire(wa_store *st, int64_t now, int limit)
{
	int n = -1;
	CHECK_EQ_INT(wa_store_msgrec_expire(st, now, limit, &n), 0);
	return n;
}

int main(void)
{
	snprintf(dir, sizeof dir, "/tmp/wa_store_expiry.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	char path[128];
	snprintf(path, sizeof path, "%s/e.db", dir);
	wa_store *st = NULL;
	CHECK_EQ_INT(wa_store_open(path, NULL, &st), 0);
	if (!st)
		return 1;
	int64_t a = 0, b = 0;
	CHECK_EQ_INT(wa_store_instance_create(st, "a", &a), 0);
	CHECK_EQ_INT(wa_store_instance_create(st, "b", &b), 0);
	const char *pn = "1@s.whatsapp.net", *lid = "9@lid";

	CHECK_EQ_INT(next_at(st), 0); /* nothing expires */
	put(st, a, "r1", pn, NULL, 100);
	engine_copy(st, a, pn, "r1");
	put(st, a, "r2", pn, lid, 200);
	engine_copy(st, a, lid, "r2"); /* the engine kept it under the LID chat */
	put(st, a, "r3", pn, NULL, 0); /* a chat without a timer */
	engine_copy(st, a, pn, "r3");
	put(st, b, "r4", pn, NULL, 150);
	engine_copy(st, b, pn, "r4");
	engine_copy(st, b, pn, "r1"); /* same id, other instance: not r1's copy */
	CHECK_EQ_INT(next_at(st), 100);

	CHECK_EQ_INT(expire(st, 99, 10), 0); /* not yet */
	CHECK(has_record(st, a, "r1") && has_copy(st, a, pn, "r1"));

	/* a batch of one: the earliest goes first */
	CHECK_EQ_INT(expire(st, 160, 1), 1);
	CHECK(!has_record(st, a, "r1") && !has_copy(st, a, pn, "r1"));
	CHECK(has_copy(st, b, pn, "r1"));
	CHECK(has_record(st, b, "r4"));
	CHECK_EQ_INT(next_at(st), 150);
	/* the rest that is due, across instances */
	CHECK_EQ_INT(expire(st, 160, 10), 1);
	CHECK(!has_record(st, b, "r4") && !has_copy(st, b, pn, "r4"));
	CHECK(has_record(st, a, "r2") && has_copy(st, a, lid, "r2"));
	CHECK_EQ_INT(next_at(st), 200);

	/* a later write of the record without an expiry (an edit) keeps it */
	put(st, a, "r2", pn, lid, 0);
	CHECK_EQ_INT(next_at(st), 200);
	CHECK_EQ_INT(expire(st, 200, 10), 1);
	CHECK(!has_record(st, a, "r2") && !has_copy(st, a, lid, "r2"));

	/* what never expires stays */
	CHECK_EQ_INT(expire(st, 1LL << 40, 10), 0);
	CHECK(has_record(st, a, "r3") && has_copy(st, a, pn, "r3"));
	CHECK_EQ_INT(next_at(st), 0);
	CHECK_EQ_INT(wa_store_msgrec_expire(st, 1, 0, &(int){ 0 }), WA_EINVAL);

	/* a bigger backlog goes in batches */
	char id[16];
	for (int i = 0; i < 25; i++) {
		snprintf(id, sizeof id, "m%d", i);
		put(st, a, id, pn, NULL, 300 + i);
	}
	CHECK_EQ_INT(expire(st, 400, 10), 10);
	CHECK_EQ_INT(next_at(st), 310);
	CHECK_EQ_INT(expire(st, 400, 10), 10);
	CHECK_EQ_INT(expire(st, 400, 10), 5);
	CHECK_EQ_INT(next_at(st), 0);

	wa_store_close(st);
	unlink(path);
	char wal[160];
	snprintf(wal, sizeof wal, "%s-wal", path);
	unlink(wal);
	snprintf(wal, sizeof wal, "%s-shm", path);
	unlink(wal);
	rmdir(dir);
	return check_exit("store_expiry");
}
