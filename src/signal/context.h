/* wa_sig: one Signal protocol context for one WhatsApp instance (layer 6).
 * Wraps libsignal-protocol-c's signal_context + store context, with our
 * OpenSSL crypto provider and store adapters onto a borrowed wa_store.
 * Single-threaded (the event loop): libsignal's locks are no-ops.
 *
 * Every wa_sig operation that writes (encrypt, decrypt, bundle processing,
 * sender keys) runs inside wa_store_begin/commit: when the caller already
 * holds a transaction it nests as a savepoint, so a caller can do
 * begin -> wa_sig_decrypt -> save plaintext -> commit -> ack, and a failed
 * operation leaves no trace in the database. */
#ifndef WA_SIGNAL_CONTEXT_H
#define WA_SIGNAL_CONTEXT_H

#include <stdint.h>

#include "store/store.h"
#include "wa/wa.h"

typedef struct wa_sig wa_sig;

/* Called after an operation that replaced a known peer identity key (trust
 * on first use; a changed key is accepted) has committed its own level. When
 * the caller holds an outer transaction and later rolls it back, the change
 * is undone too and will be reported again when the message is redelivered.
 * name is the Signal address name (borrowed for the call), device its device
 * id. Must not call back into the wa_sig. */
typedef void (*wa_sig_identity_changed_fn)(const char *name, int32_t device, void *user);

/* Creates a context over st (borrowed: must outlive the wa_sig) for
 * instance_id. The instance's credentials (identity key pair, registration
 * id) must already be saved (see prekeys.h, wa_sig_identity_generate);
 * WA_ENOTFOUND otherwise. On success *out is new (free: wa_sig_free). */
int wa_sig_new(wa_store *st, int64_t instance_id, wa_sig **out) WA_MUST_CHECK;
void wa_sig_free(wa_sig *s);
void wa_sig_set_identity_callback(wa_sig *s, wa_sig_identity_changed_fn fn, void *user);
/* Re-reads identity key pair and registration id from the store (after the
 * caller replaced the credentials). */
int wa_sig_reload_identity(wa_sig *s) WA_MUST_CHECK;
/* Own registration id (14 bits) and raw 32-byte identity public key. */
uint32_t wa_sig_registration_id(const wa_sig *s);
void wa_sig_identity_public(const wa_sig *s, uint8_t out[32]);

#endif
