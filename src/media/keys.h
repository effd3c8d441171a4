/* Media key expansion (messaging.md §7, §12.1): a 32-byte mediaKey is
 * expanded with HKDF-SHA256 (no salt, info "WhatsApp <Name> Keys") to 112
 * bytes = iv ‖ cipherKey ‖ macKey ‖ refKey. Part of src/media; the session
 * layer calls it for uploads, downloads, history-sync and app-state blobs. */
#ifndef WA_MEDIA_KEYS_H
#define WA_MEDIA_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "wa/wa.h"

#define WA_MEDIA_KEY_LEN 32
#define WA_MEDIA_IV_LEN 16
#define WA_MEDIA_CIPHER_KEY_LEN 32
#define WA_MEDIA_MAC_KEY_LEN 32
#define WA_MEDIA_REF_KEY_LEN 32
#define WA_MEDIA_EXPANDED_LEN 112

/* Media kinds with distinct HKDF info strings. Several message types share
 * one (sticker -> Image, gif/ptv -> Video, ptt -> Audio: Baileys
 * MEDIA_HKDF_KEY_MAPPING); wa_media_type_from_name knows those aliases. */
enum wa_media_type {
	WA_MEDIA_IMAGE = 0,        /* "WhatsApp Image Keys" */
	WA_MEDIA_VIDEO,            /* "WhatsApp Video Keys" */
	WA_MEDIA_AUDIO,            /* "WhatsApp Audio Keys" */
	WA_MEDIA_DOCUMENT,         /* "WhatsApp Document Keys" */
	WA_MEDIA_HISTORY,          /* "WhatsApp History Keys" (md-msg-hist) */
	WA_MEDIA_APP_STATE,        /* "WhatsApp App State Keys" (md-app-state) */
	WA_MEDIA_THUMB_IMAGE,      /* "WhatsApp Image Thumbnail Keys" */
	WA_MEDIA_THUMB_VIDEO,      /* "WhatsApp Video Thumbnail Keys" */
	WA_MEDIA_THUMB_DOCUMENT,   /* "WhatsApp Document Thumbnail Keys" */
	WA_MEDIA_THUMB_LINK,       /* "WhatsApp Link Thumbnail Keys" */
	WA_MEDIA_PAYMENT_BG,       /* "WhatsApp Payment Background Keys" */
	WA_MEDIA_STICKER_PACK,     /* "WhatsApp Sticker Pack Keys" (whatsmeow) */
	WA_MEDIA_TYPE_COUNT
};

typedef struct wa_media_keys {
	uint8_t iv[WA_MEDIA_IV_LEN];
	uint8_t cipher_key[WA_MEDIA_CIPHER_KEY_LEN];
	uint8_t mac_key[WA_MEDIA_MAC_KEY_LEN];
	uint8_t ref_key[WA_MEDIA_REF_KEY_LEN];
} wa_media_keys;

/* The HKDF info string of a type, or NULL when type is out of range. */
const char *wa_media_hkdf_info(enum wa_media_type type);
/* Maps a Baileys/WA media type name ("image", "sticker", "ptt",
 * "md-msg-hist", "thumbnail-link", ...) to its key type. Returns 0 and sets
 * *out, or WA_ENOTFOUND. */
int wa_media_type_from_name(enum wa_media_type *out, const char *name) WA_MUST_CHECK;

/* Expands media_key for type. Returns 0, WA_EINVAL (bad type) or
 * WA_ECRYPTO; *out is written only on success. Clear with
 * wa_media_keys_clear when done. */
int wa_media_keys_derive(wa_media_keys *out, const uint8_t media_key[static WA_MEDIA_KEY_LEN],
	enum wa_media_type type) WA_MUST_CHECK;
void wa_media_keys_clear(wa_media_keys *k);

#endif
