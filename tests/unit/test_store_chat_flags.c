/* src/store/history.c as app state uses it: a flag-only write creates the
 * row of a chat not seen before and changes only what it names, mute for
 * ever (-1) is a value and not "keep", a chat deleted loses its row. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "store_backend.h"
#include "store/history.h"

static wa_store_chat flags(const char *jid)
{
	return (wa_store_chat){.jid = jid, .unread_count = -1, .archived = -1, .pinned = -1, .marked_unread = -1,
		.muted_until = WA_STORE_KEEP_MUTE};
}

static int get(wa_store *st, int64_t id, const char *jid, wa_store_chat_row *out)
{
	wa_store_chat_row *rows = NULL;
	size_t n = 0;
	int rc = wa_store_chat_list(st, id, jid, 0, 10, &rows, &n);
	if (rc == 0 && n != 1)
		rc = WA_ENOTFOUND;
	if (rc == 0) {
		*out = rows[0];
		out->jid = out->name = out->pn_jid = out->lid_jid = NULL;
	}
	wa_store_chat_rows_free(rows, n);
	return rc;
}

int main(void)
{
	char dir[] = "/tmp/wa-store-chatf-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char path[300];
	snprintf(path, sizeof path, "%s/s.db", dir);
	wa_store *st = NULL;
	CHECK_EQ_INT(wa_store_open(store_backend_path(path), NULL, &st), 0);
	int64_t id = 0;
	CHECK_EQ_INT(wa_store_instance_create(st, "a", &id), 0);
	const char *j = "5511@s.whatsapp.net";
	wa_store_chat_row r;

	/* unknown chat archived: a row with that flag and nothing else */
	wa_store_chat c = flags(j);
	c.archived = 1;
	CHECK_EQ_INT(wa_store_chat_put(st, id, &c), 0);
	CHECK_EQ_INT(get(st, id, j, &r), 0);
	CHECK(r.archived);
	CHECK_EQ_INT(r.pinned, 0);
	CHECK_EQ_INT(r.muted_until, 0);
	CHECK(!r.marked_unread);

	/* history says 4 unread; then pin, mute for ever, mark unread */
	c = flags(j);
	c.unread_count = 4;
	CHECK_EQ_INT(wa_store_chat_put(st, id, &c), 0);
	c = flags(j);
	c.pinned = 1700000000;
	CHECK_EQ_INT(wa_store_chat_put(st, id, &c), 0);
	c = flags(j);
	c.muted_until = -1;
	CHECK_EQ_INT(wa_store_chat_put(st, id, &c), 0);
	c = flags(j);
	c.marked_unread = 1;
	CHECK_EQ_INT(wa_store_chat_put(st, id, &c), 0);
	CHECK_EQ_INT(get(st, id, j, &r), 0);
	CHECK(r.archived);
	CHECK_EQ_INT(r.pinned, 1700000000);
	CHECK_EQ_INT(r.muted_until, -1);
	CHECK(r.marked_unread);
	CHECK_EQ_INT(r.unread_count, 4);

	/* unarchive, unpin, unmute, read (unread to 0): each to its off value */
	c = flags(j);
	c.archived = 0;
	c.pinned = 0;
	c.muted_until = 0;
	c.marked_unread = 0;
	c.unread_count = 0;
	CHECK_EQ_INT(wa_store_chat_put(st, id, &c), 0);
	CHECK_EQ_INT(get(st, id, j, &r), 0);
	CHECK(!r.archived);
	CHECK_EQ_INT(r.pinned, 0);
	CHECK_EQ_INT(r.muted_until, 0);
	CHECK(!r.marked_unread);
	CHECK_EQ_INT(r.unread_count, 0);

	/* a mute with an end (milliseconds, as the action carries it) */
	c = flags(j);
	c.muted_until = 1893456000000;
	CHECK_EQ_INT(wa_store_chat_put(st, id, &c), 0);
	CHECK_EQ_INT(get(st, id, j, &r), 0);
	CHECK(r.muted_until == 1893456000000);

	/* deleted: the row goes; deleting again or an unknown chat is no error */
	CHECK_EQ_INT(wa_store_chat_del(st, id, j), 0);
	CHECK_EQ_INT(get(st, id, j, &r), WA_ENOTFOUND);
	CHECK_EQ_INT(wa_store_chat_del(st, id, j), 0);
	CHECK_EQ_INT(wa_store_chat_del(st, id, ""), WA_EINVAL);

	wa_store_close(st);
	unlink(path);
	char wal[320];
	snprintf(wal, sizeof wal, "%s-wal", path);
	unlink(wal);
	snprintf(wal, sizeof wal, "%s-shm", path);
	unlink(wal);
	rmdir(dir);
	store_backend_cleanup();
	return check_exit("store_chat_flags");
}
