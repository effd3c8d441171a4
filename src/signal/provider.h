/* libsignal-protocol-c crypto provider on OpenSSL (layer 6, src/signal).
 * Randomness comes only from wa_rand_bytes (util/seams.h), so a test that
 * overrides that seam makes every key, pad and IV deterministic. */
#ifndef WA_SIGNAL_PROVIDER_H
#define WA_SIGNAL_PROVIDER_H

#include <signal_protocol.h>

/* Per-context state of the provider: algorithms fetched once and a few
 * HMAC contexts kept for reuse. libsignal runs ~14 HMAC-SHA256 per 1:1
 * message; fetching "HMAC"/"SHA256" and allocating an EVP_MAC_CTX for each
 * was a third of the CPU time of a symmetric-ratchet message. One thread
 * uses it (the wa_sig's). */
typedef struct wa_sig_provider wa_sig_provider;

/* 0, WA_ENOMEM or WA_ECRYPTO (an algorithm OpenSSL cannot fetch). */
int wa_sig_provider_new(wa_sig_provider **out);
/* NULL ok. Frees the pooled contexts. */
void wa_sig_provider_free(wa_sig_provider *p);

/* Installs the provider on ctx. p may be NULL (a throwaway context:
 * algorithms are looked up per call, nothing is pooled); otherwise p must
 * outlive ctx. Returns 0 or WA_ECRYPTO. */
int wa_sig_provider_install(signal_context *ctx, wa_sig_provider *p);

/* HMAC contexts currently kept by p (tests: the pool stays bounded). */
unsigned wa_sig_provider_pooled(const wa_sig_provider *p);

#endif
