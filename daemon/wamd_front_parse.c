/* The request-head check of the HTTP front end (wamd_front.c): a strict
 * reading of RFC 9112 sections 2-5 over the bytes received so far. Pure
 * (no I/O, no lws), so the fuzz target fuzz_front_parse drives it alone.
 *
 *   request-line = token SP target SP "HTTP/" DIGIT "." DIGIT CRLF
 *   field-line   = token ":" OWS value OWS CRLF
 *   end          = CRLF
 *
 * Lines end with CRLF only: a bare LF or a CR not followed by LF is a 400
 * (RFC 9112 lets a server refuse both; lws would read them differently
 * than a proxy in front of wamd might). NUL and every other control byte
 * but HTAB in a value are a 400, and so is a line that starts with SP or
 * HTAB (obs-fold, or whitespace before the first field), a field name with
 * whitespace before its colon, a line without a colon and an empty name.
 * The target is any run of bytes above SP but DEL (raw UTF-8 passes; lws
 * and the router judge it). A head longer than WAMD_FRONT_HEAD_MAX bytes
 * or with more than WAMD_FRONT_FIELDS_MAX field lines is a 431. */
#include <stdbool.h>
#include <string.h>

#include "wamd_front.h"

static bool tchar(unsigned char ch)
{
	if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'))
		return true;
	return ch && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

/* A field value byte: VCHAR, SP, HTAB or obs-text. */
static bool vchar(unsigned char ch)
{
	return ch == ' ' || ch == '\t' || (ch > 0x20 && ch != 0x7f);
}

static int request_line(const unsigned char *p, size_t n, const char **why)
{
	size_t i = 0;
	*why = "Malformed request line";
	while (i < n && tchar(p[i]))
		i++;
	if (i == 0 || i >= n || p[i] != ' ')
		return 400;
	size_t t = ++i;
	while (i < n && p[i] > 0x20 && p[i] != 0x7f)
		i++;
	if (i == t || i >= n || p[i] != ' ')
		return 400;
	i++;
	if (n - i != 8 || memcmp(p + i, "HTTP/1.", 7) != 0 || p[i + 7] < '0' || p[i + 7] > '9')
		return 400;
	return 0;
}

static int field_line(const unsigned char *p, size_t n, const char **why)
{
	size_t i = 0;
	if (n && (p[0] == ' ' || p[0] == '\t')) {
		*why = "Folded or indented header line";
		return 400;
	}
	while (i < n && tchar(p[i]))
		i++;
	if (i == 0 || i >= n || p[i] != ':') {
		*why = i < n && (p[i] == ' ' || p[i] == '\t') ? "Whitespace before a header's colon"
							       : "Malformed header line";
		return 400;
	}
	for (i++; i < n; i++)
		if (!vchar(p[i])) {
			*why = p[i] ? "Control character in a header value" : "NUL byte in the request head";
			return 400;
		}
	return 0;
}

int wamd_front_check(const char *buf, size_t len, size_t *head_len, const char **why)
{
	const unsigned char *p = (const unsigned char *)buf;
	size_t start = 0, fields = 0;
	*head_len = 0;
	*why = NULL;
	/* a head ends within the limit: bytes past it are never looked at */
	if (len > WAMD_FRONT_HEAD_MAX)
		len = WAMD_FRONT_HEAD_MAX;
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\n') {
			*why = "Bare LF line ending";
			return 400;
		}
		if (p[i] != '\r')
			continue;
		if (i + 1 == len)
			break; /* CR last: its LF may follow */
		if (p[i + 1] != '\n') {
			*why = "CR without LF";
			return 400;
		}
		size_t n = i - start;
		int st;
		if (start == 0)
			st = request_line(p, n, why);
		else if (n == 0) {
			*head_len = i + 2;
			return WAMD_FRONT_HEAD_OK;
		} else if (++fields > WAMD_FRONT_FIELDS_MAX) {
			*why = "Too many header lines";
			st = 431;
		} else
			st = field_line(p + start, n, why);
		if (st)
			return st;
		start = i + 2;
		i++;
	}
	/* an unfinished line: its bytes so far must already be valid */
	for (size_t i = start; i < len; i++)
		if (!p[i]) {
			*why = "NUL byte in the request head";
			return 400;
		}
	if (start > 0 && len > start && (p[start] == ' ' || p[start] == '\t')) {
		*why = "Folded or indented header line";
		return 400;
	}
	if (len >= WAMD_FRONT_HEAD_MAX) {
		*why = "Request head larger than 4 KiB";
		return 431;
	}
	return WAMD_FRONT_HEAD_MORE;
}
