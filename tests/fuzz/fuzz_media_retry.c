/* Fuzz target: a mediaretry notification as the network delivers it
 * (src/session/media_retry.c, wa_media_retry_answer_open) and a
 * server-error receipt as the phone gets it (wa_media_retry_request_open).
 * First byte even: the rest is a binary node body, opened as both (GCM
 * stops random ciphertext at the tag). First byte odd: the rest is the
 * decrypted payload, sealed here with the right key and id so the
 * protobuf decoding and the field checks behind the tag are reached. */
#include <stdlib.h>
#include <string.h>

#include "binary/decode.h"
#include "crypto/crypto.h"
#include "session/media_retry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t MK[32] = {7, 7, 7};
static const char ID[] = "3EB0FUZZ";

/* Seals pt as a notification's enc_p by building an answer and swapping
 * its ciphertext for one over pt. */
static wa_node *sealed(const uint8_t *pt, size_t len, bool receipt)
{
	static const uint8_t iv[12] = {9};
	uint8_t key[32];
	if (wa_media_retry_derive(key, MK) != 0)
		abort();
	uint8_t *ct = malloc(len + 16);
	if (!ct || wa_aes_gcm_encrypt(ct, key, iv, ID, strlen(ID), pt, len) != 0)
		abort();
	wa_media_retry_key k = {.id = ID, .chat = "1@s.whatsapp.net", .participant = "2@s.whatsapp.net"};
	wa_node *n = NULL;
	int rc = receipt ? wa_media_retry_request(&n, &k, "3@s.whatsapp.net", MK, iv)
			 : wa_media_retry_answer_build(&n, &k, "3@s.whatsapp.net", MK, iv, 0, NULL);
	if (rc != 0)
		abort();
	wa_node *p = wa_node_child(wa_node_child(n, "encrypt"), "enc_p");
	if (wa_node_set_bytes(p, ct, len + 16) != 0)
		abort();
	free(ct);
	return n;
}

static void open_both(const wa_node *n)
{
	wa_media_retry_answer a;
	if (wa_media_retry_answer_open(n, MK, &a) == 0) {
		if (!a.id[0] || !a.chat[0] || (a.result == WA_MEDIA_RETRY_SUCCESS && !a.has_error &&
						 a.direct_path[0] != '/'))
			abort();
		for (const char *p = a.direct_path; *p; p++)
			if (*p <= ' ' || *p >= 0x7f)
				abort(); /* a path is printable ASCII */
	}
	wa_media_retry_key k;
	if (wa_media_retry_request_open(n, MK, &k) == 0 && (!k.id || !k.chat))
		abort();
	(void)wa_media_retry_answer_id(n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1) {
		wa_node *n = sealed(data + 1, size - 1, false);
		open_both(n);
		wa_node_free(n);
		n = sealed(data + 1, size - 1, true);
		open_both(n);
		wa_node_free(n);
		return 0;
	}
	wa_node *n = NULL;
	if (wa_bin_decode_body(data + 1, size - 1, &n) == 0) {
		open_both(n);
		wa_node_free(n);
	}
	return 0;
}
