/* Fuzz target over the pacing settings parser (daemon/wamd_pace_limits.c,
 * the body of POST /wamd/pace/{name}): any JSON is refused or applied, and
 * what was applied survives its own JSON form unchanged (round trip). The
 * same bytes as the daemon setting pace_groups: refused, or groups that
 * print back to a spec parsing to the same groups. */
#include <jansson.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wamd_pace_limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	char *spec = malloc(size + 1);
	if (!spec)
		return 0;
	memcpy(spec, data, size);
	spec[size] = '\0';
	struct pace_group_limits *g = NULL, *g2 = NULL;
	size_t n = 0, n2 = 0;
	char gerr[200];
	if (pace_groups_parse(spec, &g, &n, gerr, sizeof gerr) == 0) {
		char *again = malloc(n * 64 + 1), *w = again;
		if (!again)
			abort();
		*w = '\0';
		for (size_t i = 0; i < n; i++) {
			if (!pace_group_name_ok(g[i].name) || g[i].per_min > PACE_LIMIT_MAX || g[i].per_hour > PACE_LIMIT_MAX ||
			    g[i].per_day > PACE_LIMIT_MAX)
				abort();
			w += sprintf(w, "%s%s:%u/%u/%u", i ? "," : "", g[i].name, g[i].per_min, g[i].per_hour, g[i].per_day);
		}
		if (pace_groups_parse(again, &g2, &n2, gerr, sizeof gerr) != 0 || n2 != n ||
		    (n && memcmp(g, g2, n * sizeof *g) != 0))
			abort();
		free(again);
		free(g2);
	}
	free(g);
	free(spec);
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
