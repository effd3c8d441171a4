/* Pairing QR string build/parse (§6.2 of transport-and-pairing.md; layout
 * as Baileys 7 buildPairingQRData in Utils/companion-reg-client-utils.js).
 * Part of src/qr, below src/session (which builds) and wasim (which parses). */
#include "qr/payload.h"

#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "util/codec.h"

static int ref_ok(const char *ref, size_t len)
{
	if (len == 0 || len > WA_QR_MAX_REF_LEN)
		return 0;
	/* printable ASCII and no ',' so the string splits back unambiguously;
	 * real refs are base64-ish text ("2@..."). */
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)ref[i];
		if (c < 0x21 || c > 0x7e || c == ',')
			return 0;
	}
	return 1;
}

static int platform_ok(const char *p, size_t len)
{
	if (len == 0 || len > WA_QR_MAX_PLATFORM_LEN)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = p[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')))
			return 0;
	}
	return 1;
}

void wa_qr_string_free(char *s)
{
	if (!s)
		return;
	sodium_memzero(s, strlen(s));
	free(s);
}

int wa_qr_payload_build(char **out, size_t *out_len, const char *ref, size_t ref_len,
	const uint8_t noise_pub[static WA_QR_KEY_LEN],
	const uint8_t identity_pub[static WA_QR_KEY_LEN],
	const uint8_t adv_secret[static WA_QR_KEY_LEN], const char *platform)
{
	if (!out || !out_len || !ref || !ref_ok(ref, ref_len))
		return WA_EINVAL;
	size_t plat_len = platform ? strnlen(platform, WA_QR_MAX_PLATFORM_LEN + 1) : 0;
	if (platform && !platform_ok(platform, plat_len))
		return WA_EINVAL;

	int rc = WA_ENOMEM;
	char *k[3] = {
		wa_b64_encode(noise_pub, WA_QR_KEY_LEN),
		wa_b64_encode(identity_pub, WA_QR_KEY_LEN),
		wa_b64_encode(adv_secret, WA_QR_KEY_LEN),
	};
	char *s = NULL;
	if (!k[0] || !k[1] || !k[2])
		goto done;

	size_t prefix_len = platform ? sizeof(WA_QR_PREFIX) - 1 : 0;
	size_t len = prefix_len + ref_len + 3 * (1 + WA_QR_B64_KEY_LEN) +
		(platform ? 1 + plat_len : 0);
	s = malloc(len + 1);
	if (!s)
		goto done;
	char *w = s;
	memcpy(w, WA_QR_PREFIX, prefix_len);
	w += prefix_len;
	memcpy(w, ref, ref_len);
	w += ref_len;
	for (int i = 0; i < 3; i++) {
		*w++ = ',';
		memcpy(w, k[i], WA_QR_B64_KEY_LEN);
		w += WA_QR_B64_KEY_LEN;
	}
	if (platform) {
		*w++ = ',';
		memcpy(w, platform, plat_len);
		w += plat_len;
	}
	*w = '\0';
	*out = s;
	*out_len = len;
	rc = 0;
done:
	for (int i = 0; i < 3; i++)
		wa_qr_string_free(k[i]);
	return rc;
}

/* Strict canonical base64 of exactly 32 bytes (44 chars, one '='). The
 * decoder is libsodium's constant-time one; it also rejects non-zero
 * leftover bits, so each key has exactly one accepted spelling. */
static int key_decode(uint8_t out[static WA_QR_KEY_LEN], const char *s, size_t len)
{
	if (len != WA_QR_B64_KEY_LEN)
		return WA_EMALFORMED;
	uint8_t *b = NULL;
	size_t n = 0;
	int rc = wa_b64_decode(s, len, &b, &n);
	if (rc != 0)
		return rc;
	if (n != WA_QR_KEY_LEN) {
		sodium_memzero(b, n);
		free(b);
		return WA_EMALFORMED;
	}
	memcpy(out, b, WA_QR_KEY_LEN);
	sodium_memzero(b, n);
	free(b);
	return 0;
}

int wa_qr_payload_parse(wa_qr_payload *out, const char *s, size_t len)
{
	if (!out || (!s && len))
		return WA_EINVAL;
	if (len > WA_QR_MAX_PAYLOAD_LEN)
		return WA_ETOOBIG;

	wa_qr_payload p;
	memset(&p, 0, sizeof p);
	int rc = WA_EMALFORMED;
	const size_t prefix_len = sizeof(WA_QR_PREFIX) - 1;
	size_t off = 0;
	if (len >= prefix_len && memcmp(s, WA_QR_PREFIX, prefix_len) == 0) {
		p.has_prefix = 1;
		off = prefix_len;
	}

	/* split the rest on ',' into at most 6 fields (6 = one too many) */
	const char *f[6];
	size_t flen[6];
	size_t nf = 0;
	size_t start = off;
	for (size_t i = off; i <= len; i++) {
		if (i == len || s[i] == ',') {
			if (nf == 6)
				goto done;
			f[nf] = s + start;
			flen[nf] = i - start;
			nf++;
			start = i + 1;
		}
	}
	/* the prefixed form carries a platform, the legacy one does not */
	if (nf != (p.has_prefix ? 5u : 4u))
		goto done;
	if (!ref_ok(f[0], flen[0]))
		goto done;
	memcpy(p.ref, f[0], flen[0]);
	p.ref[flen[0]] = '\0';
	p.ref_len = flen[0];
	if ((rc = key_decode(p.noise_pub, f[1], flen[1])) != 0 ||
	    (rc = key_decode(p.identity_pub, f[2], flen[2])) != 0 ||
	    (rc = key_decode(p.adv_secret, f[3], flen[3])) != 0)
		goto done;
	rc = WA_EMALFORMED;
	if (nf == 5) {
		if (!platform_ok(f[4], flen[4]))
			goto done;
		memcpy(p.platform, f[4], flen[4]);
		p.platform[flen[4]] = '\0';
	}
	*out = p;
	rc = 0;
done:
	sodium_memzero(&p, sizeof p);
	return rc;
}

void wa_qr_payload_clear(wa_qr_payload *p)
{
	if (p)
		sodium_memzero(p, sizeof *p);
}
