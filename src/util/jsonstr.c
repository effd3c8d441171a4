/* JSON strings as text (jsonstr.h): jansson's validation and escapes. */
#include "util/jsonstr.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Length of the UTF-8 sequence at p, 0 when invalid (jansson's rules). */
static size_t utf8_len(const unsigned char *p)
{
	unsigned c = p[0];
	size_t n;
	uint32_t v;
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
		v = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		v = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		v = c & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0; /* the terminating NUL stops here too */
		v = (v << 6) | (p[i] & 0x3F);
	}
	if ((n == 3 && (v < 0x800 || (v >= 0xD800 && v <= 0xDFFF))) || (n == 4 && (v < 0x10000 || v > 0x10FFFF)))
		return 0;
	return n;
}

bool wa_json_utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; p[i];) {
		size_t n = utf8_len(p + i);
		if (!n)
			return false;
		i += n;
	}
	return true;
}

int wa_json_str(wa_writer *w, const char *s)
{
	if (!wa_json_utf8_ok(s))
		return WA_EMALFORMED;
	const unsigned char *p = (const unsigned char *)s;
	(void)wa_wr_bytes(w, "\"", 1);
	const unsigned char *run = p;
	for (; *p; p++) {
		unsigned c = *p;
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		(void)wa_wr_bytes(w, run, (size_t)(p - run));
		char seq[8];
		const char *e = seq;
		switch (c) {
		case '\\': e = "\\\\"; break;
		case '"': e = "\\\""; break;
		case '\b': e = "\\b"; break;
		case '\f': e = "\\f"; break;
		case '\n': e = "\\n"; break;
		case '\r': e = "\\r"; break;
		case '\t': e = "\\t"; break;
		default: snprintf(seq, sizeof seq, "\\u%04X", c);
		}
		(void)wa_wr_bytes(w, e, strlen(e));
		run = p + 1;
	}
	(void)wa_wr_bytes(w, run, (size_t)(p - run));
	(void)wa_wr_bytes(w, "\"", 1);
	return 0;
}
