/* Fuzz target: JSON text (the wamctl / API form) -> wa_node. Whatever
 * converts must encode, decode back to the same tree (wire equality) and
 * convert back to JSON and again to the identical tree. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "binary/decode.h"
#include "binary/encode.h"
#include "binary/node_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	wa_node *n = NULL, *m = NULL, *j = NULL;
	uint8_t *enc = NULL;
	char *json = NULL;
	size_t len;
	char why[128];
	if (wa_node_from_json_text(&n, (const char *)data, size, why, sizeof why) != 0)
		return 0;
	if (wa_bin_encode(n, &enc, &len) != 0 || wa_bin_decode(enc, len, &m) != 0 ||
	    !wa_node_equal_wire(n, m))
		abort();
	if (wa_node_to_json_text(&json, n, true) != 0 ||
	    wa_node_from_json_text(&j, json, strlen(json), NULL, 0) != 0 || !wa_node_equal(n, j))
		abort();
	wa_node_free(n);
	wa_node_free(m);
	wa_node_free(j);
	free(enc);
	free(json);
	return 0;
}
