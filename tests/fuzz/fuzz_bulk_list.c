/* Fuzz target over a bulk job's body (POST /wamd/bulk/{name}, read off the
 * event loop by daemon/wamd_pace_bulk_read.c): any bytes are refused with a
 * reason and nothing held, or read into a list whose every recipient has a
 * JID, variables that parse back to a JSON object, and a text the template
 * renders to with them. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wamd_pace_bulk_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 20)
		return 0;
	static int seeded;
	if (!seeded++)
		json_object_seed(0);
	struct wamd_bulk_list l;
	wamd_bulk_list_read((const char *)data, size, &l, NULL);
	if (l.status) {
		if ((l.status != 400 && l.status != 500) || !l.err[0] || l.tpl || l.buf || l.off || l.n)
			abort();
		return 0;
	}
	if (!l.tpl || !l.n || l.n > WAMD_BULK_MAX_RECIPIENTS || !l.buf || !l.off || l.send_at < 0)
		abort();
	for (size_t i = 0; i < l.n; i++) {
		const char *jid = wamd_bulk_list_jid(&l, i);
		if (!strchr(jid, '@'))
			abort();
		json_t *v = json_loads(wamd_bulk_list_vars(&l, i), 0, NULL);
		if (!json_is_object(v))
			abort();
		char missing[64];
		char *text = wamd_bulk_render(l.tpl, v, missing, sizeof missing);
		if (!text)
			abort();
		free(text);
		json_decref(v);
	}
	wamd_bulk_list_free(&l);
	return 0;
}
