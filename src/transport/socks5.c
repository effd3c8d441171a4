/* src/transport/socks5.c: the SOCKS5 and SOCKS4a client handshakes as a
 * byte-in / byte-out state machine (see socks5.h). Replies are accumulated in a
 * fixed buffer and only read once complete, so every read is bounded by
 * in_len. */
#include <arpa/inet.h>
#include <string.h>

#include "transport/socks5.h"

#define S5_VER 5
#define S5_AUTH_VER 1
#define S5_M_NONE 0x00
#define S5_M_USERPASS 0x02
#define S5_M_REFUSED 0xff
#define S5_CMD_CONNECT 1
#define S5_ATYP_V4 1
#define S5_ATYP_NAME 3
#define S5_ATYP_V6 4

static int put_connect(const wa_socks5 *s, uint8_t *out, size_t cap, size_t *out_len)
{
	size_t hl = strlen(s->host), o = 0;
	struct in_addr v4;
	bool is_v4 = inet_pton(AF_INET, s->host, &v4) == 1;
	if (cap < 4 + 1 + hl + 2)
		return WA_ETOOBIG;
	out[o++] = S5_VER;
	out[o++] = S5_CMD_CONNECT;
	out[o++] = 0;
	if (is_v4) {
		out[o++] = S5_ATYP_V4;
		memcpy(out + o, &v4, 4);
		o += 4;
	} else {
		/* names go to the proxy unresolved (socks5h semantics): DNS
		 * happens where the proxy is */
		out[o++] = S5_ATYP_NAME;
		out[o++] = (uint8_t)hl;
		memcpy(out + o, s->host, hl);
		o += hl;
	}
	out[o++] = (uint8_t)(s->port >> 8);
	out[o++] = (uint8_t)(s->port & 0xff);
	*out_len = o;
	return 0;
}

int wa_socks5_start(wa_socks5 *s, const char *host, int port, const char *user, const char *pass,
	uint8_t *out, size_t cap, size_t *out_len)
{
	if (!s || !host || !out || !out_len || port < 1 || port > 65535 || (pass && !user))
		return WA_EINVAL;
	size_t hl = strlen(host);
	if (hl == 0)
		return WA_EINVAL;
	if (hl > 255 || (user && strlen(user) > 255) || (pass && strlen(pass) > 255))
		return WA_ETOOBIG;
	if (cap < WA_SOCKS5_MAX_OUT)
		return WA_ETOOBIG;
	memset(s, 0, sizeof *s);
	memcpy(s->host, host, hl + 1);
	s->port = (uint16_t)port;
	if (user) {
		s->has_auth = true;
		memcpy(s->user, user, strlen(user) + 1);
		if (pass)
			memcpy(s->pass, pass, strlen(pass) + 1);
	}
	size_t o = 0;
	out[o++] = S5_VER;
	if (s->has_auth) {
		out[o++] = 2;
		out[o++] = S5_M_NONE;
		out[o++] = S5_M_USERPASS;
	} else {
		out[o++] = 1;
		out[o++] = S5_M_NONE;
	}
	*out_len = o;
	s->state = WA_S5_GREETING;
	return 0;
}

int wa_socks4_start(wa_socks5 *s, const char *host, int port, const char *user, uint8_t *out,
	size_t cap, size_t *out_len)
{
	if (!s || !host || !out || !out_len || port < 1 || port > 65535)
		return WA_EINVAL;
	size_t hl = strlen(host), ul = user ? strlen(user) : 0;
	if (hl == 0)
		return WA_EINVAL;
	if (hl > 255 || ul > 255 || cap < WA_SOCKS5_MAX_OUT)
		return WA_ETOOBIG;
	memset(s, 0, sizeof *s);
	s->v4 = true;
	memcpy(s->host, host, hl + 1);
	s->port = (uint16_t)port;
	struct in_addr v4;
	bool is_v4 = inet_pton(AF_INET, host, &v4) == 1;
	size_t o = 0;
	out[o++] = 4;
	out[o++] = S5_CMD_CONNECT;
	out[o++] = (uint8_t)(port >> 8);
	out[o++] = (uint8_t)(port & 0xff);
	if (is_v4) {
		memcpy(out + o, &v4, 4);
		o += 4;
	} else {
		/* SOCKS4a: 0.0.0.1 says "the name follows" */
		static const uint8_t marker[4] = {0, 0, 0, 1};
		memcpy(out + o, marker, 4);
		o += 4;
	}
	memcpy(out + o, user ? user : "", ul);
	o += ul;
	out[o++] = 0;
	if (!is_v4) {
		memcpy(out + o, host, hl);
		o += hl;
		out[o++] = 0;
	}
	*out_len = o;
	s->state = WA_S5_CONNECT;
	return 0;
}

static int fail(wa_socks5 *s, enum wa_socks5_fail why, int rc)
{
	s->state = WA_S5_FAILED;
	s->fail = why;
	wa_socks5_clear(s);
	return rc;
}

/* Length of the complete reply expected in the current state, given what
 * is buffered so far; 0 while it cannot be known yet. */
static size_t reply_len(const wa_socks5 *s)
{
	switch (s->state) {
	case WA_S5_GREETING:
	case WA_S5_AUTH:
		return 2;
	case WA_S5_CONNECT:
		if (s->v4)
			return 8; /* VN CD DSTPORT DSTIP */
		if (s->in_len < 5)
			return 0;
		switch (s->in[3]) {
		case S5_ATYP_V4:
			return 4 + 4 + 2;
		case S5_ATYP_V6:
			return 4 + 16 + 2;
		case S5_ATYP_NAME:
			return 4 + 1 + (size_t)s->in[4] + 2;
		default:
			return SIZE_MAX; /* unknown type: malformed */
		}
	default:
		return 0;
	}
}

int wa_socks5_feed(wa_socks5 *s, const uint8_t *p, size_t n, size_t *consumed, uint8_t *out,
	size_t cap, size_t *out_len)
{
	if (!s || (!p && n) || !consumed || !out || !out_len)
		return WA_EINVAL;
	if (s->state != WA_S5_GREETING && s->state != WA_S5_AUTH && s->state != WA_S5_CONNECT)
		return WA_ESTATE;
	size_t used = 0, olen = 0;
	while (used < n) {
		/* take bytes one reply at a time so nothing past it is eaten */
		size_t want = reply_len(s);
		if (want == SIZE_MAX)
			return fail(s, WA_S5_BAD_REPLY, WA_EMALFORMED);
		size_t target = want ? want : 5;
		if (target > sizeof s->in)
			return fail(s, WA_S5_BAD_REPLY, WA_EMALFORMED);
		size_t take = target - s->in_len;
		if (take > n - used)
			take = n - used;
		memcpy(s->in + s->in_len, p + used, take);
		s->in_len += take;
		used += take;
		if (want == 0 || s->in_len < want)
			continue;
		/* a whole reply */
		const uint8_t *r = s->in;
		s->in_len = 0;
		switch (s->state) {
		case WA_S5_GREETING:
			if (r[0] != S5_VER)
				return fail(s, WA_S5_BAD_REPLY, WA_EMALFORMED);
			if (r[1] == S5_M_USERPASS && s->has_auth) {
				size_t ul = strlen(s->user), pl = strlen(s->pass), o = 0;
				if (cap < 3 + ul + pl)
					return fail(s, WA_S5_BAD_REPLY, WA_ETOOBIG);
				out[o++] = S5_AUTH_VER;
				out[o++] = (uint8_t)ul;
				memcpy(out + o, s->user, ul);
				o += ul;
				out[o++] = (uint8_t)pl;
				memcpy(out + o, s->pass, pl);
				o += pl;
				olen = o;
				s->state = WA_S5_AUTH;
			} else if (r[1] == S5_M_NONE) {
				int rc = put_connect(s, out, cap, &olen);
				if (rc)
					return fail(s, WA_S5_BAD_REPLY, rc);
				s->state = WA_S5_CONNECT;
			} else {
				return fail(s, WA_S5_NO_METHOD, WA_EPROXY);
			}
			*consumed = used;
			*out_len = olen;
			return 0; /* the server waits for our next message */
		case WA_S5_AUTH:
			if (r[0] != S5_AUTH_VER)
				return fail(s, WA_S5_BAD_REPLY, WA_EMALFORMED);
			if (r[1] != 0)
				return fail(s, WA_S5_AUTH_REFUSED, WA_EPROXY);
			{
				int rc = put_connect(s, out, cap, &olen);
				if (rc)
					return fail(s, WA_S5_BAD_REPLY, rc);
			}
			s->state = WA_S5_CONNECT;
			*consumed = used;
			*out_len = olen;
			return 0;
		case WA_S5_CONNECT:
			if (s->v4) {
				if (r[0] != 0 || r[1] < 0x5a || r[1] > 0x5d)
					return fail(s, WA_S5_BAD_REPLY, WA_EMALFORMED);
				if (r[1] != WA_SOCKS4_GRANTED) {
					s->rep = r[1];
					return fail(s, WA_S5_CONNECT_REFUSED, WA_EPROXY);
				}
				s->state = WA_S5_DONE;
				*consumed = used;
				*out_len = 0;
				return 1;
			}
			if (r[0] != S5_VER || r[2] != 0)
				return fail(s, WA_S5_BAD_REPLY, WA_EMALFORMED);
			if (r[1] != 0) {
				s->rep = r[1];
				return fail(s, WA_S5_CONNECT_REFUSED, WA_EPROXY);
			}
			s->state = WA_S5_DONE;
			wa_socks5_clear(s);
			*consumed = used;
			*out_len = 0;
			return 1;
		default:
			return WA_ESTATE;
		}
	}
	*consumed = used;
	*out_len = 0;
	return 0;
}

void wa_socks5_clear(wa_socks5 *s)
{
	if (!s)
		return;
	explicit_bzero(s->user, sizeof s->user);
	explicit_bzero(s->pass, sizeof s->pass);
}

const char *wa_socks5_rep_name(uint8_t rep)
{
	switch (rep) {
	case 0: return "succeeded";
	case 1: return "general SOCKS server failure";
	case 2: return "connection not allowed by ruleset";
	case 3: return "network unreachable";
	case 4: return "host unreachable";
	case 5: return "connection refused";
	case 6: return "TTL expired";
	case 7: return "command not supported";
	case 8: return "address type not supported";
	case 0x5a: return "request granted";
	case 0x5b: return "request rejected or failed";
	case 0x5c: return "rejected: no identd on the client";
	case 0x5d: return "rejected: identd user id mismatch";
	default: return "unknown reply";
	}
}
