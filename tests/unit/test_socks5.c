/* Unit tests of the SOCKS5/4a client handshake codec (src/transport/socks5.c)
 * and the CONNECT head parser (connect_head.c): exact bytes sent for each
 * step (RFC 1928 / 1929 layouts), replies split at every byte, tunnel data
 * right after the connect reply left to the caller, and each refusal. */
#include <string.h>

#include "check.h"
#include "transport/connect_head.h"
#include "transport/socks5.h"

static const uint8_t CONNECT_OK_V4[] = {5, 0, 0, 1, 10, 0, 0, 1, 0x1f, 0x90};

/* Feeds a reply one byte at a time; returns the last rc. */
static int feed_bytewise(wa_socks5 *s, const uint8_t *p, size_t n, uint8_t *out, size_t *olen,
	size_t *total_used)
{
	int rc = 0;
	*total_used = 0;
	for (size_t i = 0; i < n; i++) {
		size_t used = 0, ol = 0;
		rc = wa_socks5_feed(s, p + i, 1, &used, out, WA_SOCKS5_MAX_OUT, &ol);
		if (rc < 0)
			return rc;
		*total_used += used;
		if (ol)
			*olen = ol;
		if (rc == 1)
			return rc;
	}
	return rc;
}

static void test_no_auth(void)
{
	wa_socks5 s;
	uint8_t out[WA_SOCKS5_MAX_OUT];
	size_t olen = 0, used = 0;
	CHECK(wa_socks5_start(&s, "example.org", 443, NULL, NULL, out, sizeof out, &olen) == 0);
	CHECK(olen == 3 && memcmp(out, "\x05\x01\x00", 3) == 0);
	const uint8_t choose_none[] = {5, 0};
	CHECK(wa_socks5_feed(&s, choose_none, 2, &used, out, sizeof out, &olen) == 0 && used == 2);
	/* connect by name: 05 01 00 03 len name port */
	CHECK(olen == 4 + 1 + 11 + 2 && memcmp(out, "\x05\x01\x00\x03\x0b" "example.org" "\x01\xbb", olen) == 0);
	/* reply split byte by byte, then tunnel bytes in the same read */
	uint8_t rep[sizeof CONNECT_OK_V4 + 3];
	memcpy(rep, CONNECT_OK_V4, sizeof CONNECT_OK_V4);
	memcpy(rep + sizeof CONNECT_OK_V4, "abc", 3);
	CHECK(feed_bytewise(&s, rep, sizeof CONNECT_OK_V4 - 1, out, &olen, &used) == 0);
	CHECK(wa_socks5_feed(&s, rep + sizeof CONNECT_OK_V4 - 1, 4, &used, out, sizeof out, &olen) == 1);
	CHECK(used == 1 && s.state == WA_S5_DONE); /* "abc" is tunnel data */
	CHECK(wa_socks5_feed(&s, rep, 1, &used, out, sizeof out, &olen) == WA_ESTATE);
}

static void test_auth(void)
{
	wa_socks5 s;
	uint8_t out[WA_SOCKS5_MAX_OUT];
	size_t olen = 0, used = 0;
	CHECK(wa_socks5_start(&s, "127.0.0.1", 8080, "alice", "p@ss", out, sizeof out, &olen) == 0);
	CHECK(olen == 4 && memcmp(out, "\x05\x02\x00\x02", 4) == 0);
	const uint8_t choose_up[] = {5, 2};
	CHECK(wa_socks5_feed(&s, choose_up, 2, &used, out, sizeof out, &olen) == 0);
	CHECK(olen == 3 + 5 + 4 && memcmp(out, "\x01\x05" "alice" "\x04" "p@ss", olen) == 0);
	const uint8_t auth_ok[] = {1, 0};
	CHECK(wa_socks5_feed(&s, auth_ok, 2, &used, out, sizeof out, &olen) == 0);
	/* an IPv4 literal goes as ATYP 1 */
	CHECK(olen == 10 && memcmp(out, "\x05\x01\x00\x01\x7f\x00\x00\x01\x1f\x90", 10) == 0);
	CHECK(strcmp(s.user, "alice") == 0); /* kept until the tunnel is up */
	/* connect reply with a bound name (ATYP 3) */
	const uint8_t rep_name[] = {5, 0, 0, 3, 4, 'h', 'o', 's', 't', 0, 80};
	CHECK(wa_socks5_feed(&s, rep_name, sizeof rep_name, &used, out, sizeof out, &olen) == 1);
	CHECK(used == sizeof rep_name && s.user[0] == '\0' && s.pass[0] == '\0'); /* wiped */

	/* refusals */
	CHECK(wa_socks5_start(&s, "h", 1, "alice", "bad", out, sizeof out, &olen) == 0);
	CHECK(wa_socks5_feed(&s, choose_up, 2, &used, out, sizeof out, &olen) == 0);
	const uint8_t auth_bad[] = {1, 1};
	CHECK(wa_socks5_feed(&s, auth_bad, 2, &used, out, sizeof out, &olen) == WA_EPROXY);
	CHECK(s.fail == WA_S5_AUTH_REFUSED && s.pass[0] == '\0');

	CHECK(wa_socks5_start(&s, "h", 1, NULL, NULL, out, sizeof out, &olen) == 0);
	const uint8_t none_ok[] = {5, 0xff};
	CHECK(wa_socks5_feed(&s, none_ok, 2, &used, out, sizeof out, &olen) == WA_EPROXY);
	CHECK(s.fail == WA_S5_NO_METHOD);

	/* server picks user/pass although we offered none: refused */
	CHECK(wa_socks5_start(&s, "h", 1, NULL, NULL, out, sizeof out, &olen) == 0);
	CHECK(wa_socks5_feed(&s, choose_up, 2, &used, out, sizeof out, &olen) == WA_EPROXY);

	CHECK(wa_socks5_start(&s, "h", 1, NULL, NULL, out, sizeof out, &olen) == 0);
	const uint8_t choose_none[] = {5, 0};
	CHECK(wa_socks5_feed(&s, choose_none, 2, &used, out, sizeof out, &olen) == 0);
	const uint8_t rep_refused[] = {5, 5, 0, 1, 0, 0, 0, 0, 0, 0};
	CHECK(wa_socks5_feed(&s, rep_refused, sizeof rep_refused, &used, out, sizeof out, &olen) == WA_EPROXY);
	CHECK(s.fail == WA_S5_CONNECT_REFUSED && s.rep == 5);
	CHECK(strcmp(wa_socks5_rep_name(5), "connection refused") == 0);

	/* malformed */
	CHECK(wa_socks5_start(&s, "h", 1, NULL, NULL, out, sizeof out, &olen) == 0);
	const uint8_t http[] = {'H', 'T'};
	CHECK(wa_socks5_feed(&s, http, 2, &used, out, sizeof out, &olen) == WA_EMALFORMED);
	CHECK(wa_socks5_start(&s, "h", 1, NULL, NULL, out, sizeof out, &olen) == 0);
	CHECK(wa_socks5_feed(&s, choose_none, 2, &used, out, sizeof out, &olen) == 0);
	const uint8_t bad_atyp[] = {5, 0, 0, 9, 0, 0, 0};
	CHECK(wa_socks5_feed(&s, bad_atyp, sizeof bad_atyp, &used, out, sizeof out, &olen) == WA_EMALFORMED);

	/* arguments */
	char big[300];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	CHECK(wa_socks5_start(&s, big, 1, NULL, NULL, out, sizeof out, &olen) == WA_ETOOBIG);
	CHECK(wa_socks5_start(&s, "h", 1, big, "p", out, sizeof out, &olen) == WA_ETOOBIG);
	CHECK(wa_socks5_start(&s, "h", 0, NULL, NULL, out, sizeof out, &olen) == WA_EINVAL);
	CHECK(wa_socks5_start(&s, "", 1, NULL, NULL, out, sizeof out, &olen) == WA_EINVAL);
	CHECK(wa_socks5_start(&s, "h", 1, NULL, NULL, out, 10, &olen) == WA_ETOOBIG);
}

static void test_socks4(void)
{
	wa_socks5 s;
	uint8_t out[WA_SOCKS5_MAX_OUT];
	size_t olen = 0, used = 0;
	/* 4a: port, 0.0.0.1, user id, NUL, name, NUL */
	CHECK(wa_socks4_start(&s, "web.whatsapp.com", 443, "alice", out, sizeof out, &olen) == 0);
	CHECK(olen == 8 + 6 + 17 && memcmp(out, "\x04\x01\x01\xbb\x00\x00\x00\x01" "alice\0"
		"web.whatsapp.com\0", olen) == 0);
	/* granted, split, tunnel bytes after */
	const uint8_t ok[] = {0, 0x5a, 0, 0, 0, 0, 0, 0, 'x'};
	CHECK(wa_socks5_feed(&s, ok, 3, &used, out, sizeof out, &olen) == 0 && used == 3);
	CHECK(wa_socks5_feed(&s, ok + 3, 6, &used, out, sizeof out, &olen) == 1 && used == 5);
	/* IPv4 literal, no user id */
	CHECK(wa_socks4_start(&s, "10.1.2.3", 80, NULL, out, sizeof out, &olen) == 0);
	CHECK(olen == 9 && memcmp(out, "\x04\x01\x00\x50\x0a\x01\x02\x03\x00", 9) == 0);
	const uint8_t mismatch[] = {0, 0x5d, 0, 0, 0, 0, 0, 0};
	CHECK(wa_socks5_feed(&s, mismatch, 8, &used, out, sizeof out, &olen) == WA_EPROXY);
	CHECK(s.fail == WA_S5_CONNECT_REFUSED && s.rep == 0x5d);
	CHECK(strcmp(wa_socks5_rep_name(0x5d), "rejected: identd user id mismatch") == 0);
	CHECK(wa_socks4_start(&s, "h", 1, NULL, out, sizeof out, &olen) == 0);
	const uint8_t socks5_answer[] = {5, 0, 0, 1, 0, 0, 0, 0};
	CHECK(wa_socks5_feed(&s, socks5_answer, 8, &used, out, sizeof out, &olen) == WA_EMALFORMED);
}

static void test_connect_head(void)
{
	wa_connect_req r;
	const char full[] = "CONNECT web.whatsapp.com:443 HTTP/1.1\r\nHost: web.whatsapp.com:443\r\n"
			    "User-agent: lws\r\nProxy-authorization: basic d2E6eHk=\r\n\r\nrest";
	int h = wa_connect_head_parse(full, sizeof full - 1, &r);
	CHECK(h == (int)(sizeof full - 1 - 4));
	CHECK(strcmp(r.host, "web.whatsapp.com") == 0 && r.port == 443 && r.has_auth &&
		strcmp(r.cred_b64, "d2E6eHk=") == 0);
	/* every proper prefix needs more */
	for (size_t n = 0; n < sizeof full - 1 - 4; n++)
		CHECK(wa_connect_head_parse(full, n, &r) == 0);
	CHECK(wa_connect_head_parse("GET / HTTP/1.1\r\n\r\n", 18, &r) == -1);
	CHECK(wa_connect_head_parse("CONNECT h HTTP/1.1\r\n\r\n", 22, &r) == -1);
	CHECK(wa_connect_head_parse("CONNECT h:0 HTTP/1.1\r\n\r\n", 24, &r) == -1);
	CHECK(wa_connect_head_parse("CONNECT h:1 HTTP/2\r\n\r\n", 22, &r) == -1);
	CHECK(wa_connect_head_parse("CONNECT h:1 HTTP/1.0\r\nX\r\n\r\n", 27, &r) == -1);
	CHECK(wa_connect_head_parse("CONNECT h:1 HTTP/1.0\r\nProxy-Authorization: Digest x\r\n\r\n", 55, &r) == -1);
	static char big[WA_CONNECT_MAX_HEAD + 10];
	memset(big, 'a', sizeof big);
	CHECK(wa_connect_head_parse(big, sizeof big, &r) == -1);
}

int main(void)
{
	test_no_auth();
	test_auth();
	test_socks4();
	test_connect_head();
	return check_exit("test_socks5");
}
