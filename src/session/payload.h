/* ClientPayload building (payload.c), separated from the session so unit
 * tests can check the exact fields without a connection. */
#ifndef WA_SESSION_PAYLOAD_H
#define WA_SESSION_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "wa/wa.h"

extern const uint32_t wa_session_app_version[3];
extern const uint8_t wa_session_build_hash[16];

typedef struct wa_payload_params {
	bool login;                  /* false: registration from creds */
	uint64_t username;           /* login */
	uint32_t device;             /* login */
	const wa_store_creds *creds; /* registration: keys, regid, signed pre-key */
	const char *device_name;     /* DeviceProps.os; NULL: "wamd" */
	const char *push_name;       /* NULL or "" to omit */
	const uint32_t *version;     /* 3 parts; NULL: wa_session_app_version */
	bool full_sync;              /* registration: ask the phone for its whole history */
} wa_payload_params;

/* Parses "A.B.C" (decimals < 2^32, nothing else). WA_EINVAL. */
int wa_version_parse(const char *s, uint32_t out[3]) WA_MUST_CHECK;

/* Serialized ClientPayload; *out malloc'd (free()). WA_ENOMEM. */
int wa_payload_build(const wa_payload_params *pp, uint8_t **out, size_t *out_len) WA_MUST_CHECK;
/* "15551234567:3@s.whatsapp.net" -> 15551234567, 3. WA_EBIN_JID /
 * WA_EMALFORMED for non-numeric users. */
int wa_session_parse_own_jid(const char *jid, uint64_t *user, uint32_t *device) WA_MUST_CHECK;

#endif
