/* Fuzz target: the companion's pair-success check (src/session/pair.c,
 * wa_pair_verify_and_sign) over the <device-identity> bytes a server sends.
 * First byte 0: the input is the HMAC container as received (mostly stops
 * at the HMAC). First byte 1: the rest is taken as the inner
 * ADVSignedDeviceIdentity and wrapped with a correct HMAC, so the inner
 * protobuf parsing and the signature checks are reached. */
#include <stdlib.h>
#include <string.h>

#include "adv.pb-c.h"
#include "session/pair.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	static const uint8_t adv[32] = {1, 2, 3};
	wa_keypair ik;
	uint8_t priv[32];
	memset(priv, 0x42, sizeof priv);
	wa_keypair_from_private(&ik, priv);
	wa_pair_result *r = calloc(1, sizeof *r);
	if (!r)
		return 0;
	const uint8_t *in = data + 1;
	size_t len = size - 1;
	uint8_t *wrapped = NULL;
	if (data[0] & 1) {
		Wa__ADVSignedDeviceIdentityHMAC h = WA__ADVSIGNED_DEVICE_IDENTITY_HMAC__INIT;
		uint8_t mac[32];
		if (wa_hmac_sha256(mac, adv, sizeof adv, in, len) != 0)
			abort();
		h.has_details = h.has_hmac = 1;
		h.details = (ProtobufCBinaryData){len, (uint8_t *)in};
		h.hmac = (ProtobufCBinaryData){32, mac};
		size_t wl = wa__advsigned_device_identity_hmac__get_packed_size(&h);
		wrapped = malloc(wl ? wl : 1);
		if (!wrapped)
			abort();
		wa__advsigned_device_identity_hmac__pack(&h, wrapped);
		in = wrapped;
		len = wl;
	}
	if (wa_pair_verify_and_sign(in, len, adv, &ik, r) == 0) {
		if (r->adv_identity_len == 0 || r->adv_identity_len > sizeof r->adv_identity ||
		    !r->reply)
			abort();
		free(r->reply);
	}
	free(r);
	free(wrapped);
	return 0;
}
