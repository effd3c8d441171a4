/* Fuzz target: the app-state codec (src/session/syncd.c) on server bytes.
 * First byte: 0 decodes a SyncdPatch, 1 a SyncdSnapshot (a fixed key is
 * known, so MACs mostly fail, exercising the checks before them); 2 takes
 * "index JSON \0 SyncActionValue bytes", encodes a patch with them and
 * requires it to decode back to the same index and value (the paths past
 * every MAC). */
#include <stdlib.h>
#include <string.h>

#include "session/syncd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t key_data[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const uint8_t key_id[6] = {0, 0, 0, 0, 0, 1};

static int keys(void *u, const uint8_t *id, size_t len, wa_syncd_keys *out)
{
	(void)u;
	if (len != sizeof key_id || memcmp(id, key_id, len) != 0)
		return WA_ENOTFOUND;
	return wa_syncd_expand_keys(key_data, sizeof key_data, out);
}

static int no_mac(void *u, const uint8_t i[32], uint8_t out[32])
{
	(void)u, (void)i, (void)out;
	return WA_ENOTFOUND;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 65536)
		return 0;
	wa_syncd_ops ops = {.get_keys = keys, .get_value_mac = no_mac, .user = NULL};
	wa_syncd_result r;
	uint8_t hash[WA_SYNCD_HASH_LEN] = {0};
	if (data[0] == 0) {
		int rc = wa_syncd_decode_patch("regular", data + 1, size - 1, 1, hash, &ops, &r);
		if (rc != 0 && (r.n != 0 || !r.error))
			abort(); /* a failure applies nothing and says why */
		wa_syncd_result_clear(&r);
	} else if (data[0] == 1) {
		int rc = wa_syncd_decode_snapshot("regular", data + 1, size - 1, &ops, &r);
		if (rc != 0 && (r.n != 0 || !r.error))
			abort();
		wa_syncd_result_clear(&r);
	} else if (data[0] == 2) {
		const uint8_t *nul = memchr(data + 1, 0, size - 1);
		if (!nul)
			return 0;
		size_t il = (size_t)(nul - (data + 1));
		char *idx = malloc(il + 1);
		if (!idx)
			return 0;
		memcpy(idx, data + 1, il);
		idx[il] = '\0';
		wa_syncd_new m = {.op = WA_SYNCD_SET, .index_json = idx, .value = nul + 1,
			.value_len = size - 1 - il - 1, .version = 2};
		uint8_t *b = NULL;
		size_t bl = 0;
		if (strlen(idx) == il &&
		    wa_syncd_encode_patch("regular", 0, hash, key_data, sizeof key_data, key_id, sizeof key_id, &m, 1,
			    NULL, NULL, &b, &bl) == 0) {
			uint8_t zero[WA_SYNCD_HASH_LEN] = {0};
			if (wa_syncd_decode_patch("regular", b, bl, 0, zero, &ops, &r) != 0 || r.n != 1 ||
			    strcmp(r.muts[0].index_json, idx) != 0 || memcmp(r.hash, hash, sizeof hash) != 0)
				abort();
			wa_syncd_result_clear(&r);
			free(b);
		}
		free(idx);
	}
	return 0;
}
