/* Hex/base64 on top of libsodium (constant time). */
#include "util/codec.h"

#include <stdlib.h>
#include <sodium.h>

char *wa_hex_encode(const uint8_t *p, size_t n)
{
	char *s = malloc(n * 2 + 1);
	if (!s)
		return NULL;
	sodium_bin2hex(s, n * 2 + 1, p, n);
	return s;
}

char *wa_b64_encode(const uint8_t *p, size_t n)
{
	size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(cap);
	if (!s)
		return NULL;
	sodium_bin2base64(s, cap, p, n, sodium_base64_VARIANT_ORIGINAL);
	return s;
}

int wa_hex_decode(const char *s, size_t slen, uint8_t **out, size_t *out_len)
{
	if (slen % 2)
		return WA_EMALFORMED;
	uint8_t *b = malloc(slen / 2 + 1);
	if (!b)
		return WA_ENOMEM;
	size_t n = 0;
	const char *end = NULL;
	if (sodium_hex2bin(b, slen / 2 + 1, s, slen, NULL, &n, &end) != 0 || end != s + slen) {
		free(b);
		return WA_EMALFORMED;
	}
	*out = b;
	*out_len = n;
	return 0;
}

/* 1 if lo <= c <= hi, else 0, without branching on c. */
static uint32_t ct_in(uint32_t c, uint32_t lo, uint32_t hi)
{
	return ((lo - 1 - c) & (c - hi - 1)) >> 31;
}

/* libsodium 1.0.18's sodium_base642bin accepts some bytes >= 0x80 as base64
 * digits (found by fuzz_qr_payload with "\xaf"), so every character is
 * checked against the alphabet first, in constant time like the decoder. */
static int b64_alphabet_ok(const char *s, size_t slen)
{
	uint32_t ok = 1;
	for (size_t i = 0; i < slen; i++) {
		uint32_t c = (unsigned char)s[i];
		ok &= ct_in(c, 'A', 'Z') | ct_in(c, 'a', 'z') | ct_in(c, '0', '9') |
		      ct_in(c, '+', '+') | ct_in(c, '/', '/') | ct_in(c, '=', '=');
	}
	return (int)ok;
}

int wa_b64_decode(const char *s, size_t slen, uint8_t **out, size_t *out_len)
{
	if (!b64_alphabet_ok(s, slen))
		return WA_EMALFORMED;
	uint8_t *b = malloc(slen / 4 * 3 + 3);
	if (!b)
		return WA_ENOMEM;
	size_t n = 0;
	const char *end = NULL;
	if (sodium_base642bin(b, slen / 4 * 3 + 3, s, slen, NULL, &n, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 || end != s + slen) {
		free(b);
		return WA_EMALFORMED;
	}
	*out = b;
	*out_len = n;
	return 0;
}
