/* Deferred commit (wa_store_turn_mode, SQLite): grouped transactions are
 * savepoints of one outer transaction committed by wa_store_turn_flush;
 * what waits in the after-commit list runs after that commit and sees the
 * rows durable (read through a second connection); a unit rolled back
 * undoes only itself; a lost group hands every waiting entry its error
 * and keeps none of its units; a process killed with the group open leaves
 * nothing of it, and one killed right after an entry ran (the point where
 * wamd answers 201 or writes the stanza) leaves the row. */
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "store_backend.h"
#include "store/internal.h"
#include "store/store.h"

static char dir[] = "/tmp/wa_test_turn_XXXXXX";
static char db[300];

static long long raw_int(const char *sql)
{
	sqlite3 *h = NULL;
	long long v = -1;
	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
		sqlite3_stmt *s = NULL;
		if (sqlite3_prepare_v2(h, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
			v = sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
	}
	sqlite3_close(h);
	return v;
}

static long long prekeys(void)
{
	return raw_int("SELECT count(*) FROM prekeys");
}

static int ran, last_rc;
static long long seen_rows;

static void after(void *user, int rc)
{
	(void)user;
	ran++;
	last_rc = rc;
	seen_rows = prekeys(); /* durable when it runs? */
}

static int save(wa_store *st, int64_t inst, uint32_t id)
{
	uint8_t rec[16];
	memset(rec, (int)id, sizeof rec);
	return wa_store_prekey_save(st, inst, id, rec, sizeof rec);
}

/* one unit: begin_grouped, a write, commit or rollback, its after entry */
static void unit(wa_store *st, int64_t inst, uint32_t id, bool keep)
{
	CHECK_EQ_INT(wa_store_begin_grouped(st), 0);
	CHECK(wa_store_tx_outermost(st));
	CHECK_EQ_INT(save(st, inst, id), 0);
	/* a nested transaction inside the unit is a savepoint as usual */
	CHECK_EQ_INT(wa_store_begin(st), 0);
	CHECK(!wa_store_tx_outermost(st));
	CHECK_EQ_INT(wa_store_commit(st), 0);
	if (keep) {
		CHECK_EQ_INT(wa_store_commit(st), 0);
		wa_store_after_commit(st, after, NULL);
	} else {
		CHECK_EQ_INT(wa_store_rollback(st), 0);
	}
}

static void test_turn(void)
{
	wa_store *st = NULL;
	CHECK_EQ_INT(wa_store_open(db, NULL, &st), 0);
	int64_t a;
	CHECK_EQ_INT(wa_store_instance_create(st, "a", &a), 0);

	/* without turn mode a grouped begin is a plain, durable transaction */
	CHECK_EQ_INT(wa_store_begin_grouped(st), 0);
	CHECK_EQ_INT(save(st, a, 100), 0);
	CHECK_EQ_INT(wa_store_commit(st), 0);
	CHECK(!wa_store_turn_pending(st));
	wa_store_after_commit(st, after, NULL); /* runs at once */
	CHECK_EQ_INT(ran, 1);
	CHECK_EQ_INT(seen_rows, 1);

	CHECK_EQ_INT(wa_store_turn_mode(st, true), 0);
	unit(st, a, 1, true);
	CHECK(wa_store_turn_pending(st));
	unit(st, a, 2, false); /* undoes itself only */
	unit(st, a, 3, true);
	CHECK_EQ_INT(ran, 1);          /* nothing ran before the commit */
	CHECK_EQ_INT(prekeys(), 1);    /* and nothing is durable */
	CHECK_EQ_INT(wa_store_tx_depth(st), 1); /* the group's own transaction */
	/* reads see the group's rows and do not commit it */
	bool ex = false;
	CHECK_EQ_INT(wa_store_prekey_exists(st, a, 3, &ex), 0);
	CHECK(ex);
	CHECK(wa_store_turn_pending(st));
	CHECK_EQ_INT(wa_store_turn_flush(st), 0);
	CHECK_EQ_INT(ran, 3);
	CHECK_EQ_INT(last_rc, 0);
	CHECK_EQ_INT(seen_rows, 3); /* 100, 1, 3: durable before the entries ran */
	CHECK(!wa_store_turn_pending(st));
	CHECK_EQ_INT(wa_store_turn_flush(st), 0); /* no group: no-op */
	CHECK_EQ_INT(ran, 3);

	/* a transaction that does not join commits the group first */
	unit(st, a, 4, true);
	CHECK_EQ_INT(wa_store_begin(st), 0);
	CHECK_EQ_INT(ran, 4);
	CHECK_EQ_INT(seen_rows, 4);
	CHECK_EQ_INT(save(st, a, 5), 0);
	/* a grouped begin inside another transaction nests as a savepoint */
	CHECK_EQ_INT(wa_store_begin_grouped(st), 0);
	CHECK_EQ_INT(wa_store_tx_depth(st), 2);
	CHECK_EQ_INT(wa_store_commit(st), 0);
	CHECK_EQ_INT(wa_store_commit(st), 0);
	CHECK(!wa_store_turn_pending(st));
	CHECK_EQ_INT(prekeys(), 5);
	/* ... and so does an autocommit write */
	unit(st, a, 6, true);
	CHECK_EQ_INT(save(st, a, 7), 0);
	CHECK_EQ_INT(ran, 5);
	CHECK_EQ_INT(seen_rows, 6); /* 6 committed before 7 was written */
	CHECK_EQ_INT(prekeys(), 7);

	/* the group lost (SQLite dropped the transaction, as on an I/O error):
	 * every waiting entry learns it, no unit of it is kept */
	unit(st, a, 8, true);
	unit(st, a, 9, true);
	CHECK_EQ_INT(st->db->ops->tx_rollback(st->db, 0), 0);
	CHECK(wa_store_turn_flush(st) != 0);
	CHECK_EQ_INT(ran, 7);
	CHECK(last_rc != 0);
	CHECK_EQ_INT(prekeys(), 7);
	CHECK_EQ_INT(wa_store_prekey_exists(st, a, 8, &ex), 0);
	CHECK(!ex);
	CHECK_EQ_INT(wa_store_tx_depth(st), 0);
	/* and the store goes on */
	unit(st, a, 10, true);
	CHECK_EQ_INT(wa_store_turn_flush(st), 0);
	CHECK_EQ_INT(last_rc, 0);
	CHECK_EQ_INT(prekeys(), 8);

	/* turning the mode off commits what is open */
	unit(st, a, 11, true);
	CHECK_EQ_INT(wa_store_turn_mode(st, false), 0);
	CHECK_EQ_INT(prekeys(), 9);
	CHECK_EQ_INT(ran, 9);
	CHECK_EQ_INT(wa_store_begin_grouped(st), 0);
	CHECK(!wa_store_turn_pending(st));
	CHECK_EQ_INT(wa_store_rollback(st), 0);
	wa_store_close(st);
}

/* A child writes units in turn mode, then dies by SIGKILL: with the group
 * still open (nothing of it may survive), or right after its after-commit
 * entry told the parent (through a pipe) that the row is acknowledged. */
static int fd_ack = -1;

static void ack_to_parent(void *user, int rc)
{
	(void)user;
	char c = rc == 0 ? 'A' : 'E';
	if (write(fd_ack, &c, 1) != 1)
		_exit(3);
	kill(getpid(), SIGKILL); /* nothing after the acknowledgement */
}

static char run_child(bool flush, uint32_t id)
{
	int p[2];
	CHECK_EQ_INT(pipe(p), 0);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		fd_ack = p[1];
		wa_store *st = NULL;
		if (wa_store_open(db, &(wa_store_opts){ .exclusive = true }, &st) != 0 ||
		    wa_store_turn_mode(st, true) != 0)
			_exit(2);
		if (wa_store_begin_grouped(st) != 0 || save(st, 1, id) != 0 || wa_store_commit(st) != 0)
			_exit(2);
		wa_store_after_commit(st, ack_to_parent, NULL);
		if (flush)
			(void)wa_store_turn_flush(st);
		kill(getpid(), SIGKILL);
		_exit(4);
	}
	close(p[1]);
	char c = 0;
	if (read(p[0], &c, 1) != 1)
		c = 0;
	close(p[0]);
	int status = 0;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	return c;
}

static void test_kill(void)
{
	long long before = prekeys();
	CHECK_EQ_INT(run_child(false, 200), 0); /* killed with the group open: no ack */
	CHECK_EQ_INT(prekeys(), before);        /* and no row */
	CHECK_EQ_INT(run_child(true, 201), 'A');
	CHECK_EQ_INT(raw_int("SELECT count(*) FROM prekeys WHERE id = 201"), 1);
	CHECK_EQ_INT(prekeys(), before + 1);
}

/* PostgreSQL refuses the mode (under store_pg: WA_TEST_PG_URI); the
 * SQLite part above runs there too */
static void test_postgres_refused(void)
{
	if (!store_backend_pg())
		return;
	char file[320];
	snprintf(file, sizeof file, "%s/pg.db", dir);
	wa_store *st = NULL;
	CHECK_EQ_INT(wa_store_open(store_backend_path(file), NULL, &st), 0);
	if (st)
		CHECK_EQ_INT(wa_store_turn_mode(st, true), WA_EUNSUPPORTED);
	wa_store_close(st);
	store_backend_cleanup();
}

int main(void)
{
	CHECK(mkdtemp(dir) != NULL);
	snprintf(db, sizeof db, "%s/t.db", dir);
	test_turn();
	test_kill();
	test_postgres_refused();
	char cmd[400];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	CHECK_EQ_INT(system(cmd), 0);
	return check_exit("store_turn");
}
