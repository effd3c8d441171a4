/* WhatsApp's Noise XX handshake (transport-and-pairing.md §2), both roles
 * built from the same symmetric-state operations: the initiator is libwa's
 * client, the responder is the wasim test server. Messages are the
 * HandshakeMessage protobuf bytes of frames 1-3 (framing is frame.h's job).
 * WhatsApp deviates from the Noise spec in one place: the empty payload of
 * message 1 is not MixHash'ed.
 *
 * Sequence — initiator: write_client_hello, read_server_hello (checks the
 * certificate chain), write_client_finish, split. Responder:
 * read_client_hello, write_server_hello, read_client_finish, split.
 * A call out of order returns WA_ESTATE and changes nothing. Any failure on
 * peer bytes is sticky: the object then answers WA_ENOISE_FAILED to every
 * call and only wa_noise_hs_free is useful. State changes only when a
 * message fully succeeds (computed on copies). Not thread-safe. */
#ifndef WA_NOISE_HANDSHAKE_H
#define WA_NOISE_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "noise/cert.h"
#include "noise/cipher.h"
#include "util/buf.h"
#include "wa/wa.h"

/* Handshake messages larger than this are refused before protobuf parsing
 * (a ClientFinish carries the ClientPayload: a few hundred bytes). */
#define WA_NOISE_MAX_HS_MSG (64u * 1024)
/* Largest ClientPayload / certificate payload accepted to send or receive. */
#define WA_NOISE_MAX_HS_PAYLOAD (32u * 1024)

typedef struct wa_noise_hs wa_noise_hs;

/* Initiator. static_kp is the client's long-term noise key pair (copied).
 * payload is the serialized ClientPayload sent in message 3 (copied).
 * trust NULL means WhatsApp's root (wa_noise_trust_default). prologue is the
 * 4-byte intro header (NULL = wa_noise_intro_header). The ephemeral key is
 * drawn from the wa_rand_bytes seam when message 1 is written.
 * Returns 0 (and *out), WA_EINVAL, WA_ETOOBIG or WA_ENOMEM. */
int wa_noise_hs_new_initiator(wa_noise_hs **out, const wa_keypair *static_kp,
	const uint8_t *payload, size_t payload_len, const wa_noise_trust *trust,
	const uint8_t *prologue) WA_MUST_CHECK;

/* Responder. static_kp is the server static key the leaf certifies;
 * cert_chain is the serialized CertChain sent (encrypted) in message 2 —
 * any bytes, the responder does not parse them. prologue is the intro the
 * client actually sent (NULL = wa_noise_intro_header). */
int wa_noise_hs_new_responder(wa_noise_hs **out, const wa_keypair *static_kp,
	const uint8_t *cert_chain, size_t cert_chain_len, const uint8_t *prologue) WA_MUST_CHECK;

/* Scrubs all key material and frees; NULL is a no-op. */
void wa_noise_hs_free(wa_noise_hs *hs);

/* Initiator steps. write_* append one HandshakeMessage to wr (nothing is
 * appended on failure). read_server_hello returns WA_EMALFORMED (not a
 * ServerHello, wrong key/ciphertext sizes), WA_ENOISE_DECRYPT,
 * WA_ENOISE_CERT (chain rejected, see wa_noise_hs_error_reason) or
 * WA_ECRYPTO (low-order key). */
int wa_noise_hs_write_client_hello(wa_noise_hs *hs, wa_writer *wr) WA_MUST_CHECK;
int wa_noise_hs_read_server_hello(wa_noise_hs *hs, const uint8_t *msg, size_t len) WA_MUST_CHECK;
int wa_noise_hs_write_client_finish(wa_noise_hs *hs, wa_writer *wr) WA_MUST_CHECK;

/* Responder steps, same error conventions. */
int wa_noise_hs_read_client_hello(wa_noise_hs *hs, const uint8_t *msg, size_t len) WA_MUST_CHECK;
int wa_noise_hs_write_server_hello(wa_noise_hs *hs, wa_writer *wr) WA_MUST_CHECK;
int wa_noise_hs_read_client_finish(wa_noise_hs *hs, const uint8_t *msg, size_t len) WA_MUST_CHECK;

/* After the last message (initiator: client finish written; responder:
 * client finish read): derives the transport cipher states, oriented for
 * this side. *out written only on success (free with
 * wa_noise_transport_free). WA_ESTATE before that point. */
int wa_noise_hs_split(wa_noise_hs *hs, wa_noise_transport **out) WA_MUST_CHECK;

/* Responder, after read_client_finish: the decrypted ClientPayload
 * (borrowed, valid until free) and the client's static public key.
 * Initiator, after read_server_hello: remote_static is the server's static
 * key. Both return WA_ESTATE when not yet known. */
int wa_noise_hs_client_payload(const wa_noise_hs *hs, const uint8_t **p, size_t *len) WA_MUST_CHECK;
int wa_noise_hs_remote_static(const wa_noise_hs *hs, uint8_t out[static 32]) WA_MUST_CHECK;
/* The current handshake hash h (for tests and channel binding). */
void wa_noise_hs_hash(const wa_noise_hs *hs, uint8_t out[static 32]);

/* After a failure: a static English sentence on what went wrong (for
 * WA_ENOISE_CERT, the failed certificate check), else NULL. */
const char *wa_noise_hs_error_reason(const wa_noise_hs *hs);
/* The error that failed the handshake (0 if it has not failed). */
int wa_noise_hs_error(const wa_noise_hs *hs);

#endif
