/* Fuzz target: the database file and the master key file are disk input.
 * First byte picks the mode: < 0x80 treats the rest as a database file and,
 * if it opens, reads every table family through the store API (our column
 * readers must reject wrong sizes/types, never overrun); >= 0x80 treats the
 * rest as a master key file for a fresh encrypted store. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static const char *path(const char *name)
{
	static char p[128];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	return p;
}

static void wipe(void)
{
	static const char *names[] = { "f.db", "f.db-wal", "f.db-shm", "f.db-journal", "key" };
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		unlink(path(names[i]));
}

static int put_file(const char *name, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path(name), "wb");
	if (!f)
		return -1;
	size_t w = n ? fwrite(p, 1, n, f) : 0;
	fclose(f);
	return w == n ? 0 : -1;
}

static void read_everything(wa_store *st)
{
	wa_store_instance_info *list = NULL;
	size_t n = 0;
	if (wa_store_instance_list(st, &list, &n) != 0)
		return;
	for (size_t i = 0; i < n && i < 4; i++) {
		int64_t id = list[i].id;
		wa_store_creds *c = malloc(sizeof *c);
		if (c && wa_store_creds_load(st, id, c) == 0 && c->adv_identity_len > WA_STORE_ADV_IDENTITY_MAX)
			abort();
		free(c);
		uint8_t *p = NULL;
		size_t len = 0;
		for (uint32_t k = 0; k < 3; k++) {
			if (wa_store_prekey_load(st, id, k, &p, &len) == 0)
				wa_store_free(p, len);
			if (wa_store_signed_prekey_load(st, id, k, &p, &len) == 0)
				wa_store_free(p, len);
		}
		int32_t *devs = NULL;
		size_t nd = 0;
		if (wa_store_session_devices(st, id, "a", &devs, &nd) == 0) {
			for (size_t d = 0; d < nd && d < 4; d++)
				if (wa_store_session_load(st, id, "a", devs[d], &p, &len) == 0)
					wa_store_free(p, len);
			free(devs);
		}
		if (wa_store_identity_load(st, id, "a", 0, &p, &len) == 0)
			wa_store_free(p, len);
		if (wa_store_sender_key_load(st, id, "g", "a", 0, &p, &len) == 0)
			wa_store_free(p, len);
		wa_store_msg_row *row = NULL;
		if (wa_store_msg_load(st, id, "c", "m", false, &row) == 0)
			wa_store_msg_row_free(row);
		char *lid = NULL, *pn = NULL;
		if (wa_store_contact_load(st, id, "j", &lid, &pn) == 0) {
			free(lid);
			free(pn);
		}
		uint64_t ver;
		uint8_t hash[WA_STORE_LTHASH_LEN];
		if (wa_store_app_state_version_load(st, id, "regular", &ver, hash) == 0 && ver > INT64_MAX)
			abort();
		int64_t rid;
		char *mid = NULL, *chat = NULL;
		if (wa_store_outbox_next(st, id, &rid, &mid, &chat, &p, &len) == 0) {
			free(mid);
			free(chat);
			free(p);
		}
	}
	free(list);
}

static void cleanup(void)
{
	wipe();
	rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dir[0]) {
		snprintf(dir, sizeof dir, "/tmp/wa_fuzz_store.XXXXXX");
		if (!mkdtemp(dir))
			abort();
		atexit(cleanup);
	}
	if (size < 1)
		return 0;
	wipe();
	wa_store *st = NULL;
	if (data[0] < 0x80) {
		if (put_file("f.db", data + 1, size - 1) != 0)
			return 0;
		wa_store_opts o = { .busy_timeout_ms = 1 };
		if (wa_store_open(path("f.db"), &o, &st) == 0) {
			read_everything(st);
			wa_store_close(st);
		}
	} else {
		if (put_file("key", data + 1, size - 1) != 0)
			return 0;
		char err[256];
		wa_store_opts o = { .master_key_file = path("key"), .errbuf = err, .errbuf_len = sizeof err };
		if (wa_store_open(path("f.db"), &o, &st) == 0) {
			if (!wa_store_encrypted(st))
				abort();
			wa_store_close(st);
		}
	}
	wipe();
	return 0;
}
