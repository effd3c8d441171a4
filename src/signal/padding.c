/* WhatsApp random padding (see padding.h). */
#include "signal/padding.h"

#include <stdlib.h>
#include <string.h>

#include "util/seams.h"

int wa_sig_pad_n(const uint8_t *pt, size_t len, unsigned n, uint8_t **out, size_t *out_len)
{
	if (n < 1 || n > WA_SIG_PAD_MAX || (len && !pt))
		return WA_EINVAL;
	if (len > WA_SIG_MAX_PLAINTEXT)
		return WA_ETOOBIG;
	uint8_t *b = malloc(len + n);
	if (!b)
		return WA_ENOMEM;
	if (len)
		memcpy(b, pt, len);
	memset(b + len, (int)n, n);
	*out = b;
	*out_len = len + n;
	return 0;
}

int wa_sig_pad(const uint8_t *pt, size_t len, uint8_t **out, size_t *out_len)
{
	uint8_t r;
	wa_rand_bytes(&r, 1);
	/* as Baileys writeRandomPadMax16: (byte & 0x0f) + 1 */
	return wa_sig_pad_n(pt, len, (unsigned)(r & 0x0f) + 1, out, out_len);
}

int wa_sig_unpad(const uint8_t *padded, size_t len, size_t *pt_len)
{
	if (len == 0 || !padded)
		return WA_EMALFORMED;
	uint8_t n = padded[len - 1];
	if (n == 0 || n > WA_SIG_PAD_MAX || n > len)
		return WA_EMALFORMED;
	for (size_t i = len - n; i < len; i++)
		if (padded[i] != n)
			return WA_EMALFORMED;
	*pt_len = len - n;
	return 0;
}
