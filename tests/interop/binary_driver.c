/* Interop driver for the binary node codec: reads length-prefixed requests
 * on stdin and answers each on stdout, using libwa directly (not wamctl).
 *   request:  op(1) len(u32 BE) payload
 *     'E' payload = node as JSON (docs/wamctl-node.md) -> the encoded frame
 *     'D' payload = a frame (flags byte first)         -> the node as JSON
 *   response: status(i32 BE: 0 or a WA_E* code) len(u32 BE) payload
 *     (on error the payload is the error's name)
 * Driven by tests/interop/binary_nodes.mjs. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binary/decode.h"
#include "binary/encode.h"
#include "binary/node_json.h"

/* A request larger than any frame or its JSON form is a harness bug. */
#define DRIVER_MAX_REQUEST (64u * 1024 * 1024)

static int read_full(void *p, size_t n)
{
	return fread(p, 1, n, stdin) == n ? 0 : -1;
}

static void put_u32(uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
	fwrite(b, 1, 4, stdout);
}

static void respond(int status, const void *p, size_t n)
{
	put_u32((uint32_t)(int32_t)status);
	put_u32((uint32_t)n);
	if (n)
		fwrite(p, 1, n, stdout);
}

static void respond_error(int rc)
{
	const char *name = wa_errname(rc);
	respond(rc, name, strlen(name));
}

int main(void)
{
	unsigned long requests = 0;
	for (;;) {
		uint8_t hdr[5];
		size_t got = fread(hdr, 1, 5, stdin);
		if (got == 0 && feof(stdin))
			break;
		if (got != 5) {
			fprintf(stderr, "binary_driver: truncated request header\n");
			return 1;
		}
		uint32_t len = (uint32_t)hdr[1] << 24 | (uint32_t)hdr[2] << 16 | (uint32_t)hdr[3] << 8 | hdr[4];
		if (len > DRIVER_MAX_REQUEST) {
			fprintf(stderr, "binary_driver: request of %u bytes\n", len);
			return 1;
		}
		uint8_t *p = malloc(len ? len : 1);
		if (!p || read_full(p, len) != 0) {
			fprintf(stderr, "binary_driver: truncated request\n");
			free(p);
			return 1;
		}
		requests++;
		wa_node *n = NULL;
		int rc;
		if (hdr[0] == 'E') {
			uint8_t *out;
			size_t out_len;
			char why[200];
			rc = wa_node_from_json_text(&n, (const char *)p, len, why, sizeof why);
			if (rc)
				fprintf(stderr, "binary_driver: request %lu: bad JSON node: %s\n", requests, why);
			else
				rc = wa_bin_encode(n, &out, &out_len);
			if (rc) {
				respond_error(rc);
			} else {
				respond(0, out, out_len);
				free(out);
			}
		} else if (hdr[0] == 'D') {
			char *json;
			rc = wa_bin_decode(p, len, &n);
			if (rc == 0)
				rc = wa_node_to_json_text(&json, n, false);
			if (rc) {
				respond_error(rc);
			} else {
				respond(0, json, strlen(json));
				free(json);
			}
		} else {
			fprintf(stderr, "binary_driver: unknown op 0x%02x\n", hdr[0]);
			free(p);
			return 1;
		}
		wa_node_free(n);
		free(p);
	}
	if (fflush(stdout) != 0)
		return 1;
	fprintf(stderr, "binary_driver: %lu requests\n", requests);
	return 0;
}
