/* The phone's half of the media-retry exchange (messaging.md §7): the
 * phone notes the media key and direct path of every media message it
 * decrypts (its own companions' copies included), and when a companion of
 * its account sends <receipt type="server-error"> for one of them it
 * opens the request under that media key, uploads the blob again under a
 * new direct path and answers the companion with <notification
 * type="mediaretry"> sealed under the same key (src/session/media_retry.c
 * builds and opens both). The phone holds the bytes it received; here they
 * are the expired blob's file, which the expiry fault keeps (an expiry with
 * "delete" removes it: the phone has nothing left and answers NOT_FOUND).
 * An unknown message id gets <error code="2"/>, a request that does not
 * open under the key DECRYPTION_ERROR. POST /_sim/phone/mediaretry sets
 * how the account's phone answers: "upload" (default), "tamper" (sealed
 * under a wrong key, which the companion must refuse) or "silent" (no
 * answer at all). */
#include "sim_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "message.pb-c.h"
#include "session/media_retry.h"
#include "util/seams.h"

#define SIM_MR_RING 256

enum { MR_UPLOAD, MR_TAMPER, MR_SILENT };

struct mr_media {
	char id[WA_MEDIA_RETRY_ID_MAX];
	uint8_t key[32];
	char dp[512];
};

struct mr_phone {
	struct mr_phone *next;
	const struct sim_account *acct;
	int mode;
	unsigned requests, uploads, not_found;
	struct mr_media ring[SIM_MR_RING];
	size_t next_slot;
};

static struct mr_phone *g_phones;

static struct mr_phone *phone_of(const struct sim_account *a, bool create)
{
	for (struct mr_phone *p = g_phones; p; p = p->next)
		if (p->acct == a)
			return p;
	if (!create)
		return NULL;
	struct mr_phone *p = calloc(1, sizeof(*p));
	if (p) {
		p->acct = a;
		p->next = g_phones;
		g_phones = p;
	}
	return p;
}

static void forget(const struct sim_account *a)
{
	for (struct mr_phone **pp = &g_phones; *pp; pp = &(*pp)->next)
		if ((*pp)->acct == a) {
			struct mr_phone *p = *pp;
			*pp = p->next;
			wa_memzero(p, sizeof(*p));
			free(p);
			return;
		}
}

void sim_mretry_shutdown(void)
{
	while (g_phones)
		forget(g_phones->acct);
}

static void note(struct mr_phone *p, const char *id, const ProtobufCBinaryData *key, bool has_key, const char *dp)
{
	if (!has_key || key->len != 32 || !dp || dp[0] != '/' || strlen(dp) >= sizeof(p->ring[0].dp) ||
	    strlen(id) >= sizeof(p->ring[0].id))
		return;
	struct mr_media *m = &p->ring[p->next_slot];
	p->next_slot = (p->next_slot + 1) % SIM_MR_RING;
	snprintf(m->id, sizeof(m->id), "%s", id);
	memcpy(m->key, key->data, 32);
	snprintf(m->dp, sizeof(m->dp), "%s", dp);
}

void sim_mretry_note(struct sim_account *a, const char *id, const Wa__Message *m)
{
	struct mr_phone *p;
	if (!m || !id || !(p = phone_of(a, true)))
		return;
	if (m->image_message)
		note(p, id, &m->image_message->media_key, m->image_message->has_media_key, m->image_message->direct_path);
	else if (m->video_message)
		note(p, id, &m->video_message->media_key, m->video_message->has_media_key, m->video_message->direct_path);
	else if (m->audio_message)
		note(p, id, &m->audio_message->media_key, m->audio_message->has_media_key, m->audio_message->direct_path);
	else if (m->document_message)
		note(p, id, &m->document_message->media_key, m->document_message->has_media_key,
			m->document_message->direct_path);
	else if (m->sticker_message)
		note(p, id, &m->sticker_message->media_key, m->sticker_message->has_media_key,
			m->sticker_message->direct_path);
}

static const struct mr_media *find(const struct mr_phone *p, const char *id)
{
	/* newest first: a message id noted twice (a resend) keeps its last key */
	for (size_t i = 0; i < SIM_MR_RING; i++) {
		const struct mr_media *m = &p->ring[(p->next_slot + SIM_MR_RING - 1 - i) % SIM_MR_RING];
		if (m->id[0] && strcmp(m->id, id) == 0)
			return m;
	}
	return NULL;
}

int sim_mretry_receipt(struct sim *sim, struct sim_account *a, uint32_t rdev, const wa_node *n)
{
	struct mr_phone *p = phone_of(a, true);
	const char *id = wa_node_attr(n, "id");
	const wa_node *rmr = wa_node_child(n, "rmr");
	if (!p || !id || !rmr || rdev == 0)
		return 0;
	p->requests++;
	if (p->mode == MR_SILENT)
		return 0;
	char me[SIM_MSG_JID_MAX], t[32];
	sim_jid_user(a, false, me, sizeof(me));
	sim_msg_tstr(t, sizeof(t), sim_now());
	const struct mr_media *m = find(p, id);
	wa_node *ans = NULL;
	int rc;
	if (!m) {
		/* a message the phone never saw: the answer carries no key */
		p->not_found++;
		ans = sim_node("notification", "from", me, "type", "mediaretry", "id", id, "t", t, NULL);
		ans = sim_node_add(ans, sim_node("error", "code", "2", NULL));
		wa_node *r2 = sim_node("rmr", "jid", wa_node_attr(rmr, "jid"), "from_me", wa_node_attr(rmr, "from_me"),
			"participant", wa_node_attr(rmr, "participant"), NULL);
		ans = sim_node_add(ans, r2);
		return ans ? sim_msg_deliver(sim, a, rdev, ans) : WA_ENOMEM;
	}
	wa_media_retry_key k;
	int result = WA_MEDIA_RETRY_SUCCESS;
	char dp[512] = "";
	rc = wa_media_retry_request_open(n, m->key, &k);
	if (rc == WA_ECRYPTO || rc == WA_EMALFORMED) {
		result = WA_MEDIA_RETRY_DECRYPTION_ERROR;
		k.id = id;
		k.chat = wa_node_attr(rmr, "jid");
		k.from_me = wa_node_attr(rmr, "from_me") && strcmp(wa_node_attr(rmr, "from_me"), "true") == 0;
		k.participant = wa_node_attr(rmr, "participant");
		if (!k.chat)
			return 0;
	} else if (rc != 0) {
		return 0; /* not a request: nothing to answer */
	} else {
		rc = sim_media_copy(sim, m->dp, dp, sizeof(dp));
		if (rc == WA_ENOTFOUND) {
			result = WA_MEDIA_RETRY_NOT_FOUND;
			p->not_found++;
		} else if (rc != 0) {
			result = WA_MEDIA_RETRY_GENERAL_ERROR;
		} else {
			p->uploads++;
		}
	}
	uint8_t iv[WA_MEDIA_RETRY_IV_LEN], key[32];
	wa_rand_bytes(iv, sizeof(iv));
	memcpy(key, m->key, 32);
	if (p->mode == MR_TAMPER)
		key[7] ^= 0x40;
	rc = wa_media_retry_answer_build(&ans, &k, me, key, iv, result, result == WA_MEDIA_RETRY_SUCCESS ? dp : NULL);
	wa_memzero(key, sizeof(key));
	if (rc == 0)
		rc = wa_node_set_attr(ans, "t", t);
	if (rc != 0) {
		wa_node_free(ans);
		return rc;
	}
	return sim_msg_deliver(sim, a, rdev, ans);
}

/* {"phone", "answer": "upload"|"tamper"|"silent"} → {"requests", "uploads",
 * "not_found"} so far. */
static int h_mode(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp, void *user)
{
	const char *phone = json_string_value(json_object_get(req->json, "phone"));
	const char *ans = json_string_value(json_object_get(req->json, "answer"));
	struct sim_account *a = phone ? sim_account_find(sim, phone) : NULL;
	(void)user;
	if (!a) {
		sim_http_error(resp, 404, "no such account");
		return 0;
	}
	int mode = !ans ? -1 : strcmp(ans, "upload") == 0 ? MR_UPLOAD : strcmp(ans, "tamper") == 0 ? MR_TAMPER
		: strcmp(ans, "silent") == 0 ? MR_SILENT : -2;
	if (mode == -2) {
		sim_http_error(resp, 400, "answer must be upload, tamper or silent");
		return 0;
	}
	struct mr_phone *p = phone_of(a, true);
	if (!p)
		return WA_ENOMEM;
	if (mode >= 0)
		p->mode = mode;
	sim_http_json(resp, 200, json_pack("{s:i, s:i, s:i}", "requests", (int)p->requests, "uploads", (int)p->uploads,
		"not_found", (int)p->not_found));
	return 0;
}

int sim_mretry_init(struct sim *sim)
{
	return sim_http_register(sim, "POST", "/_sim/phone/mediaretry", h_mode, NULL);
}
