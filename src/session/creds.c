/* src/session/creds.c: the device credentials of an instance — loaded on
 * start, or generated for a fresh (or logged-out) instance: noise key
 * pair, Signal identity + registration id (src/signal), signed pre-key 1,
 * ADV secret (transport-and-pairing.md §9). Saved with wa_store_creds_save
 * before anything is sent, so a crash never shows a QR for keys we lost. */
#include <sodium.h>
#include <string.h>

#include "session/internal.h"
#include "signal/prekeys.h"
#include "util/seams.h"

bool wa_creds_paired(const wa_store_creds *c)
{
	return c && c->me_jid[0] != '\0' && c->adv_identity_len > 0;
}

static int generate(wa_session *s)
{
	wa_store_creds *c = s->creds;
	memset(c, 0, sizeof *c);
	wa_keypair nk;
	wa_keypair_generate(&nk);
	memcpy(c->noise_pub, nk.pub, 32);
	memcpy(c->noise_priv, nk.priv, 32);
	wa_keypair_clear(&nk);
	int rc = wa_sig_identity_generate(c);
	if (rc)
		return rc;
	wa_rand_bytes(c->adv_secret, sizeof c->adv_secret);
	c->next_prekey_id = 1;
	c->first_unuploaded_prekey_id = 1;
	if (s->push_name)
		snprintf(c->push_name, sizeof c->push_name, "%s", s->push_name);
	/* wa_sig needs the identity in the store before it can sign the
	 * signed pre-key: save, open, sign, save again — one transaction. */
	if ((rc = wa_store_begin(s->store)) != 0)
		return rc;
	wa_sig *sig = NULL;
	wa_sig_signed_prekey spk;
	if ((rc = wa_store_creds_save(s->store, s->instance_id, c)) != 0)
		goto fail;
	if ((rc = wa_sig_new(s->store, s->instance_id, &sig)) != 0)
		goto fail;
	if ((rc = wa_sig_signed_prekey_generate(sig, 1, (uint64_t)wa_now_ms(), &spk)) != 0)
		goto fail;
	c->signed_prekey_id = spk.id;
	memcpy(c->signed_prekey_pub, spk.pub, 32);
	memcpy(c->signed_prekey_sig, spk.sig, 64);
	if ((rc = wa_store_creds_save(s->store, s->instance_id, c)) != 0)
		goto fail;
	if ((rc = wa_store_commit(s->store)) != 0)
		goto fail_nocommit;
	wa_sig_free(s->sig);
	s->sig = sig;
	return 0;
fail:
	wa_store_rollback(s->store);
fail_nocommit:
	wa_sig_free(sig);
	return rc;
}

int wa_session_creds_ensure(wa_session *s)
{
	int rc = wa_store_creds_load(s->store, s->instance_id, s->creds);
	if (rc == WA_ENOTFOUND)
		return generate(s);
	if (rc)
		return rc;
	if (!s->sig) {
		if ((rc = wa_sig_new(s->store, s->instance_id, &s->sig)) != 0)
			return rc;
	} else if ((rc = wa_sig_reload_identity(s->sig)) != 0) {
		return rc;
	}
	return 0;
}

int wa_session_creds_wipe(wa_session *s)
{
	wa_sig_free(s->sig);
	s->sig = NULL;
	int rc = wa_store_creds_wipe(s->store, s->instance_id);
	sodium_memzero(s->creds, sizeof *s->creds);
	if (rc)
		return rc;
	return generate(s);
}
