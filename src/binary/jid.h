/* JIDs (WhatsApp addresses): the text grammar, its four wire forms and a
 * small value type. Part of src/binary (layer 3).
 *
 * Text forms (the way Baileys writes them, except that we keep ":0"):
 *   JID_PAIR     user@server            "@s.whatsapp.net" is the server itself
 *   AD_JID       user:device@server     server s.whatsapp.net | lid | hosted | hosted.lid
 *                user_agent:device@s.whatsapp.net   (a legacy agent domain byte)
 *   FB_JID       user:device@msgr
 *   INTEROP_JID  integrator-user:device@interop
 *
 * The encoder sends a string as a JID exactly when wa_bin_jid_scan() accepts
 * it. The grammar is the subset of Baileys' jidDecode() that survives the
 * trip through the wire unchanged: for every such string our bytes equal
 * Baileys' bytes; for the other strings containing '@' (where Baileys' JID
 * encoding would lose information, e.g. "a:b:c@x", "u_1@s.whatsapp.net",
 * "u:03@lid", "u:300@lid", "a@b@c") we send the text raw, and FB/INTEROP
 * texts get their own wire forms (Baileys would mangle them into AD_JID).
 * See docs/wamctl-node.md for the full list of differences. */
#ifndef WA_BINARY_JID_H
#define WA_BINARY_JID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wa/wa.h"
#include "binary/limits.h"
#include "binary/node.h"

enum wa_jid_kind {
	WA_JID_PAIR = 0,
	WA_JID_AD = 1,
	WA_JID_FB = 2,
	WA_JID_INTEROP = 3,
};

/* AD_JID domain bytes (any other value is a legacy agent on s.whatsapp.net). */
enum wa_jid_domain {
	WA_JID_DOMAIN_WHATSAPP = 0,
	WA_JID_DOMAIN_LID = 1,
	WA_JID_DOMAIN_HOSTED = 128,
	WA_JID_DOMAIN_HOSTED_LID = 129,
};

/* A JID as a value (fixed buffers, safe to copy). */
typedef struct wa_jid {
	enum wa_jid_kind kind;
	uint8_t domain;      /* AD only */
	uint16_t device;     /* AD (0..255), FB, INTEROP; 0 for PAIR */
	uint16_t integrator; /* INTEROP only */
	char user[WA_JID_USER_MAX + 1];
	char server[WA_JID_SERVER_MAX + 1]; /* for AD, derived from the domain */
} wa_jid;

/* Parses a text JID. Errors: WA_EBIN_JID (not in the grammar), WA_ETOOBIG
 * (user or server longer than the wa_jid buffers). *out only on success. */
int wa_jid_parse(wa_jid *out, const char *s) WA_MUST_CHECK;
/* Writes the text form and a NUL into buf; returns its length, or
 * WA_ETOOBIG when cap is too small (WA_JID_TEXT_MAX + 1 always suffices). */
int wa_jid_format(const wa_jid *j, char *buf, size_t cap) WA_MUST_CHECK;
/* user@server (user may be empty). Errors: WA_EBIN_JID, WA_ETOOBIG. */
int wa_jid_make_pair(wa_jid *out, const char *user, const char *server) WA_MUST_CHECK;
/* user:device@<server of domain> as an AD_JID. Errors: WA_EBIN_JID, WA_ETOOBIG. */
int wa_jid_make_ad(wa_jid *out, const char *user, uint8_t domain, uint8_t device) WA_MUST_CHECK;
/* Same address: user, server, device, integrator and agent equal. A PAIR and
 * an AD with device 0 for the same user and server are the same address. */
bool wa_jid_equal(const wa_jid *a, const wa_jid *b);
/* Same account: user and server equal, devices ignored. */
bool wa_jid_same_user(const wa_jid *a, const wa_jid *b);
/* Parses the JID in attribute key of n. Errors: WA_ENOTFOUND (no such
 * attribute), WA_EBIN_JID, WA_ETOOBIG. */
int wa_jid_from_attr(wa_jid *out, const wa_node *n, const char *key) WA_MUST_CHECK;
/* The server an AD_JID domain byte stands for. */
const char *wa_jid_domain_server(uint8_t domain);

/* --- used by the codec (encode.c / decode.c) --- */

/* A parsed JID pointing into someone else's memory, with no length caps. */
struct wa_bin_jid_view {
	enum wa_jid_kind kind;
	const char *user;
	size_t user_len;
	const char *server; /* AD: the domain's server */
	size_t server_len;
	uint8_t domain;
	uint16_t device;
	uint16_t integrator;
};

/* 0 when s[0..len) is in the grammar above (then *out is filled), else WA_EBIN_JID. */
int wa_bin_jid_scan(const char *s, size_t len, struct wa_bin_jid_view *out) WA_MUST_CHECK;
/* Length of the text form (without NUL). */
size_t wa_bin_jid_text_len(const struct wa_bin_jid_view *v);
/* Writes exactly wa_bin_jid_text_len(v) bytes and a NUL to dst. */
void wa_bin_jid_render(const struct wa_bin_jid_view *v, char *dst);

#endif
