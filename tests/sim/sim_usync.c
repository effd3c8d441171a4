/* wasim usync: device lists, LIDs and "is on WhatsApp" answers
 * (messaging.md §1), and <notification type="devices"> when an account's
 * companions change. Requested JIDs are echoed exactly; every companion has
 * key-index >= 1 (Baileys drops devices without one). */
#include "sim_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "util/codec.h"

/* <devices><device-list><device id="0"/><device id="N" key-index="K"/>...
 * </device-list><key-index-list ts/></devices> */
static wa_node *devices_node(struct sim_account *a)
{
	char ts[32], num[16];
	wa_node *list = sim_node("device-list", NULL);
	wa_node *dev = sim_node("devices", NULL);
	int64_t newest = 0;
	if (!list || !dev) {
		wa_node_free(list);
		wa_node_free(dev);
		return NULL;
	}
	list = sim_node_add(list, sim_node("device", "id", "0", NULL));
	for (size_t i = 0; list && i < a->n_devices; i++) {
		char ki[16];
		snprintf(num, sizeof(num), "%u", a->devices[i]->device);
		snprintf(ki, sizeof(ki), "%u", a->devices[i]->key_index ? a->devices[i]->key_index : 1);
		list = sim_node_add(list, sim_node("device", "id", num, "key-index", ki, NULL));
		if (a->devices[i]->paired_at > newest)
			newest = a->devices[i]->paired_at;
	}
	if (!list) {
		wa_node_free(dev);
		return NULL;
	}
	sim_msg_tstr(ts, sizeof(ts), newest ? newest : sim_now());
	dev = sim_node_add(dev, list);
	/* Neither client verifies the signed key-index list; Baileys reads ts. */
	wa_node *kil = sim_node_bytes("key-index-list", "", 0);
	if (kil && wa_node_set_attr(kil, "ts", ts) != 0) {
		wa_node_free(kil);
		kil = NULL;
	}
	return dev ? sim_node_add(dev, kil) : (wa_node_free(kil), NULL);
}

/* What the clients asked by usync (GET /_sim/usync): iqs, users listed in
 * all of them, and the most in one; POST /_sim/usync/reset zeroes them. A
 * test reads them to see how many device lists a client refreshes at once. */
static struct {
	unsigned long iqs, users, max_users;
} asked;

static bool has_query(const wa_node *query, const char *tag)
{
	return query && wa_node_child(query, tag) != NULL;
}

/* Remembers that asker cached a's device list (see sim_acct_ext). */
static void watch_add(struct sim *sim, struct sim_account *a, struct sim_account *asker)
{
	struct sim_acct_ext *x = sim_ax(sim, a);
	if (!x || !asker || asker == a)
		return;
	for (size_t i = 0; i < x->n_watchers; i++)
		if (x->watchers[i] == asker)
			return;
	if (x->n_watchers == x->cap_watchers) {
		size_t cap = x->cap_watchers ? 2 * x->cap_watchers : 4;
		struct sim_account **w = realloc(x->watchers, cap * sizeof(*w));
		if (!w)
			return;
		x->watchers = w;
		x->cap_watchers = cap;
	}
	x->watchers[x->n_watchers++] = asker;
}

/* One <user> of the answer for one <user> of the request. */
static wa_node *user_answer(struct sim *sim, const wa_node *req, const wa_node *query,
	struct sim_account *asker)
{
	const char *jid = wa_node_attr(req, "jid");
	const wa_node *contact = wa_node_child(req, "contact");
	struct sim_addr ad;
	char buf[SIM_MSG_JID_MAX];
	wa_node *u;
	bool known;
	if (!jid && contact) {
		/* is-on-WhatsApp by phone number: "+15551234567" */
		const uint8_t *p;
		size_t len, k = 0;
		char digits[SIM_MAX_PHONE + 1];
		if (wa_node_content_bytes(contact, &p, &len) != 0)
			return NULL;
		for (size_t i = 0; i < len && k < SIM_MAX_PHONE; i++)
			if (p[i] >= '0' && p[i] <= '9')
				digits[k++] = (char)p[i];
		digits[k] = '\0';
		snprintf(buf, sizeof(buf), "%s@s.whatsapp.net", digits);
		jid = buf;
	}
	if (!jid)
		return NULL;
	known = sim_addr_parse(sim, jid, &ad) == 0;
	u = sim_node("user", "jid", jid, NULL);
	if (!u)
		return NULL;
	if (has_query(query, "contact"))
		u = sim_node_add(u, sim_node("contact", "type", known ? "in" : "out", NULL));
	if (!known)
		return u;
	if (u && has_query(query, "devices")) {
		u = sim_node_add(u, devices_node(ad.acct));
		watch_add(sim, ad.acct, asker);
	}
	if (u && has_query(query, "lid") && !ad.lid) {
		sim_jid_user(ad.acct, true, buf, sizeof(buf));
		u = sim_node_add(u, sim_node("lid", "val", buf, NULL));
	}
	if (u && has_query(query, "status"))
		u = sim_node_add(u, sim_profile_status_node(ad.acct, asker));
	if (u && has_query(query, "disappearing_mode"))
		u = sim_node_add(u, sim_node("disappearing_mode", "duration", "0", "t", "0", NULL));
	return u;
}

static int iq_usync(struct sim *sim, struct sim_conn *c, const wa_node *iq, void *user)
{
	const wa_node *us = wa_node_child(iq, "usync");
	const wa_node *query = us ? wa_node_child(us, "query") : NULL;
	const wa_node *list = us ? wa_node_child(us, "list") : NULL;
	wa_node *out_us, *out_list;
	(void)user;
	if (!us || !query || !list)
		return sim_iq_error(c, iq, 400, "bad-request");
	out_us = sim_node("usync", "sid", wa_node_attr(us, "sid"), "mode", wa_node_attr(us, "mode"),
		"context", wa_node_attr(us, "context"), "last", "true", "index", "0", NULL);
	out_list = sim_node("list", NULL);
	if (!out_us || !out_list) {
		wa_node_free(out_us);
		wa_node_free(out_list);
		return sim_iq_error(c, iq, 500, "internal-error");
	}
	unsigned long nu = 0;
	for (size_t i = 0; i < wa_node_n_children(list) && out_list; i++) {
		const wa_node *req = wa_node_child_at(list, i);
		if (strcmp(wa_node_tag(req), "user") != 0)
			continue;
		nu++;
		struct sim_device *me = sim_conn_device(c);
		wa_node *ans = user_answer(sim, req, query, me ? me->acct : NULL);
		if (ans)
			out_list = sim_node_add(out_list, ans);
	}
	asked.iqs++;
	asked.users += nu;
	if (nu > asked.max_users)
		asked.max_users = nu;
	out_us = sim_node_add(out_us, sim_node("result", NULL));
	out_us = out_us ? sim_node_add(out_us, out_list) : (wa_node_free(out_list), NULL);
	if (!out_us)
		return sim_iq_error(c, iq, 500, "internal-error");
	return sim_iq_result(c, iq, out_us);
}

/* whatsmeow participantListHashV2 over the account's devices (AD strings
 * "user.0:dev@server", sorted), "2:" + base64 of the first 6 bytes. */
static void device_hash(struct sim_account *a, bool lid, char *out, size_t cap)
{
	/* devices are kept in pairing order with increasing numbers; device 0
	 * first, so the AD strings are already sorted by device digits only
	 * when they have equal length: sort properly. */
	char items[65][SIM_MSG_JID_MAX];
	size_t n = 0;
	snprintf(items[n++], SIM_MSG_JID_MAX, "%s.0:0@%s", lid ? a->lid : a->phone, lid ? "lid" : "s.whatsapp.net");
	for (size_t i = 0; i < a->n_devices && n < 65; i++)
		snprintf(items[n++], SIM_MSG_JID_MAX, "%s.0:%u@%s", lid ? a->lid : a->phone, a->devices[i]->device,
			lid ? "lid" : "s.whatsapp.net");
	for (size_t i = 1; i < n; i++)
		for (size_t k = i; k > 0 && strcmp(items[k - 1], items[k]) > 0; k--) {
			char tmp[SIM_MSG_JID_MAX];
			memcpy(tmp, items[k], sizeof(tmp));
			memcpy(items[k], items[k - 1], sizeof(tmp));
			memcpy(items[k - 1], tmp, sizeof(tmp));
		}
	char all[sizeof(items)];
	size_t len = 0;
	uint8_t dg[WA_SHA256_LEN];
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(items[i]);
		memcpy(all + len, items[i], l);
		len += l;
	}
	wa_sha256(dg, all, len);
	char *b = wa_b64_encode(dg, 6);
	snprintf(out, cap, "2:%s", b ? b : "");
	free(b);
}

void sim_usync_notify_devices(struct sim *sim, struct sim_account *a, uint32_t dev, bool added)
{
	/* Baileys only applies add/remove to a list it has cached under that
	 * user (PN or LID), so name the device in both namespaces. */
	char from[SIM_MSG_JID_MAX], lid[SIM_MSG_JID_MAX], pnj[SIM_MSG_JID_MAX], lidj[SIM_MSG_JID_MAX];
	char id[48], t[32], hash[32], ki[16];
	struct sim_device *d = sim_device_find(a, dev);
	sim_jid_user(a, false, from, sizeof(from));
	sim_jid_user(a, true, lid, sizeof(lid));
	sim_jid_device(a, false, dev, pnj, sizeof(pnj));
	sim_jid_device(a, true, dev, lidj, sizeof(lidj));
	device_hash(a, false, hash, sizeof(hash));
	snprintf(ki, sizeof(ki), "%u", d && d->key_index ? d->key_index : 1);
	sim_msg_tstr(t, sizeof(t), sim_now());
	/* Default: every device of every account (the e2e tests' clients learn
	 * peers' LIDs from it). --device-notify watchers: the account's own
	 * companions and the accounts that cached the list, as a real server
	 * tells contacts; bulk benchmarks need it, since notifying everyone
	 * makes each pairing cost O(accounts). */
	struct sim_acct_ext *ax = sim_ax(sim, a);
	bool narrow = sim->notify_watchers_only;
	size_t n_to = narrow ? 1 + (ax ? ax->n_watchers : 0) : SIZE_MAX;
	for (size_t i = 0; i < n_to; i++) {
		struct sim_account *b = narrow ? (i == 0 ? a : ax->watchers[i - 1]) : sim_account_at(sim, i);
		if (!b)
			break;
		for (size_t k = 0; k < b->n_devices; k++) {
			struct sim_device *to = b->devices[k];
			if (to == d)
				continue; /* the new device learns its own list by usync */
			sim_new_id(sim, id, sizeof(id));
			wa_node *ch = sim_node(added ? "add" : "remove", "device_hash", hash, NULL);
			ch = sim_node_add(ch, sim_node("device", "jid", pnj, "key-index", added ? ki : NULL, NULL));
			ch = sim_node_add(ch, sim_node("device", "jid", lidj, "key-index", added ? ki : NULL, NULL));
			wa_node *n = sim_node("notification", "from", from, "type", "devices", "id", id, "t", t,
				"lid", lid, NULL);
			n = n ? sim_node_add(n, ch) : (wa_node_free(ch), NULL);
			if (n)
				SIM_IGNORE(sim_msg_deliver(sim, b, to->device, n));
		}
	}
}

static int h_usync(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp, void *user)
{
	(void)sim;
	(void)user;
	if (strcmp(req->method, "POST") == 0)
		memset(&asked, 0, sizeof asked);
	sim_http_json(resp, 200, json_pack("{s:I,s:I,s:I}", "iqs", (json_int_t)asked.iqs, "users",
		(json_int_t)asked.users, "max_users", (json_int_t)asked.max_users));
	return 0;
}

int sim_usync_init(struct sim *sim)
{
	int rc = sim_iq_register(sim, "usync", NULL, iq_usync, NULL);
	rc = rc ? rc : sim_http_register(sim, "POST", "/_sim/usync/reset", h_usync, NULL);
	return rc ? rc : sim_http_register(sim, "GET", "/_sim/usync", h_usync, NULL);
}
