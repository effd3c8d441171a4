/* Media key expansion: one HKDF call (src/crypto) with a per-type info
 * string. The strings are protocol facts: Baileys Defaults
 * MEDIA_HKDF_KEY_MAPPING, whatsmeow download.go mediaTypeToMMSType. */
#include "media/keys.h"

#include <string.h>

#include "crypto/crypto.h"

static const char *const infos[WA_MEDIA_TYPE_COUNT] = {
	[WA_MEDIA_IMAGE] = "WhatsApp Image Keys",
	[WA_MEDIA_VIDEO] = "WhatsApp Video Keys",
	[WA_MEDIA_AUDIO] = "WhatsApp Audio Keys",
	[WA_MEDIA_DOCUMENT] = "WhatsApp Document Keys",
	[WA_MEDIA_HISTORY] = "WhatsApp History Keys",
	[WA_MEDIA_APP_STATE] = "WhatsApp App State Keys",
	[WA_MEDIA_THUMB_IMAGE] = "WhatsApp Image Thumbnail Keys",
	[WA_MEDIA_THUMB_VIDEO] = "WhatsApp Video Thumbnail Keys",
	[WA_MEDIA_THUMB_DOCUMENT] = "WhatsApp Document Thumbnail Keys",
	[WA_MEDIA_THUMB_LINK] = "WhatsApp Link Thumbnail Keys",
	[WA_MEDIA_PAYMENT_BG] = "WhatsApp Payment Background Keys",
	[WA_MEDIA_STICKER_PACK] = "WhatsApp Sticker Pack Keys",
};

/* Baileys' media type names (MEDIA_HKDF_KEY_MAPPING keys) plus whatsmeow's
 * sticker-pack. "ppic" and "product-catalog-image" map to an empty name in
 * Baileys (never encrypted), so they are absent here. */
static const struct {
	const char *name;
	enum wa_media_type type;
} names[] = {
	{ "image", WA_MEDIA_IMAGE },
	{ "sticker", WA_MEDIA_IMAGE },
	{ "product", WA_MEDIA_IMAGE },
	{ "biz-cover-photo", WA_MEDIA_IMAGE },
	{ "video", WA_MEDIA_VIDEO },
	{ "gif", WA_MEDIA_VIDEO },
	{ "ptv", WA_MEDIA_VIDEO },
	{ "audio", WA_MEDIA_AUDIO },
	{ "ptt", WA_MEDIA_AUDIO },
	{ "document", WA_MEDIA_DOCUMENT },
	{ "md-msg-hist", WA_MEDIA_HISTORY },
	{ "md-app-state", WA_MEDIA_APP_STATE },
	{ "thumbnail-image", WA_MEDIA_THUMB_IMAGE },
	{ "thumbnail-video", WA_MEDIA_THUMB_VIDEO },
	{ "thumbnail-document", WA_MEDIA_THUMB_DOCUMENT },
	{ "thumbnail-link", WA_MEDIA_THUMB_LINK },
	{ "payment-bg-image", WA_MEDIA_PAYMENT_BG },
	{ "sticker-pack", WA_MEDIA_STICKER_PACK },
};

const char *wa_media_hkdf_info(enum wa_media_type type)
{
	if ((unsigned)type >= WA_MEDIA_TYPE_COUNT)
		return NULL;
	return infos[type];
}

int wa_media_type_from_name(enum wa_media_type *out, const char *name)
{
	if (!out || !name)
		return WA_EINVAL;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (strcmp(names[i].name, name) == 0) {
			*out = names[i].type;
			return 0;
		}
	}
	return WA_ENOTFOUND;
}

int wa_media_keys_derive(wa_media_keys *out, const uint8_t media_key[static WA_MEDIA_KEY_LEN],
	enum wa_media_type type)
{
	const char *info = wa_media_hkdf_info(type);
	if (!out || !info)
		return WA_EINVAL;
	uint8_t x[WA_MEDIA_EXPANDED_LEN];
	/* salt absent = 32 zero bytes (RFC 5869 default), as both clients do */
	int rc = wa_hkdf_sha256(x, sizeof x, media_key, WA_MEDIA_KEY_LEN, NULL, 0, info, strlen(info));
	if (rc == 0) {
		memcpy(out->iv, x, WA_MEDIA_IV_LEN);
		memcpy(out->cipher_key, x + 16, WA_MEDIA_CIPHER_KEY_LEN);
		memcpy(out->mac_key, x + 48, WA_MEDIA_MAC_KEY_LEN);
		memcpy(out->ref_key, x + 80, WA_MEDIA_REF_KEY_LEN);
	}
	wa_memzero(x, sizeof x);
	return rc;
}

void wa_media_keys_clear(wa_media_keys *k)
{
	if (k)
		wa_memzero(k, sizeof *k);
}
