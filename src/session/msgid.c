/* Message ids in the shape Baileys' generateMessageIDV2 gives (messaging.md
 * §0, vector §12.5): "3EB0" + the first 9 bytes of a SHA-256 over a fixed
 * 44-byte layout, upper-case hex. Ids are opaque to peers; only the shape
 * matters, and the vector pins our layout to Baileys'. */
#include <string.h>

#include "crypto/crypto.h"
#include "session/msg.h"
#include "util/seams.h"

#define ID_BUF_LEN 44
#define ID_USER_OFF 8
#define ID_RAND_OFF 28

void wa_msg_id_from(const char *me, int64_t unix_s, const uint8_t rnd[16], char out[23])
{
	uint8_t buf[ID_BUF_LEN] = {0};
	uint64_t t = (uint64_t)unix_s;
	for (int i = 0; i < 8; i++)
		buf[i] = (uint8_t)(t >> (56 - 8 * i));
	if (me) {
		/* user part only: up to ':' or '@' */
		size_t ul = strcspn(me, ":@");
		static const char suffix[] = "@c.us";
		/* Buffer.write truncates at the buffer end; so do we */
		size_t off = ID_USER_OFF;
		for (size_t i = 0; i < ul && off < ID_BUF_LEN; i++)
			buf[off++] = (uint8_t)me[i];
		for (size_t i = 0; i < sizeof suffix - 1 && off < ID_BUF_LEN; i++)
			buf[off++] = (uint8_t)suffix[i];
	}
	memcpy(buf + ID_RAND_OFF, rnd, 16);
	uint8_t h[WA_SHA256_LEN];
	wa_sha256(h, buf, sizeof buf);
	static const char hx[] = "0123456789ABCDEF";
	memcpy(out, "3EB0", 4);
	for (int i = 0; i < 9; i++) {
		out[4 + 2 * i] = hx[h[i] >> 4];
		out[5 + 2 * i] = hx[h[i] & 15];
	}
	out[22] = '\0';
}

void wa_msg_new_id(const char *me, int64_t unix_s, char out[23])
{
	uint8_t rnd[16];
	wa_rand_bytes(rnd, sizeof rnd);
	wa_msg_id_from(me, unix_s, rnd, out);
}
