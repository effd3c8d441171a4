/* Fuzz target: transport plaintext (flags byte, optional zlib) -> wa_node.
 * Besides not crashing, anything that decodes must re-encode, decode to the
 * same tree (wire equality) and survive node -> JSON -> node exactly. */
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
	if (wa_bin_decode(data, size, &n) != 0)
		return 0;
	int rc = wa_bin_encode(n, &enc, &len);
	/* canonical re-encoding may outgrow a crafted input only near the cap */
	if (rc == WA_ETOOBIG)
		goto done;
	if (rc != 0 || wa_bin_decode(enc, len, &m) != 0 || !wa_node_equal_wire(n, m))
		abort();
	if (wa_node_to_json_text(&json, n, false) != 0 ||
	    wa_node_from_json_text(&j, json, strlen(json), NULL, 0) != 0 || !wa_node_equal(n, j))
		abort();
done:
	wa_node_free(n);
	wa_node_free(m);
	wa_node_free(j);
	free(enc);
	free(json);
	return 0;
}
