/* Evolution's message controller: /message/sendText. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/codec.h"
#include "wamd_cluster.h"
#include "wamd_pace.h"
#include "wamd_routes.h"

/* ---- messages ---- */

/* A held text's payload (wamd_pace_enqueue's): what its send needs. */
static json_t *text_payload(const char *text, const struct wamd_send_extra *x, json_int_t delay)
{
	/* delay: the floor of the "composing" time before it leaves */
	json_t *p = json_pack("{s:s, s:s, s:I}", "kind", "text", "text", text, "delay", delay > 0 ? delay : 0);
	if (!p)
		return NULL;
	if (x->n_mentions) {
		json_t *m = json_array();
		for (size_t i = 0; i < x->n_mentions; i++)
			json_array_append_new(m, json_string(x->mentions[i]));
		json_object_set_new(p, "mentions", m);
	}
	wamd_pace_quoted(p, x);
	/* the caller's link preview travels with the held message */
	if (x->preview_url || x->preview_title) {
		char *tb = x->preview_thumb_len ? wa_b64_encode(x->preview_thumb, x->preview_thumb_len) : NULL;
		if (x->preview_thumb_len && !tb) {
			json_decref(p);
			return NULL;
		}
		json_object_set_new(p, "preview", json_pack("{s:s?, s:s?, s:s?, s:s?}", "matchedText", x->preview_url,
							     "title", x->preview_title, "description",
							     x->preview_description, "jpegThumbnail", tb));
		free(tb);
	}
	return p;
}

/* A text the pacing limits hold back, or (cluster) one for another node's
 * instance: queued, or written for its owner, with what its send needs;
 * the answer already carries the id it will leave with. */
static int pace_text(struct wamd_tenant *t, const char *jid, const char *text, const struct wamd_send_extra *x,
		     bool first, int64_t at, json_t *body, char **id_out)
{
	json_t *p = text_payload(text, x, json_integer_value(json_object_get(body, "delay")));
	if (!p)
		return WA_ENOMEM;
	char id[32];
	int rc;
	if (t->peeked) {
		/* its owner expands mentionsEveryOne from its group cache */
		if (wamd_mentions_everyone_later(t, body, jid))
			json_object_set_new(p, "everyOne", json_true());
		json_t *m = json_pack("{s:s}", "conversation", text);
		rc = m ? wamd_cluster_relay_send(t, jid, at, p, m, "conversation", id) : WA_ENOMEM;
		json_decref(m);
	} else {
		rc = wamd_pace_enqueue(t, jid, first, at, p, id);
	}
	json_decref(p);
	if (rc == 0 && !(*id_out = strdup(id)))
		rc = WA_ENOMEM;
	return rc;
}

/* wamd's record of a text sent now, written inside libwa's send transaction
 * (one commit with the outbox row, not a second one after it) */
struct sent_rec {
	struct wamd_tenant *t;
	const char *jid, *text;
	json_t *rec;
};

static int sent_rec_in_tx(void *user, const char *id)
{
	struct sent_rec *sr = user;
	json_decref(sr->rec);
	sr->rec = wamd_sent_record(sr->t, sr->jid, id, sr->text, wamd_now_ms() / 1000);
	return 0;
}

bool wamd_send_text_args(struct wamd_conn *c, json_t *body, const char **text_out, char jid[WA_STORE_JID_MAX],
			 int64_t *at)
{
	const char *number = jstr(body, "number");
	const char *text = jstr(body, "text");
	if (!text) {
		json_t *tm = json_object_get(body, "textMessage"); /* v1 form */
		text = jstr(tm, "text");
	}
	if (!number) {
		bad_request(c, "instance requires property \"number\"");
		return false;
	}
	bool blank = true;
	for (const char *p = text ? text : ""; *p; p++)
		if (!isspace((unsigned char)*p))
			blank = false;
	if (blank) {
		wamd_reply_error(c, 400, json_pack("[s]", "Text is required"));
		return false;
	}
	if (wamd_normalize_number(number, jid, WA_STORE_JID_MAX) != 0) {
		wamd_reply_error(c, 400,
				 json_pack("[{s:s, s:b, s:s}]", "jid", number, "exists", 0, "number", number));
		return false;
	}
	*text_out = text;
	return wamd_send_at_of(c, body, at); /* sendAt: held until then */
}

void wamd_h_send_text(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	const char *text = NULL;
	char jid[WA_STORE_JID_MAX];
	int64_t at = 0;
	if (!wamd_send_text_args(c, body, &text, jid, &at))
		return;
	if (!t->peeked && !wamd_tenant_is_paired(t)) { /* another node's: its owner tells */
		wamd_reply_error(c, 500, json_string("Connection Closed"));
		return;
	}
	if (!wamd_send_checked(c, t, body, jid, wamd_h_send_text))
		return;
	char (*mj)[WA_STORE_JID_MAX] = NULL;
	size_t nm = 0;
	if (!wamd_mentions_of(c, t, body, jid, &mj, &nm))
		return;
	const char **mp = nm ? calloc(nm, sizeof *mp) : NULL;
	if (nm && !mp) {
		free(mj);
		wamd_reply_error(c, 500, json_string("out of memory"));
		return;
	}
	for (size_t i = 0; i < nm; i++)
		mp[i] = mj[i];
	struct wamd_send_extra x = { .mentions = mp, .n_mentions = nm };
	/* linkPreview: wamd fetches nothing; the preview is what the caller
	 * gives in wamdLinkPreview (Baileys' field names), unless linkPreview
	 * is false */
	json_t *pv = json_object_get(body, "wamdLinkPreview");
	uint8_t *thumb = NULL;
	if (json_is_object(pv) && !json_is_false(json_object_get(body, "linkPreview"))) {
		x.preview_url = jstr(pv, "matchedText");
		x.preview_title = jstr(pv, "title");
		x.preview_description = jstr(pv, "description");
		const char *tb = jstr(pv, "jpegThumbnail");
		if (tb && wa_b64_decode(tb, strlen(tb), &thumb, &x.preview_thumb_len) != 0) {
			free(mj);
			free(mp);
			bad_request(c, "wamdLinkPreview.jpegThumbnail must be base64");
			return;
		}
		x.preview_thumb = thumb;
	}
	json_t *qhold = wamd_quoted_of(t, body, jid, &x);
	char *id = NULL;
	bool first = false;
	bool now = wamd_pace_admit(t, jid, at, &first);
	struct sent_rec sr = { .t = t, .jid = jid, .text = text };
	if (now) {
		x.in_tx = sent_rec_in_tx;
		x.in_tx_user = &sr;
	}
	int64_t c0 = wamd_thread_cpu_ns();
	int rc = now ? wamd_tenant_send_text_to(t, jid, text, &x, &id)
		     : pace_text(t, jid, text, &x, first, at, body, &id);
	if (now && rc == 0)
		wamd_lat_call_cpu(t->d, wamd_thread_cpu_ns() - c0);
	free(thumb);
	json_decref(qhold);
	free(mp);
	free(mj);
	if (rc != 0 || !id) {
		json_decref(sr.rec);
		free(id);
		wamd_reply_error(c, 400, json_pack("[s]", wa_strerror(rc ? rc : WA_ENOMEM)));
		return;
	}
	if (now) {
		wamd_pace_sent_now(t, jid, first);
		wamd_lat_accepted(t, id, c->t_dispatch_ns);
	}
	if (t->peeked) {
		/* cluster: the owner's answer, the record it stores when it takes the send */
		json_t *rec = wamd_sent_record_json(t, jid, id, json_pack("{s:s}", "conversation", text), "conversation",
						    wamd_now_ms() / 1000);
		free(id);
		wamd_reply_json(c, 201, rec);
		return;
	}
	json_t *rec = sr.rec ? sr.rec : wamd_sent_record(t, jid, id, text, wamd_now_ms() / 1000);
	free(id);
	wamd_emit(t, "SEND_MESSAGE", json_deep_copy(rec));
	wamd_reply_json(c, 201, rec);
}
