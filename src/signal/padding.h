/* WhatsApp's plaintext padding for v=2 <enc> payloads (1:1 and group):
 * padded = plaintext || n bytes of value n, n random in 1..16 (Baileys
 * writeRandomPadMax16). Unpadding is strict: every pad byte must equal n
 * (as whatsmeow unpadMessage), so garbage never reaches the protobuf parser. */
#ifndef WA_SIGNAL_PADDING_H
#define WA_SIGNAL_PADDING_H

#include <stddef.h>
#include <stdint.h>

#include "wa/wa.h"

#define WA_SIG_PAD_MAX 16
/* Largest plaintext we pad or accept (a Message protobuf; media is by reference). */
#define WA_SIG_MAX_PLAINTEXT (4u * 1024 * 1024)

/* *out (free with free()) = pt || pad; written only on success.
 * Returns WA_ETOOBIG or WA_ENOMEM on failure. */
int wa_sig_pad(const uint8_t *pt, size_t len, uint8_t **out, size_t *out_len) WA_MUST_CHECK;
/* Same with an explicit pad length 1..16 (tests, vectors). */
int wa_sig_pad_n(const uint8_t *pt, size_t len, unsigned n, uint8_t **out, size_t *out_len) WA_MUST_CHECK;
/* Sets *pt_len to the unpadded length; WA_EMALFORMED if the pad is absent,
 * longer than 16 or not all equal. The plaintext is padded[0 .. *pt_len). */
int wa_sig_unpad(const uint8_t *padded, size_t len, size_t *pt_len) WA_MUST_CHECK;

#endif
