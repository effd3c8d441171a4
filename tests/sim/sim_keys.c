/* wasim pre-key directory: per-device bundles as uploaded, handed out with
 * one-time keys consumed once (messaging.md §2, transport-and-pairing.md §8).
 * Every field read off an upload is length-checked: ids 3 bytes, keys 32,
 * signature 64, registration 4 (whatsmeow rejects other sizes on fetch). */
#include "sim_keys.h"

#include <stdlib.h>
#include <string.h>

static int child_fixed(const wa_node *n, const char *tag, size_t want, const uint8_t **out)
{
	const wa_node *c = wa_node_child(n, tag);
	const uint8_t *p;
	size_t len;
	if (!c || wa_node_content_bytes(c, &p, &len) != 0 || len != want)
		return WA_EMALFORMED;
	*out = p;
	return 0;
}

static uint32_t be(const uint8_t *p, size_t n)
{
	uint32_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/* <skey><id>[3]</id><value>[32]</value><signature>[64]</signature></skey> */
static int parse_skey(const wa_node *skey, uint32_t *id, const uint8_t **pub, const uint8_t **sig)
{
	const uint8_t *idp;
	if (!skey || child_fixed(skey, "id", 3, &idp) != 0 || child_fixed(skey, "value", 32, pub) != 0 ||
	    child_fixed(skey, "signature", 64, sig) != 0)
		return WA_EMALFORMED;
	*id = be(idp, 3);
	return 0;
}

int sim_keys_add_otk(sim_keys *k, uint32_t id, const uint8_t pub[32])
{
	for (size_t i = 0; i < k->n_otk; i++) {
		if (k->otk[i].id == id) {
			memcpy(k->otk[i].pub, pub, 32);
			return 0;
		}
	}
	if (k->n_otk >= SIM_KEYS_MAX_OTK)
		return WA_ETOOBIG;
	if (k->n_otk == k->cap_otk) {
		size_t cap = k->cap_otk ? k->cap_otk * 2 : 64;
		sim_otk *p = realloc(k->otk, cap * sizeof(*p));
		if (!p)
			return WA_ENOMEM;
		k->otk = p;
		k->cap_otk = cap;
	}
	k->otk[k->n_otk].id = id;
	memcpy(k->otk[k->n_otk].pub, pub, 32);
	k->n_otk++;
	return 0;
}

int sim_keys_upload(sim_keys *k, const wa_node *iq)
{
	const uint8_t *reg, *type, *ident, *spk, *sig;
	uint32_t spk_id;
	const wa_node *list = wa_node_child(iq, "list");
	if (child_fixed(iq, "registration", 4, &reg) != 0 || child_fixed(iq, "type", 1, &type) != 0 ||
	    type[0] != 0x05 || child_fixed(iq, "identity", 32, &ident) != 0 ||
	    parse_skey(wa_node_child(iq, "skey"), &spk_id, &spk, &sig) != 0)
		return WA_EMALFORMED;
	/* validate the whole list before changing anything */
	size_t n = list ? wa_node_n_children(list) : 0;
	for (size_t i = 0; i < n; i++) {
		const wa_node *key = wa_node_child_at(list, i);
		const uint8_t *idp, *pub;
		if (strcmp(wa_node_tag(key), "key") != 0 || child_fixed(key, "id", 3, &idp) != 0 ||
		    child_fixed(key, "value", 32, &pub) != 0)
			return WA_EMALFORMED;
	}
	if (k->n_otk + n > SIM_KEYS_MAX_OTK)
		return WA_ETOOBIG;
	/* A new identity means a re-registered device: old keys are void. */
	if (k->has_bundle && memcmp(k->identity, ident, 32) != 0)
		k->n_otk = 0;
	sim_keys_set_bundle(k, be(reg, 4), ident, spk_id, spk, sig);
	k->uploaded = true;
	for (size_t i = 0; i < n; i++) {
		const wa_node *key = wa_node_child_at(list, i);
		const uint8_t *idp = NULL, *pub = NULL;
		int rc = child_fixed(key, "id", 3, &idp);
		if (!rc)
			rc = child_fixed(key, "value", 32, &pub);
		if (!rc)
			rc = sim_keys_add_otk(k, be(idp, 3), pub);
		if (rc)
			return rc;
	}
	return 0;
}

int sim_keys_rotate(sim_keys *k, const wa_node *rotate)
{
	const uint8_t *spk, *sig;
	uint32_t id;
	if (!k->has_bundle)
		return WA_ESTATE;
	if (parse_skey(wa_node_child(rotate, "skey"), &id, &spk, &sig) != 0)
		return WA_EMALFORMED;
	k->spk_id = id;
	memcpy(k->spk, spk, 32);
	memcpy(k->spk_sig, sig, 64);
	return 0;
}

void sim_keys_set_bundle(sim_keys *k, uint32_t regid, const uint8_t identity[32], uint32_t spk_id,
	const uint8_t spk[32], const uint8_t sig[64])
{
	k->has_bundle = true;
	k->regid = regid;
	memcpy(k->identity, identity, 32);
	k->spk_id = spk_id;
	memcpy(k->spk, spk, 32);
	memcpy(k->spk_sig, sig, 64);
}

size_t sim_keys_count(const sim_keys *k)
{
	return k->n_otk;
}

bool sim_keys_take_otk(sim_keys *k, sim_otk *out)
{
	if (k->n_otk == 0)
		return false;
	*out = k->otk[0];
	memmove(k->otk, k->otk + 1, (k->n_otk - 1) * sizeof(*k->otk));
	k->n_otk--;
	return true;
}

int sim_node_add_bytes(wa_node *parent, const char *tag, const void *p, size_t len)
{
	wa_node *c;
	int rc = wa_node_add_new(parent, tag, &c);
	if (rc)
		return rc;
	return wa_node_set_bytes(c, p, len);
}

int sim_node_add_key(wa_node *parent, const char *tag, uint32_t id, const uint8_t pub[32], const uint8_t *sig)
{
	wa_node *c;
	uint8_t idb[3] = { (uint8_t)(id >> 16), (uint8_t)(id >> 8), (uint8_t)id };
	int rc = wa_node_add_new(parent, tag, &c);
	if (rc == 0)
		rc = sim_node_add_bytes(c, "id", idb, 3);
	if (rc == 0)
		rc = sim_node_add_bytes(c, "value", pub, 32);
	if (rc == 0 && sig)
		rc = sim_node_add_bytes(c, "signature", sig, 64);
	return rc;
}

int sim_keys_add_user_node(sim_keys *k, wa_node *parent, const char *jid)
{
	wa_node *user;
	uint8_t reg[4] = { (uint8_t)(k->regid >> 24), (uint8_t)(k->regid >> 16), (uint8_t)(k->regid >> 8),
		(uint8_t)k->regid };
	static const uint8_t type = 0x05;
	sim_otk otk;
	if (!k->has_bundle)
		return WA_ENOTFOUND;
	int rc = wa_node_add_new(parent, "user", &user);
	if (rc == 0)
		rc = wa_node_set_attr(user, "jid", jid);
	if (rc == 0)
		rc = sim_node_add_bytes(user, "registration", reg, 4);
	if (rc == 0)
		rc = sim_node_add_bytes(user, "type", &type, 1);
	if (rc == 0)
		rc = sim_node_add_bytes(user, "identity", k->identity, 32);
	if (rc == 0)
		rc = sim_node_add_key(user, "skey", k->spk_id, k->spk, k->spk_sig);
	if (rc == 0 && sim_keys_take_otk(k, &otk))
		rc = sim_node_add_key(user, "key", otk.id, otk.pub, NULL);
	return rc;
}

void sim_keys_clear(sim_keys *k)
{
	free(k->otk);
	memset(k, 0, sizeof(*k));
}
