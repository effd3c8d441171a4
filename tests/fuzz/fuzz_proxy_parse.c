/* Fuzz target: proxy parsers. First byte even: the rest is a proxy URL for
 * wa_tr_parse_proxy (comes from the daemon API / config); odd: the rest is
 * an HTTP CONNECT head for test_proxy's tp_parse_connect. Checks the
 * outputs' invariants, not only the absence of crashes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy_parse.h"
#include "transport/ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *p = (const char *)data + 1;
	size_t n = size - 1;
	if ((data[0] & 1) == 0) {
		char *s = malloc(n + 1);
		if (!s)
			return 0;
		memcpy(s, p, n);
		s[n] = '\0';
		wa_tr_proxy px;
		int rc = wa_tr_parse_proxy(s, &px);
		int crc = wa_tr_proxy_check(s);
		if ((rc != 0) != (crc != 0 && crc != WA_EUNSUPPORTED))
			abort(); /* check = parse + capability */
		if (rc == 0) {
			if (px.port < 1 || px.port > 65535 || !px.host[0] ||
			    strlen(px.user) + 1 + strlen(px.pass) > WA_TR_MAX_PROXY_AUTH ||
			    strchr(px.user, ':'))
				abort();
		}
		free(s);
	} else {
		char *b = malloc(n ? n : 1); /* exact size: ASan sees any overread */
		if (!b)
			return 0;
		memcpy(b, p, n);
		tp_connect_req r;
		int h = tp_parse_connect(b, n, &r);
		if (h > 0 && ((size_t)h > n || (size_t)h > TP_MAX_HEAD || r.port < 1 ||
			r.port > 65535 || !r.host[0] || strlen(r.host) > TP_MAX_HOST))
			abort();
		free(b);
	}
	return 0;
}
