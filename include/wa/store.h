/* libwa public store API: the SQLite database that holds every instance's
 * credentials, Signal state, messages and queues. An embedder (wamd) opens one
 * store, creates instances in it, and passes (store, instance id) to
 * wa_session_new. The rest of the store API is internal (src/store/store.h).
 *
 * Threading: one thread (the event loop). Errors: 0 or a negative WA_E*.
 * Out-parameters are written only on success. */
#ifndef WA_STORE_H
#define WA_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wa/wa.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wa_store wa_store;

/* ---- limits ---- */
#define WA_STORE_KEY_LEN 32           /* raw Curve25519 key, no 0x05 type prefix */
#define WA_STORE_SIG_LEN 64           /* XEdDSA signature */
#define WA_STORE_MASTER_KEY_LEN 32    /* crypto_secretbox key */
#define WA_STORE_JID_MAX 128          /* incl. NUL */
#define WA_STORE_NAME_MAX 128         /* instance name, incl. NUL */
#define WA_STORE_PLATFORM_MAX 32      /* incl. NUL */
#define WA_STORE_PUSH_NAME_MAX 256    /* incl. NUL (UTF-8) */
#define WA_STORE_ADV_IDENTITY_MAX 1024 /* serialized ADVSignedDeviceIdentity */
#define WA_STORE_ROUTING_MAX 256      /* routing info bytes */
#define WA_STORE_MAX_RECORD (256 * 1024) /* any Signal record / key blob */
#define WA_STORE_MAX_IDENTITY_KEY 64  /* peer identity public key (33 with prefix) */
#define WA_STORE_MAX_PLAINTEXT (16 * 1024 * 1024) /* message plaintext blob */
#define WA_STORE_MAX_INSTANCES 100000 /* wa_store_instance_list cap */

/* ---- open / close ---- */
enum wa_store_sync {
	WA_STORE_SYNC_NORMAL = 0, /* WAL + NORMAL: survives process crash (SIGKILL), may lose
	                           * the last commits on power loss; never corrupts */
	WA_STORE_SYNC_FULL = 1,   /* fsync on every commit: survives power loss too */
};

typedef struct wa_store_opts {
	enum wa_store_sync sync;
	int busy_timeout_ms;          /* 0 = default 5000 */
	int cache_kib;                /* page cache per connection in KiB; 0 = default (see README) */
	bool exclusive;               /* this process is the file's only user (a daemon):
	                               * locking_mode=EXCLUSIVE, so a transaction costs no
	                               * lock syscalls and the WAL index lives in the heap,
	                               * not a shared -shm mapping; other processes cannot
	                               * open the file meanwhile */
	int mmap_mib;                 /* > 0: read pages through a shared mapping of up to
	                               * this many MiB (PRAGMA mmap_size): no pread per page
	                               * miss, and the pages are file-backed, not heap */
	bool low_memory;              /* for many small per-instance files: no lookaside
	                               * allocator (~120 KiB per connection), cache_kib
	                               * default 64 */
	int wal_checkpoint_pages;     /* SQLite: checkpoint when the WAL holds this many
	                               * pages (PRAGMA wal_autocheckpoint); 0 = SQLite's 1000.
	                               * Each checkpoint syncs twice on the writer's thread;
	                               * more pages per checkpoint: fewer syncs, a larger
	                               * WAL file (up to pages × page size) */
	/* Master key for encrypting private-key columns, first non-empty wins:
	 * master_key (32 raw bytes), master_key_file (32 raw bytes, or 64 hex chars,
	 * or base64 of 32 bytes, optional trailing newline), then env WAMD_MASTER_KEY
	 * (hex or base64) when key_from_env is true. No key = plaintext columns. */
	const uint8_t *master_key;
	const char *master_key_file;
	bool key_from_env;
	/* Also seal message bodies (messages.plaintext, outbox payloads) with
	 * the master key; WA_EDB_KEY at open without one. Per row, so rows
	 * written before the setting changed stay readable. */
	bool seal_messages;
	/* Optional: on failure of wa_store_open a human message is written here
	 * (NUL-terminated, truncated to errbuf_len). Never contains secrets. */
	char *errbuf;
	size_t errbuf_len;
} wa_store_opts;

/* Opens (creating if absent) the database at path and applies pending
 * migrations. opts may be NULL (defaults, no encryption). On success *out is
 * a new handle (free: wa_store_close). Errors: WA_EDB_SCHEMA (file from a
 * newer build), WA_EDB_KEY (encrypted file and no/wrong key, or key given for
 * a plaintext file), WA_EDB_CORRUPT (not a database / corrupt), WA_EIO. */
int wa_store_open(const char *path, const wa_store_opts *opts, wa_store **out) WA_MUST_CHECK;
/* Rolls back any open transaction, finalizes statements, closes. NULL ok. */
void wa_store_close(wa_store *st);
/* Last SQLite error message for this handle (static or handle-owned; valid
 * until the next store call). For logs; never contains row contents. */
const char *wa_store_errmsg(const wa_store *st);
/* True once the connection to a PostgreSQL server is gone (the server
 * restarted or ended it): libpq does not bring it back, so no store call
 * will work again on this handle. Reads what the server sent without
 * waiting; call it between store calls. Always false on SQLite. */
bool wa_store_lost(wa_store *st);
/* True when private columns are encrypted. */
bool wa_store_encrypted(const wa_store *st);
/* Schema version the file is at / this build's newest. */
int wa_store_schema_version(const wa_store *st);
int wa_store_schema_latest(void);
/* Returns cached pages this connection is not using to the allocator (for an
 * instance going idle). Harmless at any time; the cache refills on use. */
void wa_store_release_memory(wa_store *st);
/* Scrubs and frees a blob returned by a load function. NULL ok. */
void wa_store_free(void *p, size_t len);

/* ---- transactions ----
 * begin/commit/rollback nest: the outermost begin is BEGIN IMMEDIATE, inner
 * ones are SAVEPOINTs. An inner rollback undoes only its own level. Every
 * write function works inside or outside a transaction (outside = its own
 * atomic unit). commit/rollback without a begin -> WA_ESTATE. If commit of
 * the outermost level fails, the transaction is rolled back and the depth is
 * back to 0. */
int wa_store_begin(wa_store *st) WA_MUST_CHECK;
int wa_store_commit(wa_store *st) WA_MUST_CHECK;
int wa_store_rollback(wa_store *st);
int wa_store_tx_depth(const wa_store *st);
/* Wall time in ms of the last outermost transaction (begin to commit or
 * rollback), for the caller's slow-transaction WARN (STYLE: over 50 ms). The
 * store itself does not log. */
int64_t wa_store_last_tx_ms(const wa_store *st);

/* ---- deferred commit (SQLite only) ----
 * With turn mode on, the transactions libwa marks as groupable (a send's
 * outbox row and ratchet, a receipt's or server ack's status rows) become
 * savepoints of one outer transaction, opened by the first of them and
 * committed by wa_store_turn_flush, which the embedder calls once per event
 * loop iteration. Whatever must follow durability (the stanza written to
 * the socket, the ack to the server, events) waits for that commit in the
 * store's after-commit list; a failed commit hands every entry its error
 * and undoes every unit in it. A rollback undoes only its own unit. Any
 * other transaction or autocommit write first commits the open group, so
 * code that does not defer its side effects never runs inside it.
 * wa_store_turn_mode: WA_EUNSUPPORTED on PostgreSQL (each statement is a round
 * trip there; the group would hold the writer lock across the turn). */
int wa_store_turn_mode(wa_store *st, bool on) WA_MUST_CHECK;
/* Commits the open group and runs the after-commit list (no-op without
 * one). Returns the commit's result. */
int wa_store_turn_flush(wa_store *st);
/* True while a group is open: what is written now is not durable yet. */
bool wa_store_turn_pending(const wa_store *st);
/* fn(user, rc) after the open group's commit (rc 0) or its loss (rc < 0);
 * with no group open (the last commit was durable), at once with rc 0.
 * Out of memory: the group is committed first, then fn runs. */
typedef void (*wa_store_after_fn)(void *user, int rc);
void wa_store_after_commit(wa_store *st, wa_store_after_fn fn, void *user);

/* ---- instances ---- */
typedef struct wa_store_instance_info {
	int64_t id;
	char name[WA_STORE_NAME_MAX];
} wa_store_instance_info;

/* name: 1..WA_STORE_NAME_MAX-1 bytes. WA_EEXIST if taken. */
int wa_store_instance_create(wa_store *st, const char *name, int64_t *id_out) WA_MUST_CHECK;
int wa_store_instance_find(wa_store *st, const char *name, int64_t *id_out) WA_MUST_CHECK;
/* *out: malloc'd array (free()), ordered by id; *n_out may be 0 (then *out is NULL). */
int wa_store_instance_list(wa_store *st, wa_store_instance_info **out, size_t *n_out) WA_MUST_CHECK;
/* Deletes the instance and every row of every table that belongs to it. WA_ENOTFOUND if absent. */
int wa_store_instance_delete(wa_store *st, int64_t instance_id) WA_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif
