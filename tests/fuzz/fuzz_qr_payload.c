/* Fuzz target: the pairing QR string parser (wasim receives the string
 * through its control API). Whatever parses must build back to the same
 * bytes when it was in canonical form, and parse again to the same keys. */
#include <stdlib.h>
#include <string.h>

#include "qr/payload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	wa_qr_payload p;
	if (wa_qr_payload_parse(&p, (const char *)data, size) != 0)
		return 0;
	char *s = NULL;
	size_t n = 0;
	if (wa_qr_payload_build(&s, &n, p.ref, p.ref_len, p.noise_pub, p.identity_pub,
		    p.adv_secret, p.platform[0] ? p.platform : NULL) != 0)
		abort();
	/* the parser accepts only canonical spellings, so the rebuild is exact */
	if (n != size || memcmp(s, data, n) != 0)
		abort();
	wa_qr_payload q;
	if (wa_qr_payload_parse(&q, s, n) != 0 || memcmp(&p, &q, sizeof p) != 0)
		abort();
	wa_qr_string_free(s);
	wa_qr_payload_clear(&p);
	wa_qr_payload_clear(&q);
	return 0;
}
