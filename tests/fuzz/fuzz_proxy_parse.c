/* Fuzz target: proxy parsers. First byte % 3 == 0: the rest is a proxy URL
 * for wa_tr_parse_proxy (comes from the daemon API / config); 1: an HTTP
 * CONNECT head for test_proxy's wa_connect_head_parse; 2: a JSON proxy row
 * {enabled, host, port, protocol, username, password} that wamd turns into
 * a URL (wamd_proxy_url), which must parse back to the same credentials.
 * Checks the outputs' invariants, not only the absence of crashes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transport/connect_head.h"
#include "transport/socks5.h"
#include "transport/ws.h"
#include "wamd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *p = (const char *)data + 1;
	size_t n = size - 1;
	if (data[0] % 4 == 3) {
		wa_socks5 s5;
		uint8_t out[WA_SOCKS5_MAX_OUT];
		size_t olen;
		bool auth = n > 0 && (p[0] & 1), v4 = n > 0 && (p[0] & 2);
		if ((v4 ? wa_socks4_start(&s5, "example.org", 443, auth ? "user" : NULL, out, sizeof out, &olen) :
			  wa_socks5_start(&s5, "example.org", 443, auth ? "user" : NULL, auth ? "pw" : NULL, out,
			    sizeof out, &olen)) != 0)
			abort();
		const uint8_t *q = (const uint8_t *)p + (n > 0);
		size_t left = n - (n > 0);
		while (left) {
			size_t chunk = 1 + q[0] % 16;
			if (chunk > left)
				chunk = left;
			size_t used = 0;
			int rc = wa_socks5_feed(&s5, q, chunk, &used, out, sizeof out, &olen);
			if (rc < 0) {
				if (s5.state != WA_S5_FAILED || s5.pass[0])
					abort(); /* failure is sticky and wipes the credentials */
				break;
			}
			if (used > chunk || olen > sizeof out || used == 0)
				abort();
			if (rc == 1) {
				if (s5.state != WA_S5_DONE)
					abort();
				break;
			}
			q += used;
			left -= used;
		}
	} else if (data[0] % 4 == 2) {
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
	} else if (data[0] % 4 == 0) {
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
		wa_connect_req r;
		int h = wa_connect_head_parse(b, n, &r);
		if (h > 0 && ((size_t)h > n || (size_t)h > WA_CONNECT_MAX_HEAD || r.port < 1 ||
			r.port > 65535 || !r.host[0] || strlen(r.host) > WA_CONNECT_MAX_HOST))
			abort();
		free(b);
	}
	return 0;
}
