/* Helpers shared by the src/binary unit tests: hex <-> bytes, JSON -> node. */
#ifndef WA_TEST_BINARY_HELPERS_H
#define WA_TEST_BINARY_HELPERS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binary/decode.h"
#include "binary/encode.h"
#include "binary/node.h"
#include "binary/node_json.h"
#include "util/codec.h"

/* Hex (spaces allowed) -> malloc'd bytes; aborts on bad test data. */
static inline uint8_t *hx(const char *hex, size_t *len)
{
	size_t n = strlen(hex);
	char *clean = malloc(n + 1);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (hex[i] != ' ')
			clean[k++] = hex[i];
	uint8_t *out;
	if (wa_hex_decode(clean, k, &out, len) != 0) {
		fprintf(stderr, "bad hex in test: %s\n", hex);
		abort();
	}
	free(clean);
	return out;
}

/* JSON text with ' for " (keeps test tables readable) -> node; aborts on failure. */
static inline wa_node *js(const char *text)
{
	char *t = strdup(text);
	for (char *p = t; *p; p++)
		if (*p == '\'')
			*p = '"';
	wa_node *n;
	char why[200];
	int rc = wa_node_from_json_text(&n, t, strlen(t), why, sizeof why);
	if (rc) {
		fprintf(stderr, "bad JSON in test (%s): %s\n  %s\n", wa_errname(rc), why, t);
		abort();
	}
	free(t);
	return n;
}

/* Encodes n and returns the hex of the bytes (malloc'd), or NULL with *rc set. */
static inline char *enc_hex(const wa_node *n, int *rc)
{
	uint8_t *b;
	size_t len;
	*rc = wa_bin_encode(n, &b, &len);
	if (*rc)
		return NULL;
	char *h = wa_hex_encode(b, len);
	free(b);
	return h;
}

/* Decodes a full frame given in hex; returns the WA code, *out set on success. */
static inline int dec_hex(const char *hex, wa_node **out)
{
	size_t len;
	uint8_t *b = hx(hex, &len);
	int rc = wa_bin_decode(b, len, out);
	free(b);
	return rc;
}

static inline void print_node(const char *label, const wa_node *n)
{
	char *s = NULL;
	if (n && wa_node_to_json_text(&s, n, false) == 0) {
		fprintf(stderr, "  %s: %s\n", label, s);
		free(s);
	}
}

#endif
