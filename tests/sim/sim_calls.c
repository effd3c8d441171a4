/* wasim calls (signalling only): POST /_sim/call places a call offer (or
 * its terminate) from one account to another's companions, queued like any
 * server stanza until each device acks it; a client's <call><reject/> is
 * acked and recorded, and the caller's live devices are told. GET
 * /_sim/calls lists the calls with who acked and who rejected. */
#include "sim_msg.h"

#include <stdio.h>
#include <string.h>

static json_t *calls; /* [{id, from, to, video, stanzas: [{device, id}], rejects: [jid]}] */
static unsigned call_seq;

static json_t *call_find(const char *id)
{
	size_t i;
	json_t *c;
	json_array_foreach(calls, i, c)
		if (!strcmp(json_string_value(json_object_get(c, "id")), id))
			return c;
	return NULL;
}

/* Whether a device still holds stanza id in its queue (has not acked it). */
static bool queued(struct sim_device *d, const char *id)
{
	struct sim_dev_ext *x = d ? sim_dx(d) : NULL;
	for (const sim_qitem *it = x ? x->q.head : NULL; it; it = it->next)
		if (!strcmp(it->cls, "call") && !strcmp(it->id, id))
			return true;
	return false;
}

/* {"from": phone, "to": phone, "video": bool, "id": call id (optional),
 * "status": "offer" (default) | "terminate" | "timeout", "t": seconds
 * (optional: now)} */
static int h_call(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp, void *user)
{
	const char *fp = json_string_value(json_object_get(req->json, "from"));
	const char *tp = json_string_value(json_object_get(req->json, "to"));
	const char *cid = json_string_value(json_object_get(req->json, "id"));
	const char *status = json_string_value(json_object_get(req->json, "status"));
	bool video = json_is_true(json_object_get(req->json, "video"));
	struct sim_account *from = fp ? sim_account_find(sim, fp) : NULL;
	struct sim_account *to = tp ? sim_account_find(sim, tp) : NULL;
	(void)user;
	if (!from || !to) {
		sim_http_error(resp, 404, "no such account");
		return 0;
	}
	status = status ? status : "offer";
	bool offer = !strcmp(status, "offer");
	if (!offer && strcmp(status, "terminate") != 0 && strcmp(status, "timeout") != 0) {
		sim_http_error(resp, 400, "status is offer, terminate or timeout");
		return 0;
	}
	char idbuf[40], creator[SIM_MSG_JID_MAX], t[32];
	if (!cid) {
		snprintf(idbuf, sizeof idbuf, "SIMCALL%08X%08X", (unsigned)sim_now(), ++call_seq);
		cid = idbuf;
	}
	if (strlen(cid) > 64) {
		sim_http_error(resp, 400, "id too long");
		return 0;
	}
	sim_jid_user(from, false, creator, sizeof creator);
	json_t *tj = json_object_get(req->json, "t");
	sim_msg_tstr(t, sizeof t, json_is_integer(tj) ? (int64_t)json_integer_value(tj) : sim_now());
	json_t *c = call_find(cid);
	if (!c) {
		c = json_pack("{s:s, s:s, s:s, s:b, s:[], s:[]}", "id", cid, "from", fp, "to", tp, "video", video,
			"stanzas", "rejects");
		json_array_append_new(calls, c);
	}
	json_t *sent = json_array();
	for (size_t k = 0; k < to->n_devices; k++) {
		struct sim_device *d = to->devices[k];
		char sid[96];
		snprintf(sid, sizeof sid, "%.64s%uT%s", cid, (unsigned)k, offer ? "" : status);
		wa_node *n = sim_node("call", "from", creator, "id", sid, "t", t, "notify",
			from->push_name[0] ? from->push_name : NULL, "platform", "android", "version", "2", NULL);
		wa_node *body;
		if (offer) {
			body = sim_node("offer", "call-id", cid, "call-creator", creator, NULL);
			body = sim_node_add(body, sim_node("audio", "enc", "opus", "rate", "16000", NULL));
			if (video)
				body = sim_node_add(body, sim_node("video", "enc", "vp8", "dec", "vp8", NULL));
		} else {
			body = sim_node("terminate", "call-id", cid, "call-creator", creator, "reason",
				strcmp(status, "timeout") == 0 ? "timeout" : NULL, NULL);
		}
		n = body ? sim_node_add(n, body) : NULL;
		if (!n || sim_msg_deliver(sim, to, d->device, n) != 0) {
			json_decref(sent);
			sim_http_error(resp, 500, "deliver failed");
			return 0;
		}
		json_array_append_new(sent, json_string(sid));
		json_array_append_new(json_object_get(c, "stanzas"),
			json_pack("{s:i, s:s}", "device", (int)d->device, "id", sid));
	}
	sim_http_json(resp, 200, json_pack("{s:s, s:o}", "id", cid, "stanzas", sent));
	return 0;
}

static int h_calls(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp, void *user)
{
	(void)req, (void)user;
	json_t *out = json_deep_copy(calls);
	size_t i, k;
	json_t *c, *st;
	json_array_foreach(out, i, c) {
		struct sim_account *to = sim_account_find(sim, json_string_value(json_object_get(c, "to")));
		json_array_foreach(json_object_get(c, "stanzas"), k, st) {
			struct sim_device *d = to ? sim_device_find(to, (uint32_t)json_integer_value(
				json_object_get(st, "device"))) : NULL;
			json_object_set_new(st, "acked",
				json_boolean(d && !queued(d, json_string_value(json_object_get(st, "id")))));
		}
	}
	sim_http_json(resp, 200, json_pack("{s:o}", "calls", out));
	return 0;
}

/* <call id to=caller><reject call-id call-creator count/></call> from a
 * client: acked, recorded, and passed to the caller's live devices. */
static int handle_call(struct sim *sim, struct sim_conn *c, const wa_node *n, void *user)
{
	struct sim_device *d = sim_conn_device(c);
	const wa_node *r = wa_node_child_at(n, 0);
	const char *id = wa_node_attr(n, "id");
	(void)user;
	if (!d)
		return 0;
	if (id) {
		wa_node *ack = sim_node("ack", "class", "call", "id", id, "from", wa_node_attr(n, "to"), "type",
			r ? wa_node_tag(r) : NULL, NULL);
		if (ack)
			SIM_IGNORE(sim_send_ack(sim, c, ack));
	}
	if (!r || strcmp(wa_node_tag(r), "reject") != 0)
		return 0;
	const char *cid = wa_node_attr(r, "call-id");
	json_t *call = cid ? call_find(cid) : NULL;
	char by[SIM_MSG_JID_MAX];
	sim_jid_device(d->acct, false, d->device, by, sizeof by);
	if (call)
		json_array_append_new(json_object_get(call, "rejects"),
			json_pack("{s:s, s:s, s:s}", "by", by, "to", wa_node_attr(n, "to") ? wa_node_attr(n, "to") : "",
				"creator", wa_node_attr(r, "call-creator") ? wa_node_attr(r, "call-creator") : ""));
	struct sim_addr ad;
	if (cid && sim_addr_parse(sim, wa_node_attr(n, "to"), &ad) == 0 && ad.acct) {
		char from[SIM_MSG_JID_MAX], t[32];
		sim_jid_user(d->acct, ad.lid, from, sizeof from);
		sim_msg_tstr(t, sizeof t, sim_now());
		wa_node *fw = sim_node("call", "from", from, "id", id ? id : cid, "t", t, NULL);
		fw = sim_node_add(fw, sim_node("reject", "call-id", cid, "call-creator", wa_node_attr(r, "call-creator"),
			"count", "0", NULL));
		if (fw)
			sim_msg_send_live(sim, ad.acct, NULL, fw);
	}
	return 0;
}

int sim_calls_init(struct sim *sim); /* modules.c */
int sim_calls_init(struct sim *sim)
{
	if (!calls && !(calls = json_array()))
		return WA_ENOMEM;
	int rc = sim_handler_register(sim, "call", handle_call, NULL);
	rc = rc ? rc : sim_http_register(sim, "POST", "/_sim/call", h_call, NULL);
	return rc ? rc : sim_http_register(sim, "GET", "/_sim/calls", h_calls, NULL);
}
