/* Fuzz target: proxy parsers. First byte % 3 == 0: the rest is a proxy URL
 * for wa_tr_parse_proxy (comes from the daemon API / config); 1: an HTTP
 * CONNECT head for test_proxy's tp_parse_connect; 2: a JSON proxy row
 * {enabled, host, port, protocol, username, password} that wamd turns into
 * a URL (wamd_proxy_url), which must parse back to the same credentials.
 * Checks the outputs' invariants, not only the absence of crashes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy_parse.h"
#include "transport/ws.h"
#include "wamd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *p = (const char *)data + 1;
	size_t n = size - 1;
	if (data[0] % 3 == 2) {
		json_t *row = json_loadb(p, n, 0, NULL);
		char url[WAMD_PROXY_URL_MAX];
		wa_tr_proxy px;
		if (row && wamd_proxy_url(row, url, sizeof url) == 0 && url[0] &&
		    wa_tr_parse_proxy(url, &px) == 0) {
			const char *u = json_string_value(json_object_get(row, "username"));
			const char *pw = json_string_value(json_object_get(row, "password"));
			if (u && *u && (!px.has_auth || strcmp(px.user, u) != 0 || strcmp(px.pass, pw ? pw : "") != 0))
				abort(); /* %-encoding must round-trip */
		}
		json_decref(row);
	} else if (data[0] % 3 == 0) {
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
