/* wasim pre-key iqs (xmlns "encrypt", messaging.md §2): upload, count,
 * digest, rotate and bundle fetch. Bundles are answered under the exact JID
 * requested (PN or LID name the same device); one-time keys are consumed
 * once, and a device whose stock falls low gets the encrypt count
 * notification both clients answer with a top-up. */
#include "sim_msg.h"

#include <stdio.h>
#include <string.h>

#define SIM_OTK_LOW 5 /* both clients upload when told value < 5 */

static void notify_low(struct sim *sim, struct sim_device *d)
{
	char id[48], t[32], cnt[16];
	sim_new_id(sim, id, sizeof(id));
	sim_msg_tstr(t, sizeof(t), sim_now());
	snprintf(cnt, sizeof(cnt), "%zu", sim_dx(d)->keys.n_otk);
	wa_node *n = sim_node("notification", "from", "s.whatsapp.net", "type", "encrypt", "id", id, "t", t, NULL);
	n = sim_node_add(n, sim_node("count", "value", cnt, NULL));
	if (n)
		SIM_IGNORE(sim_msg_deliver(sim, d->acct, d->device, n));
}

/* The keys of device dev (0: the phone), or NULL. For a companion that has
 * not uploaded yet, its registration payload gives a signed-only bundle. */
static sim_keys *keys_of(struct sim *sim, struct sim_account *a, uint32_t dev)
{
	if (dev == 0) {
		struct sim_acct_ext *x = sim_ax(sim, a);
		if (x && x->phone_keys.n_otk < SIM_PHONE_OTK_LOW)
			SIM_IGNORE(sim_phone_refill(sim, a));
		return x ? &x->phone_keys : NULL;
	}
	struct sim_device *d = sim_device_find(a, dev);
	struct sim_dev_ext *x = d ? sim_dx(d) : NULL;
	if (!x)
		return NULL;
	if (!x->keys.has_bundle)
		sim_keys_set_bundle(&x->keys, d->regid, d->identity, d->spk_id, d->spk_pub, d->spk_sig);
	return &x->keys;
}

static void after_take(struct sim *sim, struct sim_account *a, uint32_t dev)
{
	struct sim_device *d = dev ? sim_device_find(a, dev) : NULL;
	sim_msg_dirty(sim);
	if (d && sim_dx(d)->keys.n_otk < SIM_OTK_LOW && sim_dx(d)->keys.n_otk + 1 >= SIM_OTK_LOW)
		notify_low(sim, d); /* once, when crossing the mark */
}

int sim_prekeys_user_node(struct sim *sim, struct sim_account *a, uint32_t dev, wa_node *parent, const char *jid)
{
	sim_keys *k = keys_of(sim, a, dev);
	int rc;
	if (!k)
		return WA_ENOTFOUND;
	rc = sim_keys_add_user_node(k, parent, jid);
	if (rc == 0)
		after_take(sim, a, dev);
	return rc;
}

int sim_prekeys_take_bundle(struct sim *sim, struct sim_account *a, uint32_t dev, uint32_t *regid,
	uint8_t identity[32], uint32_t *spk_id, uint8_t spk[32], uint8_t sig[64], bool *has_otk, sim_otk *otk)
{
	sim_keys *k = keys_of(sim, a, dev);
	if (!k || !k->has_bundle)
		return WA_ENOTFOUND;
	*regid = k->regid;
	memcpy(identity, k->identity, 32);
	*spk_id = k->spk_id;
	memcpy(spk, k->spk, 32);
	memcpy(sig, k->spk_sig, 64);
	*has_otk = sim_keys_take_otk(k, otk);
	after_take(sim, a, dev);
	return 0;
}

/* type="get" <key><user jid [reason]/>...</key> */
static int iq_fetch(struct sim *sim, struct sim_conn *c, const wa_node *iq, void *user)
{
	const wa_node *key = wa_node_child(iq, "key");
	wa_node *list = sim_node("list", NULL);
	(void)user;
	if (!list)
		return sim_iq_error(c, iq, 500, "internal-error");
	for (size_t i = 0; key && i < wa_node_n_children(key); i++) {
		const wa_node *u = wa_node_child_at(key, i);
		const char *jid = wa_node_attr(u, "jid");
		struct sim_addr ad;
		if (strcmp(wa_node_tag(u), "user") != 0 || sim_addr_parse(sim, jid, &ad) != 0)
			continue;
		if (!sim_device_exists(ad.acct, ad.device))
			continue; /* Baileys fails the whole send on an <error> user: omit it */
		SIM_IGNORE(sim_prekeys_user_node(sim, ad.acct, ad.device, list, jid));
	}
	return sim_iq_result(c, iq, list);
}

static int iq_upload(struct sim *sim, struct sim_conn *c, const wa_node *iq, void *user)
{
	struct sim_device *d = sim_conn_device(c);
	struct sim_dev_ext *x = d ? sim_dx(d) : NULL;
	const char *type = wa_node_attr(iq, "type");
	(void)user;
	if (!x)
		return sim_iq_error(c, iq, 500, "internal-error");
	if (!type || strcmp(type, "set") != 0 || !wa_node_child(iq, "registration"))
		return sim_iq_error(c, iq, 400, "bad-request");
	if (sim_keys_upload(&x->keys, iq) != 0)
		return sim_iq_error(c, iq, 400, "bad-request");
	sim_msg_dirty(sim);
	return sim_iq_result(c, iq, NULL);
}

static int iq_count(struct sim *sim, struct sim_conn *c, const wa_node *iq, void *user)
{
	struct sim_device *d = sim_conn_device(c);
	struct sim_dev_ext *x = d ? sim_dx(d) : NULL;
	char n[16];
	(void)sim;
	(void)user;
	snprintf(n, sizeof(n), "%zu", x ? x->keys.n_otk : 0);
	return sim_iq_result(c, iq, sim_node("count", "value", n, NULL));
}

/* Baileys only checks for a <digest> child, and re-uploads without one:
 * answer with one only when this device has uploaded a bundle. */
static int iq_digest(struct sim *sim, struct sim_conn *c, const wa_node *iq, void *user)
{
	struct sim_device *d = sim_conn_device(c);
	struct sim_dev_ext *x = d ? sim_dx(d) : NULL;
	(void)sim;
	(void)user;
	if (!x || !x->keys.uploaded || x->keys.n_otk == 0)
		return sim_iq_result(c, iq, NULL);
	uint8_t reg[4] = { (uint8_t)(x->keys.regid >> 24), (uint8_t)(x->keys.regid >> 16),
		(uint8_t)(x->keys.regid >> 8), (uint8_t)x->keys.regid };
	static const uint8_t type = 5;
	wa_node *dg = sim_node("digest", NULL);
	if (dg && (sim_node_add_bytes(dg, "type", &type, 1) || sim_node_add_bytes(dg, "registration", reg, 4) ||
		   sim_node_add_bytes(dg, "identity", x->keys.identity, 32) ||
		   sim_node_add_key(dg, "skey", x->keys.spk_id, x->keys.spk, x->keys.spk_sig))) {
		wa_node_free(dg);
		dg = NULL;
	}
	if (!dg)
		return sim_iq_error(c, iq, 500, "internal-error");
	return sim_iq_result(c, iq, dg);
}

static int iq_rotate(struct sim *sim, struct sim_conn *c, const wa_node *iq, void *user)
{
	struct sim_device *d = sim_conn_device(c);
	sim_keys *k = d ? keys_of(sim, d->acct, d->device) : NULL;
	(void)user;
	if (!k || sim_keys_rotate(k, wa_node_child(iq, "rotate")) != 0)
		return sim_iq_error(c, iq, 400, "bad-request");
	sim_msg_dirty(sim);
	return sim_iq_result(c, iq, NULL);
}

int sim_prekeys_init(struct sim *sim)
{
	int rc = 0;
	rc = rc ? rc : sim_iq_register(sim, "encrypt", NULL, iq_upload, NULL);
	rc = rc ? rc : sim_iq_register(sim, "encrypt", "registration", iq_upload, NULL);
	rc = rc ? rc : sim_iq_register(sim, "encrypt", "count", iq_count, NULL);
	rc = rc ? rc : sim_iq_register(sim, "encrypt", "digest", iq_digest, NULL);
	rc = rc ? rc : sim_iq_register(sim, "encrypt", "key", iq_fetch, NULL);
	rc = rc ? rc : sim_iq_register(sim, "encrypt", "rotate", iq_rotate, NULL);
	return rc;
}
