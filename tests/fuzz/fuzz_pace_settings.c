/* Fuzz target over the pacing settings parser (daemon/wamd_pace_limits.c,
 * the body of POST /wamd/pace/{name}): any JSON is refused or applied, and
 * what was applied survives its own JSON form unchanged (round trip). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wamd_pace_limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	json_t *in = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	if (!in)
		return 0;
	struct pace_cfg c;
	pace_cfg_defaults(&c);
	char err[160];
	if (json_is_object(in) && pace_cfg_apply(&c, in, err, sizeof err) == 0) {
		json_t *out = pace_cfg_json(&c);
		struct pace_cfg back;
		pace_cfg_defaults(&back);
		if (!out || pace_cfg_apply(&back, out, err, sizeof err) != 0 || memcmp(&back, &c, sizeof c) != 0)
			abort();
		json_decref(out);
	}
	json_decref(in);
	return 0;
}
