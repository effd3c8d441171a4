/* wa_store_opts.wal_checkpoint_pages (SQLite): the WAL is checkpointed
 * when it holds that many pages instead of SQLite's 1,000. The same ~2,000
 * pages of commits leave a WAL file of at most ~1,000 pages by default (a
 * checkpoint, then the file is reused from its start) and one past 1,500
 * pages with the option at 3,000 (no checkpoint yet); every row reads back
 * after a reopen either way. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "store/store.h"

#define PAGE 4096
#define ROWS 600 /* 6 KB each: overflow pages, ~3 WAL pages per commit */

static long long wal_pages_after_writes(const char *path, int checkpoint_pages)
{
	char wal[300];
	snprintf(wal, sizeof wal, "%s-wal", path);
	wa_store_opts o = {.exclusive = true, .wal_checkpoint_pages = checkpoint_pages};
	wa_store *st = NULL;
	CHECK_EQ_INT(wa_store_open(path, &o, &st), 0);
	if (!st)
		return -1;
	int64_t iid = 0;
	CHECK_EQ_INT(wa_store_instance_create(st, "c", &iid), 0);
	static uint8_t body[6000];
	for (int i = 0; i < ROWS; i++) {
		memset(body, 'a' + i % 26, sizeof body);
		char id[32];
		snprintf(id, sizeof id, "ID%05d", i);
		wa_store_msg m = {.chat_jid = "1@s.whatsapp.net", .msg_id = id, .timestamp = i,
			.plaintext = body, .plaintext_len = sizeof body};
		bool existed = true;
		CHECK_EQ_INT(wa_store_msg_insert(st, iid, &m, &existed), 0);
		CHECK(!existed);
	}
	struct stat sb;
	long long pages = stat(wal, &sb) == 0 ? (long long)sb.st_size / (PAGE + 24) : -1;
	wa_store_close(st);
	/* every row is there after a reopen */
	CHECK_EQ_INT(wa_store_open(path, NULL, &st), 0);
	wa_store_msg_row *row = NULL;
	CHECK_EQ_INT(wa_store_msg_load(st, iid, "1@s.whatsapp.net", "ID00599", false, &row), 0);
	CHECK(row && row->plaintext_len == 6000 && row->plaintext[0] == 'a' + 599 % 26);
	wa_store_msg_row_free(row);
	wa_store_close(st);
	return pages;
}

int main(void)
{
	char dir[] = "/tmp/wa_test_ckpt_XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char a[256], b[256];
	snprintf(a, sizeof a, "%s/default.db", dir);
	snprintf(b, sizeof b, "%s/wide.db", dir);
	long long pa = wal_pages_after_writes(a, 0);
	long long pb = wal_pages_after_writes(b, 3000);
	printf("WAL pages: default %lld, wal_checkpoint_pages=3000 %lld\n", pa, pb);
	CHECK(pa > 0 && pa < 1100);
	CHECK(pb > 1500 && pb < 3100);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
	return check_exit("store_checkpoint");
}
