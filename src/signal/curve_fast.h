/* Faster X25519 and signatures for libsignal-protocol-c (see curve_fast.c). */
#ifndef WA_SIGNAL_CURVE_FAST_H
#define WA_SIGNAL_CURVE_FAST_H

#include <stdbool.h>
#include <stdint.h>

/* libsignal-protocol-c's name and signature; interposes the library's own
 * portable implementation for every call it makes through its PLT. */
int curve25519_donna(uint8_t *mypublic, const uint8_t *secret, const uint8_t *basepoint);

/* The same for its XEdDSA-style signature (libsodium's Ed25519 arithmetic). */
int curve25519_sign(unsigned char *signature_out, const unsigned char *curve25519_privkey, const unsigned char *msg,
	const unsigned long msg_len, const unsigned char *random);

int curve25519_verify(const unsigned char *signature, const unsigned char *curve25519_pubkey, const unsigned char *msg,
	const unsigned long msg_len);

/* True when libsignal-protocol-c's calls resolve to the functions above
 * (false if a future build binds them internally, e.g. -Bsymbolic). Also
 * makes the linker keep this object: call it once at start-up. */
bool wa_sig_curve_fast_active(void);
/* How many times curve25519_donna ran in this process (tests). */
unsigned long wa_sig_curve_fast_calls(void);
/* How many times curve25519_sign ran in this process (tests). */
unsigned long wa_sig_curve_fast_signs(void);

#endif
