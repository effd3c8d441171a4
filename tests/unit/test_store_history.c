/* src/store/history.c: chat upserts keep what a later write leaves out (and
 * timestamps only move forward), named contacts are listed, a pending
 * history import round-trips its sealed notification and progress. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "store_backend.h"
#include "store/history.h"

int main(void)
{
	char dir[] = "/tmp/wa-store-hist-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char path[300];
	snprintf(path, sizeof path, "%s/s.db", dir);
	wa_store *st = NULL;
	CHECK_EQ_INT(wa_store_open(store_backend_path(path), NULL, &st), 0);
	int64_t id = 0;
	CHECK_EQ_INT(wa_store_instance_create(st, "a", &id), 0);

	wa_store_chat c = {.jid = "1@s.whatsapp.net", .name = "Ana", .unread_count = 3, .last_msg_ts = 100,
		.conversation_ts = 90, .archived = 1, .pinned = -1, .marked_unread = -1, .muted_until = 500};
	CHECK_EQ_INT(wa_store_chat_put(st, id, &c), 0);
	/* a later write that says nothing of name, unread, archive or mute, with older times */
	wa_store_chat c2 = {.jid = "1@s.whatsapp.net", .unread_count = -1, .last_msg_ts = 50, .conversation_ts = 95,
		.archived = -1, .pinned = 7, .marked_unread = -1, .muted_until = WA_STORE_KEEP_MUTE};
	CHECK_EQ_INT(wa_store_chat_put(st, id, &c2), 0);
	wa_store_chat c3 = {.jid = "2@s.whatsapp.net", .unread_count = -1, .conversation_ts = 10, .archived = -1,
		.pinned = -1, .marked_unread = -1, .muted_until = WA_STORE_KEEP_MUTE};
	CHECK_EQ_INT(wa_store_chat_put(st, id, &c3), 0);
	wa_store_chat_row *rows = NULL;
	size_t n = 0;
	CHECK_EQ_INT(wa_store_chat_list(st, id, NULL, 0, 10, &rows, &n), 0);
	CHECK_EQ_INT(n, 2);
	if (n == 2) {
		CHECK_EQ_STR(rows[0].jid, "1@s.whatsapp.net"); /* most recent first */
		CHECK_EQ_STR(rows[0].name, "Ana");
		CHECK_EQ_INT(rows[0].unread_count, 3);
		CHECK_EQ_INT(rows[0].last_msg_ts, 100);
		CHECK_EQ_INT(rows[0].conversation_ts, 95);
		CHECK(rows[0].archived);
		CHECK_EQ_INT(rows[0].pinned, 7);
		CHECK_EQ_INT(rows[0].muted_until, 500);
		CHECK(rows[1].name == NULL);
	}
	wa_store_chat_rows_free(rows, n);
	CHECK_EQ_INT(wa_store_chat_list(st, id, "2@s.whatsapp.net", 0, 10, &rows, &n), 0);
	CHECK_EQ_INT(n, 1);
	wa_store_chat_rows_free(rows, n);
	wa_store_chat bad = {.jid = ""};
	CHECK_EQ_INT(wa_store_chat_put(st, id, &bad), WA_EINVAL);

	/* contacts: only named ones are listed */
	CHECK_EQ_INT(wa_store_contact_save(st, id, "1@s.whatsapp.net", NULL, "Push 1"), 0);
	CHECK_EQ_INT(wa_store_contact_save(st, id, "3@s.whatsapp.net", "9@lid", NULL), 0);
	CHECK_EQ_INT(wa_store_contact_set_full_name(st, id, "4@s.whatsapp.net", "Bia"), 0);
	wa_store_contact_row *cr = NULL;
	CHECK_EQ_INT(wa_store_contact_list(st, id, NULL, 0, 10, &cr, &n), 0);
	CHECK_EQ_INT(n, 2);
	if (n == 2) {
		CHECK_EQ_STR(cr[0].push_name, "Push 1");
		CHECK_EQ_STR(cr[1].full_name, "Bia");
	}
	wa_store_contact_rows_free(cr, n);

	/* pending imports: oldest first, progress kept, deleted at the end */
	static const uint8_t n1[] = {1, 2, 3}, n2[] = {4, 5};
	CHECK_EQ_INT(wa_store_hist_add(st, id, "m1", "me@s.whatsapp.net", n1, sizeof n1), 0);
	CHECK_EQ_INT(wa_store_hist_add(st, id, "m2", "me@s.whatsapp.net", n2, sizeof n2), 0);
	CHECK_EQ_INT(wa_store_hist_add(st, id, "m1", "me@s.whatsapp.net", n2, sizeof n2), 0); /* kept as first stored */
	CHECK_EQ_INT(wa_store_hist_progress(st, id, "m1", 40), 0);
	char *mid = NULL, *chat = NULL;
	uint8_t *nb = NULL;
	size_t nl = 0;
	int64_t done = -1;
	CHECK_EQ_INT(wa_store_hist_next(st, id, &mid, &chat, &nb, &nl, &done), 0);
	CHECK_EQ_STR(mid, "m1");
	CHECK_EQ_INT(nl, 3);
	if (nl == 3)
		CHECK_EQ_MEM(nb, n1, 3);
	CHECK_EQ_INT(done, 40);
	free(mid);
	free(chat);
	free(nb);
	bool p = false;
	CHECK_EQ_INT(wa_store_hist_pending(st, id, "m1", &p), 0);
	CHECK(p);
	CHECK_EQ_INT(wa_store_hist_del(st, id, "m1"), 0);
	CHECK_EQ_INT(wa_store_hist_pending(st, id, "m1", &p), 0);
	CHECK(!p);
	CHECK_EQ_INT(wa_store_hist_next(st, id, &mid, &chat, &nb, &nl, &done), 0);
	CHECK_EQ_STR(mid, "m2");
	CHECK_EQ_INT(done, 0);
	free(mid);
	free(chat);
	free(nb);
	CHECK_EQ_INT(wa_store_hist_del(st, id, "m2"), 0);
	CHECK_EQ_INT(wa_store_hist_next(st, id, &mid, &chat, &nb, &nl, &done), WA_ENOTFOUND);
	wa_store_close(st);
	unlink(path);
	rmdir(dir);
	store_backend_cleanup();
	return check_exit("store_history");
}
