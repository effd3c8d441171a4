/* The write side of app state (appstate_push.c), sans-IO parts the unit tests
 * check byte for byte against Baileys: one wa_chat_mod as the index JSON,
 * SyncActionValue, collection and SyncActionData version the official
 * clients use, and the patch as clients send it (no version). */
#ifndef WA_SESSION_APPSTATE_MOD_H
#define WA_SESSION_APPSTATE_MOD_H

#include <stddef.h>
#include <stdint.h>

#include "wa/session.h"

typedef struct wa_appstate_mod {
	int ci;                 /* collection index */
	const char *collection; /* "regular_low", ... (static) */
	char *index_json;       /* malloc'd */
	uint8_t *value;         /* serialized SyncActionValue, malloc'd */
	size_t value_len;
	int32_t api;            /* SyncActionData.version */
} wa_appstate_mod;

/* now_ms: SyncActionValue.timestamp. WA_EINVAL on a missing or bad field. */
int wa_appstate_mod_build(const wa_chat_mod *m, int64_t now_ms, wa_appstate_mod *out) WA_MUST_CHECK;
void wa_appstate_mod_clear(wa_appstate_mod *m);
/* Re-encodes a SyncdPatch without its version field (*b replaced). */
int wa_appstate_strip_version(uint8_t **b, size_t *len) WA_MUST_CHECK;

#endif
