/* Reporting tokens: the <reporting><reporting_token v="2"> a message with a
 * messageSecret carries, as Baileys 7.0.0-rc14 and whatsmeow attach it, so
 * the recipient can prove what it received if it reports the message.
 *
 *   key     = HKDF-SHA256(ikm = messageSecret, no salt,
 *                         info = id ‖ from ‖ to ‖ "Report Token", 32 bytes)
 *   content = the encoded Message reduced to the fields below (kept whole,
 *             or recursed into and re-encoded with the kept sub-fields),
 *             ordered by field number
 *   token   = HMAC-SHA256(key, content)[0..16)
 *
 * For a message we send, from = to = the chat JID the stanza is addressed
 * to. A walk that fails (truncated data, wire types 3/4, a varint longer
 * than 6 bytes, as Baileys' decoder) gives no token. Sans-IO, unit-tested
 * and checked against Baileys' own function (tests/interop). */
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "message.pb-c.h"
#include "pb.h"
#include "session/msg.h"

typedef struct rfield {
	unsigned f;
	bool msg;                   /* a message: recurse with no kept sub-fields */
	const struct rfield *sub;   /* recurse with these; NULL: keep whole */
	size_t n_sub;
} rfield;

#define SUB(a) (a), sizeof(a) / sizeof((a)[0])
#define LEAF(n) {(n), false, NULL, 0}
#define MSG(n) {(n), true, NULL, 0}

static const rfield ctx_ids[] = {LEAF(21), LEAF(22)}; /* contextInfo: 21, 22 */
static const rfield f3[] = {LEAF(2), LEAF(3), LEAF(8), LEAF(11), {17, false, SUB(ctx_ids)}, LEAF(25)};
static const rfield f4[] = {LEAF(1), LEAF(16), {17, false, SUB(ctx_ids)}};
static const rfield f5[] = {LEAF(3), LEAF(4), LEAF(5), LEAF(16), {17, false, SUB(ctx_ids)}};
static const rfield f6[] = {LEAF(1), {17, false, SUB(ctx_ids)}, LEAF(30)};
static const rfield f7[] = {LEAF(2), LEAF(7), LEAF(10), {17, false, SUB(ctx_ids)}, LEAF(20)};
static const rfield f8[] = {LEAF(2), LEAF(7), LEAF(9), {17, false, SUB(ctx_ids)}, LEAF(21)};
static const rfield f9[] = {LEAF(2), LEAF(6), LEAF(7), LEAF(13), {17, false, SUB(ctx_ids)}, LEAF(20)};
static const rfield f12[] = {LEAF(1), LEAF(2), MSG(14), LEAF(15)};
static const rfield f18[] = {LEAF(6), LEAF(16), {17, false, SUB(ctx_ids)}};
static const rfield f26[] = {LEAF(4), LEAF(5), LEAF(8), LEAF(13), {17, false, SUB(ctx_ids)}};
static const rfield f28[] = {LEAF(1), LEAF(2), LEAF(4), LEAF(5), LEAF(6), {7, false, SUB(ctx_ids)}};
static const rfield m1[] = {MSG(1)};
static const rfield pair12[] = {LEAF(1), LEAF(2)};
static const rfield f49[] = {LEAF(2), {3, false, SUB(pair12)}, {5, false, SUB(ctx_ids)}, {8, false, SUB(pair12)}};
static const rfield f88_2[] = {LEAF(1)};
static const rfield f88[] = {LEAF(1), {2, false, SUB(f88_2)}, {3, false, SUB(ctx_ids)}};

static const rfield top[] = {
	LEAF(1), {3, false, SUB(f3)}, {4, false, SUB(f4)}, {5, false, SUB(f5)}, {6, false, SUB(f6)},
	{7, false, SUB(f7)}, {8, false, SUB(f8)}, {9, false, SUB(f9)}, {12, false, SUB(f12)},
	{18, false, SUB(f18)}, {26, false, SUB(f26)}, {28, false, SUB(f28)}, {37, false, SUB(m1)},
	{49, false, SUB(f49)}, {53, false, SUB(m1)}, {55, false, SUB(m1)}, {58, false, SUB(m1)},
	{59, false, SUB(m1)}, {60, false, SUB(f49)}, {64, false, SUB(f49)}, {66, false, SUB(f9)},
	{74, false, SUB(m1)}, {87, false, SUB(m1)}, {88, false, SUB(f88)}, {92, false, SUB(m1)},
	{93, false, SUB(m1)}, {94, false, SUB(m1)},
};

static const rfield *lookup(const rfield *cfg, size_t n, uint64_t f)
{
	for (size_t i = 0; i < n; i++)
		if (cfg[i].f == f)
			return &cfg[i];
	return NULL;
}

/* A varint as Baileys reads one: at most 6 bytes. */
static bool varint(const uint8_t *p, size_t len, size_t *i, uint64_t *v)
{
	uint64_t x = 0;
	for (unsigned k = 0; k < 6; k++) {
		if (*i >= len)
			return false;
		uint8_t b = p[(*i)++];
		x |= (uint64_t)(b & 0x7f) << (7 * k);
		if (!(b & 0x80)) {
			*v = x;
			return true;
		}
	}
	return false;
}

static size_t put_varint(uint8_t *o, uint64_t v)
{
	size_t n = 0;
	while (v > 0x7f) {
		o[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	o[n++] = (uint8_t)v;
	return n;
}

typedef struct piece {
	uint64_t f;
	size_t seq; /* input order: the sort is stable, as JavaScript's */
	const uint8_t *p;
	size_t n;
} piece;

static int by_field(const void *a, const void *b)
{
	const piece *x = a, *y = b;
	if (x->f != y->f)
		return x->f < y->f ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Writes the kept content of p[0..len) to out (room for len bytes: the
 * result is never longer) and its length to *out_len. */
static int extract(const uint8_t *p, size_t len, const rfield *cfg, size_t n_cfg, uint8_t *out,
	size_t *out_len, unsigned depth)
{
	if (depth > 8)
		return WA_EMALFORMED;
	size_t cap = 8, np = 0, i = 0, used = 0;
	piece *ps = malloc(cap * sizeof *ps);
	/* re-encoded sub-messages are built in scratch, then copied in order */
	uint8_t *scratch = malloc(len ? len : 1);
	int rc = ps && scratch ? 0 : WA_ENOMEM;
	while (rc == 0 && i < len) {
		size_t start = i, end;
		uint64_t tag, v;
		if (!varint(p, len, &i, &tag)) {
			rc = WA_EMALFORMED;
			break;
		}
		unsigned wt = (unsigned)(tag & 7);
		const rfield *fc = lookup(cfg, n_cfg, tag >> 3);
		const uint8_t *piece_p = NULL;
		size_t piece_n = 0;
		if (wt == 0) {
			if (!varint(p, len, &i, &v)) {
				rc = WA_EMALFORMED;
				break;
			}
			end = i;
		} else if (wt == 1 || wt == 5) {
			end = i + (wt == 1 ? 8 : 4);
		} else if (wt == 2) {
			if (!varint(p, len, &i, &v) || v > len - i) {
				rc = WA_EMALFORMED;
				break;
			}
			end = i + (size_t)v;
			if (fc && (fc->msg || fc->sub)) {
				size_t sub_len = 0;
				uint8_t *dst = scratch + used;
				/* tag and length are re-encoded no longer than the originals */
				uint8_t *body = malloc(v ? (size_t)v : 1);
				if (!body) {
					rc = WA_ENOMEM;
					break;
				}
				rc = extract(p + i, (size_t)v, fc->sub, fc->n_sub, body, &sub_len, depth + 1);
				if (rc == 0 && sub_len) {
					size_t h = put_varint(dst, tag);
					h += put_varint(dst + h, sub_len);
					memcpy(dst + h, body, sub_len);
					piece_p = dst;
					piece_n = h + sub_len;
					used += piece_n;
				}
				free(body);
				fc = NULL; /* handled */
				i = end;
				if (rc != 0)
					break;
			}
		} else {
			rc = WA_EMALFORMED;
			break;
		}
		if (end > len) {
			rc = WA_EMALFORMED;
			break;
		}
		if (fc) {
			piece_p = p + start;
			piece_n = end - start;
		}
		i = end;
		if (piece_p) {
			if (np == cap) {
				piece *g = realloc(ps, 2 * cap * sizeof *ps);
				if (!g) {
					rc = WA_ENOMEM;
					break;
				}
				ps = g;
				cap *= 2;
			}
			ps[np] = (piece){tag >> 3, np, piece_p, piece_n};
			np++;
		}
	}
	if (rc == 0) {
		qsort(ps, np, sizeof *ps, by_field);
		size_t o = 0;
		for (size_t k = 0; k < np; k++) {
			memcpy(out + o, ps[k].p, ps[k].n);
			o += ps[k].n;
		}
		*out_len = o;
	}
	free(ps);
	free(scratch);
	return rc;
}

int wa_msg_reporting_content(const uint8_t *msg, size_t len, uint8_t **out, size_t *out_len)
{
	if ((!msg && len) || !out || !out_len)
		return WA_EINVAL;
	uint8_t *o = malloc(len ? len : 1);
	if (!o)
		return WA_ENOMEM;
	size_t n = 0;
	int rc = extract(msg, len, top, sizeof top / sizeof top[0], o, &n, 0);
	if (rc != 0) {
		free(o);
		return rc;
	}
	*out = o;
	*out_len = n;
	return 0;
}

int wa_msg_reporting_token_raw(const uint8_t *msg, size_t len, const uint8_t *secret, size_t secret_len,
	const char *id, const char *from, const char *to, uint8_t out[WA_REPORTING_TOKEN_LEN])
{
	if (!secret || !secret_len || !id || !from || !to || !out)
		return WA_EINVAL;
	uint8_t *content = NULL;
	size_t n = 0;
	int rc = wa_msg_reporting_content(msg, len, &content, &n);
	if (rc != 0)
		return rc;
	if (n == 0) {
		free(content);
		return WA_ENOTFOUND;
	}
	static const char use[] = "Report Token";
	size_t li = strlen(id), lf = strlen(from), lt = strlen(to);
	size_t info_len = li + lf + lt + sizeof use - 1;
	char *info = malloc(info_len);
	uint8_t key[32], mac[WA_HMAC_SHA256_LEN];
	if (!info) {
		free(content);
		return WA_ENOMEM;
	}
	memcpy(info, id, li);
	memcpy(info + li, from, lf);
	memcpy(info + li + lf, to, lt);
	memcpy(info + li + lf + lt, use, sizeof use - 1);
	rc = wa_hkdf_sha256(key, sizeof key, secret, secret_len, NULL, 0, info, info_len);
	if (rc == 0)
		rc = wa_hmac_sha256(mac, key, sizeof key, content, n);
	if (rc == 0)
		memcpy(out, mac, WA_REPORTING_TOKEN_LEN);
	free(info);
	free(content);
	return rc;
}

int wa_msg_reporting_token(const uint8_t *msg, size_t len, const char *id, const char *chat,
	uint8_t out[WA_REPORTING_TOKEN_LEN])
{
	ProtobufCMessage *pb = NULL;
	int rc = wa_pb_unpack(&pb, &wa__message__descriptor, msg, len, WA_SIG_MAX_PLAINTEXT);
	if (rc != 0)
		return rc;
	const Wa__Message *m = (const Wa__Message *)pb;
	const Wa__MessageContextInfo *ci = m->message_context_info;
	/* as Baileys' shouldIncludeReportingToken: not for reactions */
	if (m->reaction_message || !ci || !ci->has_message_secret || !ci->message_secret.len)
		rc = WA_ENOTFOUND;
	else
		rc = wa_msg_reporting_token_raw(msg, len, ci->message_secret.data, ci->message_secret.len, id,
			chat, chat, out);
	protobuf_c_message_free_unpacked(pb, NULL);
	return rc;
}
