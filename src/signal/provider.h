/* libsignal-protocol-c crypto provider on OpenSSL (layer 6, src/signal).
 * Randomness comes only from wa_rand_bytes (util/seams.h), so a test that
 * overrides that seam makes every key, pad and IV deterministic. */
#ifndef WA_SIGNAL_PROVIDER_H
#define WA_SIGNAL_PROVIDER_H

#include <signal_protocol.h>

/* Installs the provider on ctx. Returns 0 or WA_ECRYPTO. */
int wa_sig_provider_install(signal_context *ctx);

#endif
