/* WhatsApp's Noise server certificate chain (transport-and-pairing.md
 * §2.5): CertChain{leaf, intermediate}, each a serialized Details plus an
 * XEdDSA signature over those exact bytes; the intermediate is signed by a
 * root key, the leaf by the intermediate and certifies the server's static
 * Noise key. This file checks a chain (the client side) and builds one
 * (tests and the wasim test server, which cannot sign under WhatsApp's
 * root and so use their own). Sans-IO: the clock is a parameter. */
#ifndef WA_NOISE_CERT_H
#define WA_NOISE_CERT_H

#include <stddef.h>
#include <stdint.h>

#include "wa/wa.h"

/* Serialized chains and Details past these sizes are refused before any
 * protobuf parsing (a real chain is ~350 bytes). */
#define WA_NOISE_MAX_CERT_CHAIN 4096u

/* Who the client trusts: the root public key and the issuer serial the
 * intermediate must name. */
typedef struct wa_noise_trust {
	uint8_t root_pub[32];
	uint32_t root_serial;
} wa_noise_trust;

/* WhatsApp's real root ("WhatsAppLongTerm1", serial 0), as whatsmeow
 * handshake.go WACertPubKey and Baileys WA_CERT_DETAILS. */
extern const uint8_t wa_noise_whatsapp_root_pub[32];
#define WA_NOISE_WHATSAPP_ROOT_SERIAL 0u
/* Fills t with the WhatsApp root. */
void wa_noise_trust_default(wa_noise_trust *t);

/* Checks a serialized CertChain: all nine checks of §2.5 — both
 * certificates carry details and a 64-byte signature; the intermediate
 * verifies under trust->root_pub and names trust->root_serial as issuer;
 * its key is 32 bytes and the leaf verifies under it; both are valid at
 * now_ms (notBefore <= now <= notAfter, seconds; an absent field counts as
 * 0, as in whatsmeow); the leaf's issuer serial is the intermediate's
 * serial; the leaf key equals server_static.
 * Returns 0, or WA_ENOISE_CERT with *reason (if reason != NULL) set to a
 * static English sentence naming the failed check. */
int wa_noise_cert_chain_verify(const uint8_t *chain, size_t chain_len,
	const uint8_t server_static[static 32], const wa_noise_trust *trust, int64_t now_ms,
	const char **reason) WA_MUST_CHECK;

/* What goes into one certificate's Details. */
typedef struct wa_noise_cert_spec {
	uint32_t serial;
	uint32_t issuer_serial;
	uint8_t key[32];
	uint64_t not_before; /* unix seconds */
	uint64_t not_after;
} wa_noise_cert_spec;

/* Serializes Details for spec (all five fields present). On success *out
 * is malloc'd (free()) and *out_len set; WA_ENOMEM otherwise. */
int wa_noise_cert_details_encode(const wa_noise_cert_spec *spec, uint8_t **out,
	size_t *out_len) WA_MUST_CHECK;

/* Builds and serializes a CertChain: intermediate Details signed with
 * root_priv, leaf Details signed with intermediate_priv. On success *out is
 * malloc'd (free()) and *out_len set. Returns 0, WA_ENOMEM or WA_ECRYPTO. */
int wa_noise_cert_chain_build(uint8_t **out, size_t *out_len, const uint8_t root_priv[static 32],
	const wa_noise_cert_spec *intermediate, const uint8_t intermediate_priv[static 32],
	const wa_noise_cert_spec *leaf) WA_MUST_CHECK;

/* Serializes a CertChain from parts as given (no signing, no checks), for
 * tests that need malformed chains: a NULL details or signature leaves that
 * field out; a NULL certificate (both NULL) leaves the certificate out. */
int wa_noise_cert_chain_pack(uint8_t **out, size_t *out_len,
	const uint8_t *leaf_details, size_t leaf_details_len,
	const uint8_t *leaf_sig, size_t leaf_sig_len,
	const uint8_t *int_details, size_t int_details_len,
	const uint8_t *int_sig, size_t int_sig_len) WA_MUST_CHECK;

#endif
