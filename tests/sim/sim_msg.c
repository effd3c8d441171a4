/* wasim messaging: module entry (sim_msg_init), per-account/device data, the
 * delivery path shared by every messaging file (queue until answered, send
 * at once when online, flush with offline="1" on login), client <ack>s, and
 * persistence of queues and pre-keys in the core's state file. */
#include "sim_msg.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binary/decode.h"
#include "binary/jid.h"
#include "util/codec.h"

/* ---- ext data ---- */

struct sim_dev_ext *sim_dx(struct sim_device *d)
{
	if (!d->ext)
		d->ext = calloc(1, sizeof(struct sim_dev_ext));
	return d->ext;
}

struct sim_acct_ext *sim_ax(struct sim *sim, struct sim_account *a)
{
	if (a->ext)
		return a->ext;
	struct sim_acct_ext *x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	a->ext = x;
	if (sim_phone_create(sim, a) != 0) {
		sim_keys_clear(&x->phone_keys);
		free(x);
		a->ext = NULL;
		return NULL;
	}
	return x;
}

static void dev_ext_free(struct sim_device *d)
{
	struct sim_dev_ext *x = d->ext;
	if (!x)
		return;
	sim_keys_clear(&x->keys);
	sim_queue_clear(&x->q);
	free(x);
	d->ext = NULL;
}

uint64_t sim_msg_id_hash(const char *id)
{
	uint64_t h = 1469598103934665603ull;
	for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
		h ^= *p;
		h *= 1099511628211ull;
	}
	return h;
}

void sim_msg_recent_add(struct sim_account *a, const char *id, uint32_t dev)
{
	struct sim_acct_ext *x = a->ext;
	if (!x)
		return;
	x->recent[x->recent_next].id_hash = sim_msg_id_hash(id);
	x->recent[x->recent_next].device = dev;
	x->recent_next = (x->recent_next + 1) % SIM_MSG_RECENT;
}

bool sim_msg_recent_find(const struct sim_account *a, const char *id, uint32_t *dev_out)
{
	const struct sim_acct_ext *x = a->ext;
	uint64_t h = sim_msg_id_hash(id);
	if (!x)
		return false;
	for (size_t i = 0; i < SIM_MSG_RECENT; i++) {
		const struct sim_recent *r = &x->recent[(x->recent_next + SIM_MSG_RECENT - 1 - i) % SIM_MSG_RECENT];
		if (r->id_hash == h && h != 0) {
			*dev_out = r->device;
			return true;
		}
	}
	return false;
}

void sim_msg_tstr(char *buf, size_t cap, int64_t t)
{
	snprintf(buf, cap, "%" PRId64, t);
}

/* ---- JIDs ---- */

int sim_addr_parse(struct sim *sim, const char *jid, struct sim_addr *out)
{
	wa_jid j;
	struct sim_account *a;
	bool lid;
	if (!jid || wa_jid_parse(&j, jid) != 0)
		return WA_EBIN_JID;
	if (j.kind != WA_JID_PAIR && j.kind != WA_JID_AD)
		return WA_EBIN_JID;
	if (strcmp(j.server, "s.whatsapp.net") == 0)
		lid = false;
	else if (strcmp(j.server, "lid") == 0)
		lid = true;
	else
		return WA_EBIN_JID;
	if (j.user[0] == '\0')
		return WA_EBIN_JID;
	a = lid ? sim_account_find_lid(sim, j.user) : sim_account_find(sim, j.user);
	if (!a)
		return WA_ENOTFOUND;
	out->acct = a;
	out->lid = lid;
	out->has_device = j.kind == WA_JID_AD;
	out->device = j.device;
	return 0;
}

void sim_jid_user(const struct sim_account *a, bool lid, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s@%s", lid ? a->lid : a->phone, lid ? "lid" : "s.whatsapp.net");
}

void sim_jid_device(const struct sim_account *a, bool lid, uint32_t device, char *buf, size_t cap)
{
	if (device == 0)
		sim_jid_user(a, lid, buf, cap);
	else
		snprintf(buf, cap, "%s:%u@%s", lid ? a->lid : a->phone, device, lid ? "lid" : "s.whatsapp.net");
}

bool sim_device_exists(struct sim_account *a, uint32_t dev)
{
	return dev == 0 || sim_device_find(a, dev) != NULL;
}

/* ---- delivery ---- */

int sim_msg_deliver(struct sim *sim, struct sim_account *a, uint32_t dev, wa_node *n)
{
	struct sim_device *d;
	struct sim_dev_ext *x;
	int rc;
	if (dev == 0) {
		sim_phone_receive(sim, a, n);
		return 0;
	}
	d = sim_device_find(a, dev);
	if (!d || !(x = sim_dx(d))) {
		wa_node_free(n);
		return d ? WA_ENOMEM : WA_ENOTFOUND;
	}
	rc = sim_queue_push(&x->q, n);
	if (rc) {
		wa_node_free(n);
		return rc;
	}
	sim_msg_dirty(sim);
	if (d->conn && x->batching)
		x->q.tail->live = true; /* goes out after the backlog, as a live stanza */
	if (d->conn && !x->batching) {
		/* a failed live send leaves the copy queued for the next login;
		 * while the backlog goes out in batches it waits its turn */
		SIM_IGNORE(sim_send_to_device(sim, d, n));
		return 0;
	}
	wa_node_free(n);
	return 0;
}

void sim_msg_send_live(struct sim *sim, struct sim_account *a, const struct sim_device *except, wa_node *n)
{
	for (size_t i = 0; i < a->n_devices; i++) {
		struct sim_device *d = a->devices[i];
		if (d == except || !d->conn)
			continue;
		SIM_IGNORE(sim_conn_send(d->conn, n));
	}
	(void)sim;
	wa_node_free(n);
}

static int flush_offline(struct sim *sim, struct sim_conn *c, void *user)
{
	struct sim_device *d = sim_conn_device(c);
	struct sim_dev_ext *x;
	int n = 0;
	(void)user;
	if (!d || !(x = sim_dx(d)))
		return 0;
	(void)sim_ax(sim, d->acct);
	x->n_subs = 0;
	x->presence[0] = x->presence_name[0] = '\0';
	x->n_rcpts = x->rcpt_next = 0;
	if (!x->history_sent && sim_phone_history_later(sim, d) == 0) {
		x->history_sent = true;
		sim_msg_dirty(sim);
	}
	x->batching = false;
	x->batch_sent = x->batches = 0;
	for (sim_qitem *it = x->q.head; it; it = it->next)
		it->live = false; /* everything queued before this login is backlog */
	if ((sim->real & SIM_REAL_OFFLINE) && x->q.n) {
		/* as the real server: a preview, then only what the client asks for */
		unsigned cnt[3] = {0, 0, 0};
		for (sim_qitem *it = x->q.head; it; it = it->next)
			cnt[strcmp(it->cls, "message") == 0 ? 0 : strcmp(it->cls, "receipt") == 0 ? 1 : 2]++;
		char all[24], m[16], r[16], no[16];
		snprintf(all, sizeof(all), "%zu", x->q.n);
		snprintf(m, sizeof(m), "%u", cnt[0]);
		snprintf(r, sizeof(r), "%u", cnt[1]);
		snprintf(no, sizeof(no), "%u", cnt[2]);
		x->batching = true;
		x->epoch++;
		int rc = sim_conn_send_free(c, sim_node_add(sim_node("ib", NULL),
			sim_node("offline_preview", "count", all, "message", m, "receipt", r, "notification", no,
				"appdata", "0", "call", "0", NULL)));
		return rc ? rc : SIM_OFFLINE_LATER;
	}
	for (sim_qitem *it = x->q.head; it; it = it->next) {
		wa_node *node;
		if (sim_queue_item_node(it, &node) != 0)
			continue;
		if (wa_node_set_attr(node, "offline", "1") == 0 && sim_conn_send(c, node) == 0)
			n++;
		wa_node_free(node);
	}
	return n;
}

void sim_msg_offline_batch(struct sim *sim, struct sim_conn *c, unsigned count)
{
	struct sim_device *d = sim_conn_device(c);
	struct sim_dev_ext *x = d ? sim_dx(d) : NULL;
	(void)sim;
	if (!x || !x->batching)
		return;
	x->batches++;
	unsigned sent = 0;
	sim_qitem *it = x->q.head;
	for (; it && sent < count; it = it->next) {
		wa_node *node;
		if (it->sent_epoch == x->epoch || it->live)
			continue;
		it->sent_epoch = x->epoch;
		if (sim_queue_item_node(it, &node) != 0)
			continue;
		if (wa_node_set_attr(node, "offline", "1") == 0 && sim_conn_send(c, node) == 0)
			sent++;
		wa_node_free(node);
	}
	x->batch_sent += sent;
	while (it && (it->sent_epoch == x->epoch || it->live))
		it = it->next;
	if (it)
		return; /* more to come: the client asks again */
	/* the backlog is out: the end marker, then live delivery again */
	char ns[16];
	snprintf(ns, sizeof(ns), "%u", x->batch_sent);
	x->batching = false;
	SIM_IGNORE(sim_conn_send_free(c, sim_node_add(sim_node("ib", NULL), sim_node("offline", "count", ns, NULL))));
	/* what arrived for the device meanwhile was held back, not offline:
	 * it goes out now without the offline mark (a client files offline
	 * messages as history, not as new ones) */
	for (it = x->q.head; it; it = it->next) {
		wa_node *node;
		if (!it->live || it->sent_epoch == x->epoch)
			continue;
		it->sent_epoch = x->epoch;
		if (sim_queue_item_node(it, &node) != 0)
			continue;
		SIM_IGNORE(sim_conn_send(c, node));
		wa_node_free(node);
	}
}

/* <ack class id [type]> from a client: that item leaves its queue. */
static int handle_ack(struct sim *sim, struct sim_conn *c, const wa_node *n, void *user)
{
	struct sim_device *d = sim_conn_device(c);
	const char *id = wa_node_attr(n, "id");
	const char *cls = wa_node_attr(n, "class");
	(void)user;
	if (!d || !id || !d->ext)
		return 0;
	if (sim_queue_remove(&sim_dx(d)->q, cls, id))
		sim_msg_dirty(sim);
	return 0;
}

/* ---- persistence ---- */

static bool save_pending;

static void save_now(struct sim *sim, void *arg)
{
	(void)arg;
	save_pending = false;
	SIM_IGNORE(sim_save(sim));
}

void sim_msg_dirty(struct sim *sim)
{
	if (!sim->state_dir || save_pending)
		return;
	if (sim_defer(sim, 200, save_now, NULL) == 0)
		save_pending = true;
}

static json_t *b64_json(const uint8_t *p, size_t n)
{
	char *s = wa_b64_encode(p, n);
	json_t *j = s ? json_string(s) : NULL;
	free(s);
	return j;
}

/* Decodes a base64 member of exactly want bytes (want 0: any length). */
static int b64_get(const json_t *obj, const char *key, size_t want, uint8_t **out, size_t *len)
{
	const char *s = json_string_value(json_object_get(obj, key));
	if (!s || wa_b64_decode(s, strlen(s), out, len) != 0)
		return WA_EMALFORMED;
	if (want && *len != want) {
		free(*out);
		return WA_EMALFORMED;
	}
	return 0;
}

static json_t *keys_json(const sim_keys *k)
{
	json_t *o = json_object(), *l = json_array();
	if (!o || !l) {
		json_decref(o);
		json_decref(l);
		return NULL;
	}
	json_object_set_new(o, "regid", json_integer(k->regid));
	json_object_set_new(o, "identity", b64_json(k->identity, 32));
	json_object_set_new(o, "spk_id", json_integer(k->spk_id));
	json_object_set_new(o, "spk", b64_json(k->spk, 32));
	json_object_set_new(o, "spk_sig", b64_json(k->spk_sig, 64));
	for (size_t i = 0; i < k->n_otk; i++) {
		json_t *e = json_array();
		json_array_append_new(e, json_integer(k->otk[i].id));
		json_array_append_new(e, b64_json(k->otk[i].pub, 32));
		json_array_append_new(l, e);
	}
	json_object_set_new(o, "otk", l);
	return o;
}

static void keys_load(sim_keys *k, const json_t *o)
{
	uint8_t *ident = NULL, *spk = NULL, *sig = NULL;
	size_t n;
	size_t i;
	json_t *e;
	if (!json_is_object(o))
		return;
	if (b64_get(o, "identity", 32, &ident, &n) == 0 && b64_get(o, "spk", 32, &spk, &n) == 0 &&
	    b64_get(o, "spk_sig", 64, &sig, &n) == 0) {
		sim_keys_set_bundle(k, (uint32_t)json_integer_value(json_object_get(o, "regid")), ident,
			(uint32_t)json_integer_value(json_object_get(o, "spk_id")), spk, sig);
		k->uploaded = true;
		json_array_foreach(json_object_get(o, "otk"), i, e) {
			uint8_t *pub = NULL;
			json_t *one = json_array_get(e, 0);
			if (!json_is_integer(one))
				continue;
			const char *s = json_string_value(json_array_get(e, 1));
			if (!s || wa_b64_decode(s, strlen(s), &pub, &n) != 0)
				continue;
			if (n == 32)
				SIM_IGNORE(sim_keys_add_otk(k, (uint32_t)json_integer_value(one), pub));
			free(pub);
		}
	}
	free(ident);
	free(spk);
	free(sig);
}

static int device_save(struct sim *sim, const struct sim_device *d, json_t *obj, void *user)
{
	const struct sim_dev_ext *x = d->ext;
	json_t *q;
	(void)sim;
	(void)user;
	if (!x)
		return 0;
	if (x->keys.uploaded)
		json_object_set_new(obj, "prekeys", keys_json(&x->keys));
	q = json_array();
	if (!q)
		return WA_ENOMEM;
	for (const sim_qitem *it = x->q.head; it; it = it->next)
		json_array_append_new(q, b64_json(it->bytes, it->len));
	json_object_set_new(obj, "queue", q);
	json_object_set_new(obj, "history_sent", json_boolean(x->history_sent));
	return 0;
}

static int device_load(struct sim *sim, struct sim_device *d, const json_t *obj, void *user)
{
	struct sim_dev_ext *x = sim_dx(d);
	size_t i;
	json_t *e;
	(void)sim;
	(void)user;
	if (!x)
		return WA_ENOMEM;
	keys_load(&x->keys, json_object_get(obj, "prekeys"));
	x->history_sent = json_is_true(json_object_get(obj, "history_sent"));
	json_array_foreach(json_object_get(obj, "queue"), i, e) {
		const char *s = json_string_value(e);
		uint8_t *b;
		size_t n;
		wa_node *node;
		if (!s || wa_b64_decode(s, strlen(s), &b, &n) != 0)
			continue;
		/* through the bounded decoder: the state file is input too */
		if (wa_bin_decode_body(b, n, &node) == 0) {
			SIM_IGNORE(sim_queue_push(&x->q, node));
			wa_node_free(node);
		}
		free(b);
	}
	return 0;
}

static int account_load(struct sim *sim, struct sim_account *a, const json_t *obj, void *user)
{
	(void)user;
	/* The phone's Signal store lives in its own file in the state dir; on
	 * every start the phone publishes a fresh batch of one-time keys, so
	 * nothing about them is kept in the state file. */
	struct sim_acct_ext *x = sim_ax(sim, a);
	if (!x)
		return WA_ENOMEM;
	(void)obj;
	return 0;
}

static int account_created(struct sim *sim, struct sim_account *a, void *user)
{
	(void)user;
	return sim_ax(sim, a) ? 0 : WA_ENOMEM;
}

static void device_paired(struct sim *sim, struct sim_device *d, void *user)
{
	(void)user;
	(void)sim_dx(d);
	sim_usync_notify_devices(sim, d->acct, d->device, true);
	sim_msg_dirty(sim);
}

static void device_removed(struct sim *sim, struct sim_device *d, void *user)
{
	(void)user;
	dev_ext_free(d);
	if (sim_stopping(sim))
		return; /* shutdown, not an unpair: nobody to tell */
	sim_usync_notify_devices(sim, d->acct, d->device, false);
	sim_msg_dirty(sim);
}

static void conn_closed(struct sim *sim, struct sim_conn *c, void *user)
{
	struct sim_device *d = sim_conn_device(c);
	(void)sim;
	(void)user;
	if (d && d->ext) {
		sim_dx(d)->n_subs = 0;
		sim_dx(d)->batching = false;
	}
}

static void device_info(struct sim *sim, const struct sim_device *d, json_t *obj, void *user)
{
	const struct sim_dev_ext *x = d->ext;
	(void)sim;
	(void)user;
	json_object_set_new(obj, "queued", json_integer(x ? (json_int_t)x->q.n : 0));
	json_object_set_new(obj, "prekeys", json_integer(x ? (json_int_t)x->keys.n_otk : 0));
	json_object_set_new(obj, "uploaded", json_boolean(x && x->keys.uploaded));
	json_object_set_new(obj, "msgs_in", json_integer(x ? (json_int_t)x->msgs_in : 0));
	json_object_set_new(obj, "dup_copies", json_integer(x ? (json_int_t)x->dup_copies : 0));
	json_object_set_new(obj, "offline_batches", json_integer(x ? (json_int_t)x->batches : 0));
	json_object_set_new(obj, "offline_batch_sent", json_integer(x ? (json_int_t)x->batch_sent : 0));
	json_object_set_new(obj, "batching", json_boolean(x && x->batching));
	json_object_set_new(obj, "hist_sends", json_integer(x ? (json_int_t)x->hist_sends : 0));
	json_object_set_new(obj, "hist_id", json_string(x ? x->hist_id : ""));
	json_object_set_new(obj, "hist_acked", json_boolean(x && x->hist_acked));
	json_object_set_new(obj, "presence", json_string(x ? x->presence : ""));
	json_object_set_new(obj, "presence_name", json_string(x ? x->presence_name : ""));
	json_t *rl = json_array();
	for (size_t i = 0; x && rl && i < x->n_rcpts; i++) {
		size_t k = (x->rcpt_next + SIM_MSG_RCPT_LOG - x->n_rcpts + i) % SIM_MSG_RCPT_LOG;
		json_array_append_new(rl, json_pack("{s:s,s:s}", "id", x->rcpt_log[k].id, "type",
			x->rcpt_log[k].type));
	}
	json_object_set_new(obj, "receipts_sent", rl);
	json_t *items = json_array();
	for (const sim_qitem *it = x ? x->q.head : NULL; it && items; it = it->next) {
		json_t *e = json_object();
		json_object_set_new(e, "class", json_string(it->cls));
		json_object_set_new(e, "id", json_string(it->id));
		json_array_append_new(items, e);
	}
	json_object_set_new(obj, "queue", items);
}

static void account_info(struct sim *sim, const struct sim_account *a, json_t *obj, void *user)
{
	const struct sim_acct_ext *x = a->ext;
	(void)sim;
	(void)user;
	json_object_set_new(obj, "phone_prekeys", json_integer(x ? (json_int_t)x->phone_keys.n_otk : 0));
	json_object_set_new(obj, "available", json_boolean(x && x->available));
	json_t *g = json_array();
	for (size_t i = 0; x && g && i < x->n_grants; i++)
		json_array_append_new(g, json_string(x->grants[i].to->phone));
	json_object_set_new(obj, "tctokens_issued", g);
	json_t *gi = json_object();
	for (size_t i = 0; x && gi && i < x->n_grants; i++)
		json_object_set_new(gi, x->grants[i].to->phone, json_integer(x->grants[i].issues));
	json_object_set_new(obj, "tctoken_issues", gi);
	json_object_set_new(obj, "tctoken_refused", json_integer(x ? (json_int_t)x->tctoken_refused : 0));
}

static void shutdown_hook(struct sim *sim, void *user)
{
	(void)user;
	for (size_t i = 0;; i++) {
		struct sim_account *a = sim_account_at(sim, i);
		if (!a)
			break;
		for (size_t k = 0; k < a->n_devices; k++)
			dev_ext_free(a->devices[k]);
		struct sim_acct_ext *x = a->ext;
		if (x) {
			sim_phone_free(x->phone);
			sim_keys_clear(&x->phone_keys);
			free(x->watchers);
			free(x->grants);
			free(x);
			a->ext = NULL;
		}
	}
	sim_phone_shutdown();
	sim_media_shutdown();
	sim_mretry_shutdown();
	sim_history_shutdown();
	sim_profile_shutdown();
	/* the core frees accounts and devices after this: no more callbacks
	 * into freed module state (device_removed would notify peers) */
	memset(&sim->hooks, 0, sizeof(sim->hooks));
}

/* {"phone", "device", "tag", "attrs": {k: string}}: a bare stanza (no
 * children) delivered to that device like any other (queued until it is
 * acked or receipted), for malformed-input tests. */
static int h_deliver(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp, void *user)
{
	const char *phone = json_string_value(json_object_get(req->json, "phone"));
	const char *tag = json_string_value(json_object_get(req->json, "tag"));
	json_t *attrs = json_object_get(req->json, "attrs");
	json_t *dv = json_object_get(req->json, "device");
	struct sim_account *a = phone ? sim_account_find(sim, phone) : NULL;
	const char *k;
	json_t *v;
	(void)user;
	if (!a || !json_is_integer(dv) || !sim_device_exists(a, (uint32_t)json_integer_value(dv))) {
		sim_http_error(resp, 404, "no such device");
		return 0;
	}
	if (!tag || !*tag || (attrs && !json_is_object(attrs))) {
		sim_http_error(resp, 400, "need \"tag\" and an \"attrs\" object");
		return 0;
	}
	wa_node *n = sim_node(tag, NULL);
	json_object_foreach(attrs, k, v) {
		if (n && (!json_is_string(v) || wa_node_set_attr(n, k, json_string_value(v)) != 0)) {
			wa_node_free(n);
			n = NULL;
		}
	}
	if (!n) {
		sim_http_error(resp, 400, "bad attrs");
		return 0;
	}
	if (sim_msg_deliver(sim, a, (uint32_t)json_integer_value(dv), n) != 0) {
		sim_http_error(resp, 500, "deliver failed");
		return 0;
	}
	sim_http_json(resp, 200, json_pack("{s:b}", "ok", 1));
	return 0;
}

int sim_msg_init(struct sim *sim)
{
	int rc;
	if ((rc = sim_http_register(sim, "POST", "/_sim/deliver", h_deliver, NULL)))
		return rc;
	sim->hooks.flush_offline = flush_offline;
	sim->hooks.account_created = account_created;
	sim->hooks.device_paired = device_paired;
	sim->hooks.device_removed = device_removed;
	sim->hooks.conn_closed = conn_closed;
	sim->hooks.account_load = account_load;
	sim->hooks.device_save = device_save;
	sim->hooks.device_load = device_load;
	sim->hooks.device_info = device_info;
	sim->hooks.account_info = account_info;
	sim->hooks.shutdown = shutdown_hook;
	if ((rc = sim_handler_register(sim, "ack", handle_ack, NULL)))
		return rc;
	if ((rc = sim_usync_init(sim)) || (rc = sim_prekeys_init(sim)) || (rc = sim_route_init(sim)) || (rc = sim_groups_init(sim)) ||
	    (rc = sim_receipts_init(sim)) || (rc = sim_presence_init(sim)) || (rc = sim_iq_misc_init(sim)) ||
	    (rc = sim_phone_init(sim)) || (rc = sim_media_init(sim)) || (rc = sim_mretry_init(sim)) ||
	    (rc = sim_history_init(sim)) || (rc = sim_seed_init(sim)))
		return rc;
	return 0;
}
