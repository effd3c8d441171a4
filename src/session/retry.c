/* Retry receipt (messaging.md §5): what we send when a message from a peer
 * device fails to decrypt, so that the sender re-encrypts it for us, with a
 * fresh pre-key bundle in <keys> from the second attempt on (or when we have
 * no session at all). Mirrors the attributes both reference clients emit. */
#include <stdio.h>
#include <string.h>

#include "session/msg.h"

static int set(wa_node *n, const char *k, const char *v, int rc)
{
	return rc == 0 && v ? wa_node_set_attr(n, k, v) : rc;
}

static int bytes_child(wa_node *parent, const char *tag, const void *p, size_t n, wa_node **out)
{
	wa_node *c;
	int rc = wa_node_add_new(parent, tag, &c);
	if (rc == 0)
		rc = wa_node_set_bytes(c, p, n);
	if (rc == 0 && out)
		*out = c;
	return rc;
}

static void be(uint32_t v, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

int wa_retry_build(const wa_node *failed, const char *own_id_for_to, unsigned count,
	const wa_retry_keys *keys, wa_node **out)
{
	(void)own_id_for_to;
	if (!failed || !out || !keys || count == 0)
		return WA_EINVAL;
	const char *id = wa_node_attr(failed, "id");
	const char *from = wa_node_attr(failed, "from");
	if (!id || !from)
		return WA_EINVAL;
	char cnt[16];
	snprintf(cnt, sizeof cnt, "%u", count);
	wa_node *r = NULL, *rt, *k, *sk, *pk;
	uint8_t reg[4], kid[3];
	be(keys->registration_id, reg, 4);
	int rc = wa_node_new(&r, "receipt");
	rc = set(r, "id", id, rc);
	rc = set(r, "type", "retry", rc);
	rc = set(r, "to", from, rc);
	rc = set(r, "recipient", wa_node_attr(failed, "recipient"), rc);
	rc = set(r, "participant", wa_node_attr(failed, "participant"), rc);
	if (rc == 0)
		rc = wa_node_add_new(r, "retry", &rt);
	rc = set(rt, "count", cnt, rc);
	rc = set(rt, "id", id, rc);
	rc = set(rt, "t", wa_node_attr(failed, "t"), rc);
	rc = set(rt, "v", "1", rc);
	rc = set(rt, "error", "0", rc);
	if (rc == 0)
		rc = bytes_child(r, "registration", reg, 4, NULL);
	if (rc == 0 && (count > 1 || keys->prekey_id)) {
		static const uint8_t type5 = 5;
		rc = wa_node_add_new(r, "keys", &k);
		if (rc == 0)
			rc = bytes_child(k, "type", &type5, 1, NULL);
		if (rc == 0)
			rc = bytes_child(k, "identity", keys->identity, 32, NULL);
		if (rc == 0 && keys->prekey_id) {
			rc = wa_node_add_new(k, "key", &pk);
			be(keys->prekey_id, kid, 3);
			if (rc == 0)
				rc = bytes_child(pk, "id", kid, 3, NULL);
			if (rc == 0)
				rc = bytes_child(pk, "value", keys->prekey, 32, NULL);
		}
		if (rc == 0)
			rc = wa_node_add_new(k, "skey", &sk);
		be(keys->spk_id, kid, 3);
		if (rc == 0)
			rc = bytes_child(sk, "id", kid, 3, NULL);
		if (rc == 0)
			rc = bytes_child(sk, "value", keys->spk, 32, NULL);
		if (rc == 0)
			rc = bytes_child(sk, "signature", keys->spk_sig, 64, NULL);
		if (rc == 0 && keys->device_identity_len)
			rc = bytes_child(k, "device-identity", keys->device_identity,
				keys->device_identity_len, NULL);
	}
	if (rc != 0) {
		wa_node_free(r);
		return rc;
	}
	*out = r;
	return 0;
}
