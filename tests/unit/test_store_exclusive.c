/* The daemon's store options (wa_store_opts.exclusive, .mmap_mib): with
 * exclusive locking a second opener of the same file is refused while the
 * first holds it and succeeds once it closed; data written through an
 * exclusive, memory-mapped handle reads back in a plain one; the WAL index
 * lives in the heap (no -shm file is created). On PostgreSQL the same
 * refusal comes from the schema's advisory lock (store_backend.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "store_backend.h"
#include "wa/store.h"

int main(void)
{
	char path[] = "/tmp/wa_test_store_x_XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	unlink(path);
	char shm[sizeof path + 8], wal[sizeof path + 8];
	snprintf(shm, sizeof shm, "%s-shm", path);
	snprintf(wal, sizeof wal, "%s-wal", path);

	wa_store_opts xo = {.exclusive = true, .mmap_mib = 16, .busy_timeout_ms = 50};
	wa_store *a = NULL, *b = NULL;
	const char *db = store_backend_path(path);
	CHECK(wa_store_open(db, &xo, &a) == 0 && a);
	int64_t id = 0;
	CHECK(wa_store_instance_create(a, "one", &id) == 0 && id > 0);
	struct stat sb;
	CHECK(store_backend_pg() || stat(shm, &sb) != 0); /* SQLite: WAL index in the heap */

	/* a second opener (another process in real life) is refused */
	wa_store_opts po = {.busy_timeout_ms = 50};
	int rc = wa_store_open(db, &po, &b);
	CHECK(rc == WA_EDB_BUSY && b == NULL);
	wa_store_close(a);

	CHECK(wa_store_open(db, &po, &b) == 0 && b);
	int64_t id2 = 0;
	CHECK(wa_store_instance_create(b, "one", &id2) != 0); /* it is there */
	CHECK(wa_store_instance_create(b, "two", &id2) == 0 && id2 != id);
	wa_store_close(b);

	unlink(path);
	unlink(shm);
	unlink(wal);
	store_backend_cleanup();
	return check_exit("store_exclusive");
}
