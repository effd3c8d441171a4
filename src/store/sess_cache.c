/* src/store/sess_cache.c: the session records this connection last read or
 * wrote, so the record libsignal loads before every message costs no
 * SELECT (and no unseal). The table stays the truth: the cache is only
 * kept where nothing but this connection can change the file (SQLite
 * opened exclusive), every write through sessions.c updates or drops its
 * entry, and anything that may undo a write (a rollback at any depth, a
 * failed commit, a wipe, an instance deleted) empties the whole cache. */
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"

#define SESS_CACHE_SLOTS 64 /* direct-mapped; a miss costs one SELECT */
/* A live session's record is well under 1 KiB; one holding thousands of
 * skipped message keys can reach the store's 256 KiB cap. Those are not
 * kept, so the cache stays under 64 x 8 KiB. */
#define SESS_CACHE_MAX_RECORD 8192

struct sess_slot {
	int64_t instance_id;
	int32_t device_id;
	size_t len; /* 0: empty */
	uint8_t *record;
	char name[WA_STORE_JID_MAX];
};

struct wa_sess_cache {
	struct sess_slot slot[SESS_CACHE_SLOTS];
};

static struct sess_slot *slot_for(wa_sess_cache *c, int64_t inst, const char *name, int32_t dev)
{
	uint64_t h = 1469598103934665603u ^ (uint64_t)inst ^ ((uint64_t)(uint32_t)dev << 32);
	for (const char *p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211u;
	return &c->slot[h % SESS_CACHE_SLOTS];
}

static bool slot_is(const struct sess_slot *s, int64_t inst, const char *name, int32_t dev)
{
	return s->len && s->instance_id == inst && s->device_id == dev && strcmp(s->name, name) == 0;
}

static void slot_clear(struct sess_slot *s)
{
	wa_store_free(s->record, s->len); /* ratchet keys: scrubbed */
	s->record = NULL;
	s->len = 0;
}

void wa_store_sess_cache_enable(wa_store *st)
{
	if (!st->pg && st->exclusive && !st->sess_cache)
		st->sess_cache = calloc(1, sizeof *st->sess_cache); /* none: every load SELECTs */
}

void wa_store_sess_cache_drop_all(wa_store *st)
{
	if (!st->sess_cache)
		return;
	for (size_t i = 0; i < SESS_CACHE_SLOTS; i++)
		if (st->sess_cache->slot[i].len)
			slot_clear(&st->sess_cache->slot[i]);
}

void wa_store_sess_cache_free(wa_store *st)
{
	wa_store_sess_cache_drop_all(st);
	free(st->sess_cache);
	st->sess_cache = NULL;
}

bool wa_store_sess_cache_get(wa_store *st, int64_t inst, const char *name, int32_t dev, uint8_t **out,
	size_t *out_len)
{
	if (!st->sess_cache)
		return false;
	struct sess_slot *s = slot_for(st->sess_cache, inst, name, dev);
	if (!slot_is(s, inst, name, dev))
		return false;
	uint8_t *p = malloc(s->len);
	if (!p)
		return false; /* the SELECT then reports the shortage */
	memcpy(p, s->record, s->len);
	*out = p;
	*out_len = s->len;
	return true;
}

void wa_store_sess_cache_put(wa_store *st, int64_t inst, const char *name, int32_t dev, const uint8_t *rec,
	size_t len)
{
	if (!st->sess_cache)
		return;
	struct sess_slot *s = slot_for(st->sess_cache, inst, name, dev);
	size_t n = strlen(name);
	uint8_t *p = len && len <= SESS_CACHE_MAX_RECORD && n < sizeof s->name ? malloc(len) : NULL;
	if (s->len)
		slot_clear(s);
	if (!p)
		return; /* left empty: the table answers */
	memcpy(p, rec, len);
	s->instance_id = inst;
	s->device_id = dev;
	memcpy(s->name, name, n + 1);
	s->record = p;
	s->len = len;
}

void wa_store_sess_cache_drop(wa_store *st, int64_t inst, const char *name, int32_t dev)
{
	if (!st->sess_cache)
		return;
	struct sess_slot *s = slot_for(st->sess_cache, inst, name, dev);
	if (slot_is(s, inst, name, dev))
		slot_clear(s);
}
