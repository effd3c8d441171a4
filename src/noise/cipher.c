/* Transport cipher states (cipher.h). Counters are kept in 64 bits so
 * "2^32 frames used" is representable and refused instead of wrapping to a
 * repeated nonce. */
#include "noise/cipher.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define COUNTER_LIMIT ((uint64_t)1 << 32)

struct wa_noise_transport {
	uint8_t send_key[32];
	uint8_t recv_key[32];
	uint64_t send_n;
	uint64_t recv_n;
	bool failed;
};

int wa_noise_transport_new(wa_noise_transport **out, const uint8_t send_key[static 32],
	const uint8_t recv_key[static 32])
{
	wa_noise_transport *t = calloc(1, sizeof *t);
	if (!t)
		return WA_ENOMEM;
	memcpy(t->send_key, send_key, 32);
	memcpy(t->recv_key, recv_key, 32);
	*out = t;
	return 0;
}

void wa_noise_transport_free(wa_noise_transport *t)
{
	if (!t)
		return;
	wa_memzero(t, sizeof *t);
	free(t);
}

static void make_iv(uint8_t iv[static WA_GCM_IV_LEN], uint64_t n)
{
	memset(iv, 0, 8);
	iv[8] = (uint8_t)(n >> 24);
	iv[9] = (uint8_t)(n >> 16);
	iv[10] = (uint8_t)(n >> 8);
	iv[11] = (uint8_t)n;
}

int wa_noise_transport_encrypt(wa_noise_transport *t, uint8_t *out, const uint8_t *pt,
	size_t pt_len)
{
	if (t->failed)
		return WA_ENOISE_FAILED;
	if (t->send_n >= COUNTER_LIMIT)
		return WA_ENOISE_NONCE;
	uint8_t iv[WA_GCM_IV_LEN];
	make_iv(iv, t->send_n);
	int rc = wa_aes_gcm_encrypt(out, t->send_key, iv, NULL, 0, pt, pt_len);
	if (rc)
		return rc;
	t->send_n++;
	return 0;
}

int wa_noise_transport_decrypt(wa_noise_transport *t, uint8_t *out, const uint8_t *ct,
	size_t ct_len)
{
	if (t->failed)
		return WA_ENOISE_FAILED;
	int rc;
	if (t->recv_n >= COUNTER_LIMIT) {
		rc = WA_ENOISE_NONCE;
		goto fail;
	}
	if (ct_len < WA_NOISE_TAG_LEN) {
		rc = WA_EMALFORMED;
		goto fail;
	}
	uint8_t iv[WA_GCM_IV_LEN];
	make_iv(iv, t->recv_n);
	rc = wa_aes_gcm_decrypt(out, t->recv_key, iv, NULL, 0, ct, ct_len);
	if (rc) {
		if (rc == WA_ECRYPTO)
			rc = WA_ENOISE_DECRYPT;
		goto fail;
	}
	t->recv_n++;
	return 0;
fail:
	t->failed = true;
	return rc;
}

uint64_t wa_noise_transport_send_count(const wa_noise_transport *t) { return t->send_n; }
uint64_t wa_noise_transport_recv_count(const wa_noise_transport *t) { return t->recv_n; }

void wa_noise_transport_set_counts(wa_noise_transport *t, uint64_t send, uint64_t recv)
{
	t->send_n = send > COUNTER_LIMIT ? COUNTER_LIMIT : send;
	t->recv_n = recv > COUNTER_LIMIT ? COUNTER_LIMIT : recv;
}
