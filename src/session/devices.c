/* Pre-key bundle fetch (messaging.md §2): the `encrypt` iq naming the
 * devices we have no session with, and the parser of its answer and of the
 * same children inside a retry receipt's <keys>. Sizes are fixed by the
 * protocol (registration 4, identity 32, key id 3, key 32, signature 64) and
 * anything else is refused, as whatsmeow refuses it. */
#include <stdlib.h>
#include <string.h>

#include "session/msg.h"

int wa_prekey_build_fetch(const char *iq_id, const char *const *jids, size_t n, bool force,
	wa_node **out)
{
	if (!iq_id || !jids || n == 0 || !out)
		return WA_EINVAL;
	wa_node *iq = NULL, *key, *u;
	int rc = wa_node_new(&iq, "iq");
	if (rc == 0)
		rc = wa_node_set_attr(iq, "id", iq_id);
	if (rc == 0)
		rc = wa_node_set_attr(iq, "xmlns", "encrypt");
	if (rc == 0)
		rc = wa_node_set_attr(iq, "type", "get");
	if (rc == 0)
		rc = wa_node_set_attr(iq, "to", "s.whatsapp.net");
	if (rc == 0)
		rc = wa_node_add_new(iq, "key", &key);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = wa_node_add_new(key, "user", &u);
		if (rc == 0)
			rc = wa_node_set_attr(u, "jid", jids[i]);
		if (rc == 0 && force)
			rc = wa_node_set_attr(u, "reason", "identity");
	}
	if (rc != 0) {
		wa_node_free(iq);
		return rc;
	}
	*out = iq;
	return 0;
}

static int fixed(const wa_node *parent, const char *tag, size_t len, const uint8_t **p)
{
	const wa_node *c = parent ? wa_node_child(parent, tag) : NULL;
	size_t l = 0;
	if (!c || wa_node_content_bytes(c, p, &l) != 0 || l != len)
		return WA_EMALFORMED;
	return 0;
}

static uint32_t be(const uint8_t *p, size_t n)
{
	uint32_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

int wa_prekey_parse_bundle(const wa_node *keys, const wa_node *reg_node, wa_sig_bundle *out)
{
	if (!keys || !out)
		return WA_EINVAL;
	wa_sig_bundle b;
	memset(&b, 0, sizeof b);
	const uint8_t *p;
	size_t l;
	if (!reg_node || wa_node_content_bytes(reg_node, &p, &l) != 0 || l != 4)
		return WA_EMALFORMED;
	b.registration_id = be(p, 4);
	if (fixed(keys, "identity", WA_SIG_KEY_LEN, &p) != 0)
		return WA_EMALFORMED;
	memcpy(b.identity, p, WA_SIG_KEY_LEN);
	const wa_node *sk = wa_node_child(keys, "skey");
	if (!sk || fixed(sk, "id", 3, &p) != 0)
		return WA_EMALFORMED;
	b.signed_prekey_id = be(p, 3);
	if (fixed(sk, "value", WA_SIG_KEY_LEN, &p) != 0)
		return WA_EMALFORMED;
	memcpy(b.signed_prekey, p, WA_SIG_KEY_LEN);
	if (fixed(sk, "signature", WA_SIG_SIG_LEN, &p) != 0)
		return WA_EMALFORMED;
	memcpy(b.signed_prekey_sig, p, WA_SIG_SIG_LEN);
	const wa_node *k = wa_node_child(keys, "key");
	if (k) {
		if (fixed(k, "id", 3, &p) != 0)
			return WA_EMALFORMED;
		b.prekey_id = be(p, 3);
		if (fixed(k, "value", WA_SIG_KEY_LEN, &p) != 0)
			return WA_EMALFORMED;
		memcpy(b.prekey, p, WA_SIG_KEY_LEN);
		b.has_prekey = true;
	}
	*out = b;
	return 0;
}

int wa_prekey_parse(const wa_node *iq, wa_prekey_user **users_out, size_t *n_out)
{
	if (!iq || !users_out || !n_out)
		return WA_EINVAL;
	const char *type = wa_node_attr(iq, "type");
	if (!type || strcmp(type, "result") != 0)
		return WA_EPROTO;
	const wa_node *list = wa_node_child(iq, "list");
	size_t cap = list ? wa_node_n_children(list) : 0;
	if (cap > WA_PREKEY_MAX_USERS)
		cap = WA_PREKEY_MAX_USERS;
	wa_prekey_user *arr = calloc(cap ? cap : 1, sizeof *arr);
	if (!arr)
		return WA_ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < cap; i++) {
		const wa_node *u = wa_node_child_at(list, i);
		const char *jid = wa_node_attr(u, "jid");
		wa_jid j;
		if (strcmp(wa_node_tag(u), "user") != 0 || !jid || strlen(jid) >= WA_STORE_JID_MAX ||
		    wa_jid_parse(&j, jid) != 0)
			continue;
		wa_prekey_user *pu = &arr[n++];
		memcpy(pu->jid, jid, strlen(jid) + 1);
		pu->ok = !wa_node_child(u, "error") &&
			 wa_prekey_parse_bundle(u, wa_node_child(u, "registration"), &pu->bundle) == 0;
	}
	*users_out = arr;
	*n_out = n;
	return 0;
}
