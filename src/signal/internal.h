/* Shared internals of src/signal (not for other modules): the wa_sig
 * struct, error translation and transaction helpers. */
#ifndef WA_SIGNAL_INTERNAL_H
#define WA_SIGNAL_INTERNAL_H

#include <signal_protocol.h>
#include <stdbool.h>

#include "signal/context.h"
#include "signal/provider.h"

/* Longest Signal address name / group id we accept (JID user parts, group
 * JIDs). Names from libsignal are length-counted; we copy them with a NUL. */
#define WA_SIG_NAME_MAX WA_STORE_JID_MAX

struct wa_sig {
	signal_context *gctx;
	signal_protocol_store_context *sctx;
	wa_sig_provider *prov; /* outlives gctx, which points at it */
	wa_store *st;
	int64_t instance;
	uint32_t registration_id;
	uint8_t identity_pub[32];
	uint8_t identity_priv[32];
	wa_sig_identity_changed_fn on_identity;
	void *on_identity_user;
	/* identity changes seen during the running operation, reported only
	 * after it commits (a rolled-back change never happened) */
	bool pending_change;
	/* set around session_cipher_encrypt: a missing session is an error
	 * there (libsignal would encrypt with an empty state), reported by the
	 * load callback instead of a separate lookup per message */
	bool need_session;
	char pending_name[WA_SIG_NAME_MAX];
	int32_t pending_device;
};

/* Store errors travel through libsignal as codes below SG_ERR_MINIMUM so
 * they come back out unchanged (libsignal reserves that range for us). */
static inline int wa_sig_wrap_err(int wa_err) { return wa_err < 0 ? (SG_ERR_MINIMUM - 1) + wa_err : 0; }
/* Any libsignal (or wrapped store) result -> 0 / WA_E*. */
int wa_sig_map_err(int sg_err);

/* Transaction bracket around one wa_sig operation (nests as a savepoint). */
int wa_sig_tx_begin(wa_sig *s) WA_MUST_CHECK;
/* rc == 0: commit (and report pending identity changes); else rollback.
 * Returns rc, or the commit error. */
int wa_sig_tx_end(wa_sig *s, int rc);

/* Installs the store callbacks (stores.c). */
int wa_sig_stores_install(wa_sig *s) WA_MUST_CHECK;

/* Copies a length-counted name into buf with a NUL; WA_ETOOBIG / WA_EINVAL. */
int wa_sig_name_copy(char buf[WA_SIG_NAME_MAX], const char *name, size_t len);

#endif
