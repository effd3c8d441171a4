/* Fuzz target over wamd_front_check(), the request-head check of wamd's
 * HTTP front end (daemon/wamd_front_parse.c), alone. The front end calls it
 * again on a growing buffer as bytes arrive, so besides memory safety this
 * checks that the answer is consistent across prefixes:
 *  - an accepted head: every shorter prefix of it is "more", its head
 *    ends with CRLF CRLF, has no NUL, no bare LF and no line starting with
 *    SP or HTAB, fits WAMD_FRONT_HEAD_MAX and WAMD_FRONT_FIELDS_MAX;
 *  - a refusal (400, 431): every longer input is refused too, and a
 *    reason is given;
 *  - "more": the input is under WAMD_FRONT_HEAD_MAX bytes.
 * Input: the bytes as received. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAMD_FRONT_PARSE_ONLY
#include "wamd_front.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, size_t k, int st)
{
	fprintf(stderr, "fuzz_front_parse: %s (prefix %zu, result %d)\n", what, k, st);
	abort();
}

static int check(const uint8_t *p, size_t n, size_t *head)
{
	const char *why = NULL;
	int st = wamd_front_check((const char *)p, n, head, &why);
	if (st != WAMD_FRONT_HEAD_MORE && st != WAMD_FRONT_HEAD_OK && st != 400 && st != 431)
		fail("unknown result", n, st);
	if ((st == 400 || st == 431) && !why)
		fail("a refusal without a reason", n, st);
	if (st == WAMD_FRONT_HEAD_MORE && n >= WAMD_FRONT_HEAD_MAX)
		fail("more wanted past the head limit", n, st);
	return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 2 * WAMD_FRONT_HEAD_MAX)
		return 0;
	size_t head = 0;
	int st = check(data, size, &head);
	if (st == WAMD_FRONT_HEAD_OK) {
		if (head < 4 || head > size || head > WAMD_FRONT_HEAD_MAX || memcmp(data + head - 4, "\r\n\r\n", 4) != 0)
			fail("accepted head does not end with CRLF CRLF within the limit", size, st);
		size_t lines = 0;
		for (size_t i = 0; i < head; i++) {
			if (!data[i])
				fail("NUL in an accepted head", i, st);
			if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
				fail("bare LF in an accepted head", i, st);
			if (data[i] == '\r' && data[i + 1] != '\n')
				fail("CR without LF in an accepted head", i, st);
			if (data[i] == '\n' && i + 1 < head - 2 && (data[i + 1] == ' ' || data[i + 1] == '\t'))
				fail("folded line in an accepted head", i, st);
			if (data[i] == '\n')
				lines++;
		}
		if (lines < 2 || lines - 2 > WAMD_FRONT_FIELDS_MAX)
			fail("accepted head with a wrong number of lines", lines, st);
		/* every shorter prefix: more (the front end asked again for each) */
		for (size_t k = 0; k < head; k += 1 + k / 8) {
			size_t h2;
			if (check(data, k, &h2) != WAMD_FRONT_HEAD_MORE)
				fail("a prefix of an accepted head was not \"more\"", k, st);
		}
		size_t h2;
		if (check(data, head - 1, &h2) != WAMD_FRONT_HEAD_MORE)
			fail("the head minus its last LF was not \"more\"", head - 1, st);
	} else if (st == 400 || st == 431) {
		/* longer inputs stay refused: the bytes that follow change nothing */
		static const char tail[] = "\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\n\r\n";
		uint8_t *more = malloc(size + sizeof tail);
		if (!more)
			return 0;
		memcpy(more, data, size);
		memcpy(more + size, tail, sizeof tail - 1);
		size_t h2;
		int st2 = check(more, size + sizeof tail - 1, &h2);
		free(more);
		if (st2 != 400 && st2 != 431)
			fail("a refused input became acceptable when longer", size, st2);
	}
	return 0;
}
