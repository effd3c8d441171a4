/* X25519 for libsignal-protocol-c through libsodium.
 *
 * libsignal-protocol-c does every Curve25519 Diffie-Hellman and key
 * generation through its exported curve25519_donna(), a portable 32-bit C
 * implementation: measured at 85% of CPU time in the alternating-direction
 * benchmark (a DH ratchet step per message), capping it at ~1,600 msg/s.
 * Its crypto provider has no hook for the curve, but the library calls the
 * function through its PLT, so defining the same symbol here interposes it
 * for the whole process. libsodium's implementation (optimised assembly on
 * x86-64) produces the same bytes for clamped scalars, which is every key
 * libsignal generates; tests/unit/test_signal_curve.c compares the two over random and
 * edge-case inputs against the original found with dlsym(RTLD_NEXT).
 *
 * The unprefixed name is required by the interposition (STYLE §7 exception). */
#include "signal/curve_fast.h"

#include <dlfcn.h>
#include <string.h>
#include <sodium.h>

static const uint8_t basepoint9[32] = { 9 };
static unsigned long n_calls; /* for the test that proves libsignal calls us */

typedef int (*donna_fn)(uint8_t *, const uint8_t *, const uint8_t *);

/* libsignal's donna uses the scalar exactly as given, while X25519 (and
 * libsodium) clamps it. Keys libsignal generates are already clamped, so
 * for them both agree (the unit test checks it over every kind of point).
 * Anything else goes to the library's own code, found behind us. */
static bool is_clamped(const uint8_t k[32])
{
	return (k[0] & 7) == 0 && (k[31] & 0xC0) == 0x40;
}

int curve25519_donna(uint8_t *mypublic, const uint8_t *secret, const uint8_t *basepoint)
{
	n_calls++;
	if (!is_clamped(secret)) {
		static donna_fn orig;
		if (!orig)
			orig = (donna_fn)dlsym(RTLD_NEXT, "curve25519_donna");
		if (orig)
			return orig(mypublic, secret, basepoint);
		/* not reachable while libsignal is the caller; never guess */
		memset(mypublic, 0, 32);
		return -1;
	}
	/* libsodium refuses small-order points (whose product with a clamped
	 * scalar is the all-zero u-coordinate, which is what donna returns)
	 * and then leaves the output unwritten: write those zeros here. */
	int rc = sodium_memcmp(basepoint, basepoint9, 32) == 0
		? crypto_scalarmult_curve25519_base(mypublic, secret)
		: crypto_scalarmult_curve25519(mypublic, secret, basepoint);
	if (rc != 0)
		memset(mypublic, 0, 32);
	return 0;
}

bool wa_sig_curve_fast_active(void)
{
	void *resolved = dlsym(RTLD_DEFAULT, "curve25519_donna");
	return resolved == (void *)curve25519_donna;
}

unsigned long wa_sig_curve_fast_calls(void)
{
	return n_calls;
}
