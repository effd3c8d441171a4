/* src/transport/connect_head.c: bounded parser of an HTTP CONNECT request
 * head (see connect_head.h). Every read is checked against len. */
#include "transport/connect_head.h"

#include <string.h>
#include <strings.h>

static const char *find_crlfcrlf(const char *b, size_t len)
{
	for (size_t i = 0; i + 3 < len; i++)
		if (b[i] == '\r' && b[i + 1] == '\n' && b[i + 2] == '\r' && b[i + 3] == '\n')
			return b + i;
	return NULL;
}

/* host:port (no brackets, port 1..65535) from [p, e) */
static int parse_target(const char *p, const char *e, wa_connect_req *r)
{
	const char *colon = NULL;
	for (const char *q = p; q < e; q++)
		if (*q == ':')
			colon = q;
	if (!colon || colon == p || (size_t)(colon - p) > WA_CONNECT_MAX_HOST || e - colon < 2 ||
	    e - colon > 6)
		return -1;
	long port = 0;
	for (const char *q = colon + 1; q < e; q++) {
		if (*q < '0' || *q > '9')
			return -1;
		port = port * 10 + (*q - '0');
	}
	if (port < 1 || port > 65535)
		return -1;
	for (const char *q = p; q < colon; q++)
		if ((unsigned char)*q <= ' ' || *q == '/' || *q == '@')
			return -1;
	memcpy(r->host, p, (size_t)(colon - p));
	r->host[colon - p] = '\0';
	r->port = (int)port;
	return 0;
}

int wa_connect_head_parse(const char *buf, size_t len, wa_connect_req *out)
{
	size_t scan = len < WA_CONNECT_MAX_HEAD ? len : WA_CONNECT_MAX_HEAD;
	const char *end = find_crlfcrlf(buf, scan);
	if (!end)
		return len >= WA_CONNECT_MAX_HEAD ? -1 : 0;
	size_t head = (size_t)(end - buf) + 4;
	wa_connect_req r;
	memset(&r, 0, sizeof r);
	/* request line */
	const char *p = buf, *line_end = memchr(buf, '\r', (size_t)(end - buf) + 1);
	if (!line_end || line_end - p < 8 || memcmp(p, "CONNECT ", 8) != 0)
		return -1;
	p += 8;
	const char *sp = memchr(p, ' ', (size_t)(line_end - p));
	if (!sp || parse_target(p, sp, &r))
		return -1;
	if (line_end - sp != 9 || memcmp(sp + 1, "HTTP/1.", 7) != 0 || (sp[8] != '0' && sp[8] != '1'))
		return -1;
	/* headers: each "Name: value\r\n" */
	p = line_end + 2;
	while (p < end + 2) {
		const char *le = memchr(p, '\r', (size_t)(end + 2 - p));
		if (!le || le + 1 > end + 2 || le[1] != '\n')
			return -1;
		const char *colon = memchr(p, ':', (size_t)(le - p));
		if (!colon || colon == p)
			return -1;
		static const char name[] = "Proxy-Authorization";
		if ((size_t)(colon - p) == sizeof name - 1 && strncasecmp(p, name, sizeof name - 1) == 0) {
			const char *v = colon + 1;
			while (v < le && *v == ' ')
				v++;
			if (le - v < 6 || strncasecmp(v, "basic ", 6) != 0)
				return -1;
			v += 6;
			while (v < le && *v == ' ')
				v++;
			size_t n = (size_t)(le - v);
			if (n == 0 || n > WA_CONNECT_MAX_CRED || r.has_auth)
				return -1;
			memcpy(r.cred_b64, v, n);
			r.cred_b64[n] = '\0';
			r.has_auth = true;
		}
		p = le + 2;
	}
	*out = r;
	return (int)head;
}
