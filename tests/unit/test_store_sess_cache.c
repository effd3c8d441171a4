/* The session-record cache of an exclusive store (src/store/sess_cache.c)
 * never answers with a record the table does not hold: a save undone by a
 * rollback (of the transaction, of a savepoint's outer transaction, of a
 * group unit), a delete, a delete of every device, a logout wipe and an
 * instance deleted with its sessions all read back as the table has it;
 * many addresses sharing the cache's slots each read their own latest
 * record, and one too large to keep reads back whole; and what was committed is on disk for a plain connection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "store/store.h"
#include "wa/store.h"

static wa_store *st;

/* A record whose bytes name (tag, i): a wrong answer shows which. */
static void rec(uint8_t buf[40], int tag, int i)
{
	memset(buf, 0, 40);
	snprintf((char *)buf, 40, "record %d/%d", tag, i);
}

static void save(int64_t inst, const char *name, int32_t dev, int tag)
{
	uint8_t r[40];
	rec(r, tag, dev);
	CHECK_EQ_INT(wa_store_session_save(st, inst, name, dev, r, sizeof r), 0);
}

/* tag < 0: expect no record */
static void expect(int64_t inst, const char *name, int32_t dev, int tag)
{
	uint8_t *p = NULL, want[40];
	size_t n = 0;
	int rc = wa_store_session_load(st, inst, name, dev, &p, &n);
	if (tag < 0) {
		CHECK_EQ_INT(rc, WA_ENOTFOUND);
		return;
	}
	rec(want, tag, dev);
	CHECK_EQ_INT(rc, 0);
	CHECK(n == sizeof want && p && memcmp(p, want, n) == 0);
	if (rc == 0 && n == sizeof want && memcmp(p, want, n) != 0)
		fprintf(stderr, "  %s.%d: got \"%s\", want \"%s\"\n", name, dev, (char *)p, (char *)want);
	wa_store_free(p, n);
}

static void flush_noop(void *user, int rc)
{
	(void)user;
	(void)rc;
}

int main(void)
{
	char path[] = "/tmp/wa_test_sess_cache_XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	unlink(path);
	wa_store_opts xo = {.exclusive = true};
	CHECK(wa_store_open(path, &xo, &st) == 0 && st);
	int64_t a = 0, b = 0;
	CHECK(wa_store_instance_create(st, "a", &a) == 0);
	CHECK(wa_store_instance_create(st, "b", &b) == 0);

	save(a, "alice", 1, 1);
	expect(a, "alice", 1, 1);
	expect(a, "alice", 2, -1);
	expect(b, "alice", 1, -1); /* same address, other instance */

	/* rolled back: the cached record must go with it */
	CHECK_EQ_INT(wa_store_begin(st), 0);
	save(a, "alice", 1, 2);
	expect(a, "alice", 1, 2);
	(void)wa_store_rollback(st);
	expect(a, "alice", 1, 1);

	/* a savepoint released, then its outer transaction rolled back */
	CHECK_EQ_INT(wa_store_begin(st), 0);
	CHECK_EQ_INT(wa_store_begin(st), 0);
	save(a, "alice", 1, 3);
	save(a, "bob", 0, 3); /* a new row as well */
	CHECK_EQ_INT(wa_store_commit(st), 0);
	expect(a, "alice", 1, 3);
	(void)wa_store_rollback(st);
	expect(a, "alice", 1, 1);
	expect(a, "bob", 0, -1);

	/* a group commit's unit rolled back (the offline drain's path) */
	CHECK_EQ_INT(wa_store_group_open(st, flush_noop, NULL), 0);
	CHECK_EQ_INT(wa_store_unit_begin(st), 0);
	save(a, "alice", 1, 4);
	CHECK_EQ_INT(wa_store_unit_end(st, WA_EINVAL), WA_EINVAL);
	expect(a, "alice", 1, 1);
	CHECK_EQ_INT(wa_store_unit_begin(st), 0);
	save(a, "alice", 1, 5);
	CHECK_EQ_INT(wa_store_unit_end(st, 0), 0);
	CHECK_EQ_INT(wa_store_group_flush(st), 0);
	expect(a, "alice", 1, 5);

	/* deletes */
	save(a, "carol", 1, 6);
	save(a, "carol", 2, 6);
	CHECK_EQ_INT(wa_store_session_delete(st, a, "alice", 1), 0);
	expect(a, "alice", 1, -1);
	size_t n_del = 0;
	CHECK_EQ_INT(wa_store_session_delete_all(st, a, "carol", &n_del), 0);
	CHECK(n_del == 2);
	expect(a, "carol", 1, -1);
	expect(a, "carol", 2, -1);

	/* logout wipe and instance delete remove sessions behind sessions.c */
	save(a, "dave", 1, 7);
	save(b, "dave", 1, 7);
	expect(a, "dave", 1, 7);
	expect(b, "dave", 1, 7);
	CHECK_EQ_INT(wa_store_creds_wipe(st, a), 0);
	expect(a, "dave", 1, -1);
	expect(b, "dave", 1, 7);
	CHECK_EQ_INT(wa_store_instance_delete(st, b), 0);
	expect(b, "dave", 1, -1);

	/* a record too large to be kept reads back whole, and replaces the
	 * smaller one the cache held for the address */
	save(a, "erin", 1, 8);
	expect(a, "erin", 1, 8);
	size_t big_n = 100000;
	uint8_t *big = malloc(big_n);
	CHECK(big != NULL);
	for (size_t i = 0; i < big_n; i++)
		big[i] = (uint8_t)(i * 31 + 7);
	CHECK_EQ_INT(wa_store_session_save(st, a, "erin", 1, big, big_n), 0);
	uint8_t *got = NULL;
	size_t got_n = 0;
	CHECK_EQ_INT(wa_store_session_load(st, a, "erin", 1, &got, &got_n), 0);
	CHECK(got_n == big_n && got && memcmp(got, big, big_n) == 0);
	wa_store_free(got, got_n);
	free(big);

	/* more addresses than slots, saved and read interleaved */
	char name[32];
	for (int round = 10; round < 13; round++)
		for (int i = 0; i < 300; i++) {
			snprintf(name, sizeof name, "peer%d", i);
			save(a, name, i % 3, round);
			if (i >= 7) {
				snprintf(name, sizeof name, "peer%d", i - 7);
				expect(a, name, (i - 7) % 3, round);
			}
		}
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof name, "peer%d", i);
		expect(a, name, i % 3, 12);
	}
	wa_store_close(st);

	/* committed means on disk: a plain connection reads the same */
	wa_store_opts po = {0};
	CHECK(wa_store_open(path, &po, &st) == 0 && st);
	expect(a, "alice", 1, -1);
	expect(a, "peer299", 299 % 3, 12);
	wa_store_close(st);

	char side[sizeof path + 8];
	snprintf(side, sizeof side, "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof side, "%s-shm", path);
	unlink(side);
	unlink(path);
	return check_exit("store_sess_cache");
}
