/* Fuzz target over the JSON-to-protobuf encoder (src/session/msgjson_in.c,
 * wa_msg_pb_from_json), which turns a caller's quoted message (Baileys'
 * JSON of a Message, from the API or our store) into wire bytes. Any JSON
 * is refused or encoded; what it encodes stays within the size limit, is
 * wire format protobuf-c reads back as a Message, and that Message has a
 * JSON form again (wa_msg_pb_to_json). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "message.pb-c.h"
#include "session/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_OUT 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	char *json = malloc(size + 1);
	if (!json)
		return 0;
	memcpy(json, data, size);
	json[size] = 0;
	uint8_t *out = NULL;
	size_t len = 0;
	if (wa_msg_pb_from_json(&wa__message__descriptor, json, FUZZ_MAX_OUT, &out, &len) == 0) {
		if (len > FUZZ_MAX_OUT)
			abort();
		Wa__Message *m = wa__message__unpack(NULL, len, out);
		if (!m)
			abort();
		char *back = NULL;
		if (wa_msg_pb_to_json(m, &back) != 0 || !back)
			abort();
		free(back);
		wa__message__free_unpacked(m, NULL);
		free(out);
	}
	free(json);
	return 0;
}
