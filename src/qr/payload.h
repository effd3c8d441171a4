/* The pairing QR string (transport-and-pairing.md §6.2): what a companion
 * shows so the primary phone can learn its noise key, identity key and ADV
 * secret. Sans-IO: build turns keys into text, parse (used by wasim, whose
 * simulated phone "scans" it through its control API) turns text back.
 *
 *   https://wa.me/settings/linked_devices#<ref>,<noise>,<identity>,<adv>,<platform>
 *
 * Keys are standard base64 (44 chars, '=' padded) via libsodium's
 * constant-time codec: the string carries the ADV secret. Never log it. */
#ifndef WA_QR_PAYLOAD_H
#define WA_QR_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "wa/wa.h"

#define WA_QR_KEY_LEN 32
/* Literal prefix of Baileys 7 (buildPairingQRData) and current whatsmeow. */
#define WA_QR_PREFIX "https://wa.me/settings/linked_devices#"
/* Refs seen from the server are ~90 chars; anything far longer is not a ref. */
#define WA_QR_MAX_REF_LEN 256
/* Platform is one decimal digit (Baileys) or a letter (whatsmeow 'c', 'e'). */
#define WA_QR_MAX_PLATFORM_LEN 8
#define WA_QR_B64_KEY_LEN 44
/* Longest string build can produce / parse accepts. */
#define WA_QR_MAX_PAYLOAD_LEN (sizeof(WA_QR_PREFIX) - 1 + WA_QR_MAX_REF_LEN + \
	3 * (1 + WA_QR_B64_KEY_LEN) + 1 + WA_QR_MAX_PLATFORM_LEN)

/* Companion web client types (Baileys CompanionWebClientType), for callers
 * that pick a platform; any 1..8 char [0-9a-z] string is accepted. */
#define WA_QR_PLATFORM_CHROME "1"
#define WA_QR_PLATFORM_ELECTRON "7"
#define WA_QR_PLATFORM_OTHER_WEB "9"

/* A decoded QR string. The keys are secrets (adv_secret especially): clear
 * with wa_qr_payload_clear. */
typedef struct wa_qr_payload {
	char ref[WA_QR_MAX_REF_LEN + 1];   /* NUL-terminated */
	size_t ref_len;
	uint8_t noise_pub[WA_QR_KEY_LEN];
	uint8_t identity_pub[WA_QR_KEY_LEN];
	uint8_t adv_secret[WA_QR_KEY_LEN];
	/* "" for the legacy 4-part form (Baileys 6.x, old whatsmeow) */
	char platform[WA_QR_MAX_PLATFORM_LEN + 1];
	int has_prefix; /* 1 when the URL prefix was present */
} wa_qr_payload;

/* Builds the QR string. ref (ref_len bytes, the <ref> node content) must be
 * 1..WA_QR_MAX_REF_LEN printable ASCII bytes without ','; platform must be
 * 1..WA_QR_MAX_PLATFORM_LEN chars of [0-9a-z], or NULL for the legacy
 * 4-part form without prefix. On success *out is a malloc'd NUL-terminated
 * string (free with wa_qr_string_free: it scrubs) and *out_len its length.
 * Errors: WA_EINVAL (bad ref/platform), WA_ENOMEM. */
int wa_qr_payload_build(char **out, size_t *out_len, const char *ref, size_t ref_len,
	const uint8_t noise_pub[static WA_QR_KEY_LEN],
	const uint8_t identity_pub[static WA_QR_KEY_LEN],
	const uint8_t adv_secret[static WA_QR_KEY_LEN], const char *platform) WA_MUST_CHECK;

/* Parses a QR string of len bytes (no NUL needed). Accepts exactly
 * "<prefix><ref>,<k>,<k>,<k>,<platform>" or the legacy "<ref>,<k>,<k>,<k>"
 * with the same rules as build, each key canonical base64 of 32 bytes.
 * Anything else (other prefixes, extra fields, whitespace, over-long
 * input) is WA_EMALFORMED, or WA_ETOOBIG past WA_QR_MAX_PAYLOAD_LEN.
 * *out is written only on success. */
int wa_qr_payload_parse(wa_qr_payload *out, const char *s, size_t len) WA_MUST_CHECK;

void wa_qr_payload_clear(wa_qr_payload *p);
/* Scrubs and frees a string from wa_qr_payload_build; NULL is a no-op. */
void wa_qr_string_free(char *s);

#endif
