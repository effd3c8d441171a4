/* wa_sig lifecycle, libsignal error translation and the transaction
 * bracket every writing operation runs in. */
#include "signal/internal.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "signal/curve_fast.h"
#include "signal/provider.h"
#include "util/log.h"

/* One event loop per process (DESIGN.md): nothing to lock. */
static void lock_noop(void *user) { (void)user; }

/* libsignal's own messages (no key material in them) go to our sink at DEBUG. */
static void log_cb(int level, const char *msg, size_t len, void *user)
{
	(void)user;
	WA_DEBUG("signal", "libsignal[%d]: %.*s", level, (int)(len > 512 ? 512 : len), msg);
}

int wa_sig_map_err(int e)
{
	if (e >= 0)
		return 0;
	if (e < SG_ERR_MINIMUM) {
		int wa = e - (SG_ERR_MINIMUM - 1);
		return wa < 0 ? wa : WA_ECRYPTO;
	}
	switch (e) {
	case SG_ERR_NOMEM: return WA_ENOMEM;
	case SG_ERR_INVAL: return WA_EINVAL;
	case SG_ERR_DUPLICATE_MESSAGE: return WA_ESIG_DUPLICATE;
	case SG_ERR_NO_SESSION: return WA_ESIG_NOSESSION;
	case SG_ERR_INVALID_KEY_ID: return WA_ESIG_NOPREKEY;
	case SG_ERR_UNTRUSTED_IDENTITY: return WA_ESIG_UNTRUSTED;
	case SG_ERR_VRF_SIG_VERIF_FAILED: return WA_ESIG_VERIFY;
	case SG_ERR_INVALID_KEY:
	case SG_ERR_INVALID_MAC:
	case SG_ERR_INVALID_MESSAGE:
	case SG_ERR_INVALID_VERSION:
	case SG_ERR_LEGACY_MESSAGE:
	case SG_ERR_STALE_KEY_EXCHANGE:
	case SG_ERR_INVALID_PROTO_BUF:
	case SG_ERR_FP_VERSION_MISMATCH:
	case SG_ERR_FP_IDENT_MISMATCH:
		return WA_ESIG_INVALID;
	default:
		return WA_ECRYPTO; /* SG_ERR_UNKNOWN and anything new */
	}
}

int wa_sig_name_copy(char buf[WA_SIG_NAME_MAX], const char *name, size_t len)
{
	if (!name || len == 0 || memchr(name, 0, len))
		return WA_EINVAL;
	if (len >= WA_SIG_NAME_MAX)
		return WA_ETOOBIG;
	memcpy(buf, name, len);
	buf[len] = 0;
	return 0;
}

int wa_sig_tx_begin(wa_sig *s)
{
	s->pending_change = false;
	return wa_store_begin(s->st);
}

int wa_sig_tx_end(wa_sig *s, int rc)
{
	if (rc == 0) {
		rc = wa_store_commit(s->st);
		if (rc == 0 && s->pending_change && s->on_identity)
			s->on_identity(s->pending_name, s->pending_device, s->on_identity_user);
	} else {
		(void)wa_store_rollback(s->st);
	}
	s->pending_change = false;
	return rc;
}

int wa_sig_reload_identity(wa_sig *s)
{
	wa_store_creds *c = malloc(sizeof *c);
	if (!c)
		return WA_ENOMEM;
	int rc = wa_store_creds_load(s->st, s->instance, c);
	if (rc == 0) {
		memcpy(s->identity_pub, c->identity_pub, 32);
		memcpy(s->identity_priv, c->identity_priv, 32);
		s->registration_id = c->registration_id;
	}
	sodium_memzero(c, sizeof *c);
	free(c);
	return rc;
}

int wa_sig_new(wa_store *st, int64_t instance_id, wa_sig **out)
{
	if (!st || !out)
		return WA_EINVAL;
	wa_sig *s = calloc(1, sizeof *s);
	if (!s)
		return WA_ENOMEM;
	s->st = st;
	s->instance = instance_id;
	if (sodium_init() < 0) {
		free(s);
		return WA_ECRYPTO;
	}
	/* libsodium X25519 in place of libsignal's portable one (curve_fast.c) */
	WA_DEBUG("signal", "fast X25519 %s", wa_sig_curve_fast_active() ? "active" : "NOT active");
	int rc = wa_sig_reload_identity(s);
	if (rc)
		goto fail;
	if ((rc = wa_sig_provider_new(&s->prov)))
		goto fail;
	rc = WA_ENOMEM;
	if (signal_context_create(&s->gctx, s) != 0)
		goto fail;
	if ((rc = wa_sig_provider_install(s->gctx, s->prov)))
		goto fail;
	rc = WA_ECRYPTO;
	if (signal_context_set_locking_functions(s->gctx, lock_noop, lock_noop) != 0 ||
	    signal_context_set_log_function(s->gctx, log_cb) != 0)
		goto fail;
	if (signal_protocol_store_context_create(&s->sctx, s->gctx) != 0)
		goto fail;
	if ((rc = wa_sig_stores_install(s)))
		goto fail;
	*out = s;
	return 0;
fail:
	wa_sig_free(s);
	return rc;
}

void wa_sig_free(wa_sig *s)
{
	if (!s)
		return;
	if (s->sctx)
		signal_protocol_store_context_destroy(s->sctx);
	if (s->gctx)
		signal_context_destroy(s->gctx);
	wa_sig_provider_free(s->prov);
	sodium_memzero(s, sizeof *s);
	free(s);
}

void wa_sig_set_identity_callback(wa_sig *s, wa_sig_identity_changed_fn fn, void *user)
{
	s->on_identity = fn;
	s->on_identity_user = user;
}

uint32_t wa_sig_registration_id(const wa_sig *s) { return s->registration_id; }

void wa_sig_identity_public(const wa_sig *s, uint8_t out[32]) { memcpy(out, s->identity_pub, 32); }
