/* JID text grammar and the wa_jid value type (see jid.h for the grammar and
 * why it is the lossless subset of Baileys' jidDecode()). */
#include "binary/jid.h"

#include <stdio.h>
#include <string.h>

#include "binary/node.h"

static const char S_WHATSAPP_NET[] = "s.whatsapp.net";

const char *wa_jid_domain_server(uint8_t domain)
{
	switch (domain) {
	case WA_JID_DOMAIN_LID:
		return "lid";
	case WA_JID_DOMAIN_HOSTED:
		return "hosted";
	case WA_JID_DOMAIN_HOSTED_LID:
		return "hosted.lid";
	default: /* WHATSAPP and legacy agents (Baileys' readAdJid does the same) */
		return S_WHATSAPP_NET;
	}
}

static bool is_agent(uint8_t domain)
{
	return domain != WA_JID_DOMAIN_WHATSAPP && domain != WA_JID_DOMAIN_LID &&
	       domain != WA_JID_DOMAIN_HOSTED && domain != WA_JID_DOMAIN_HOSTED_LID;
}

static bool span_is(const char *p, size_t n, const char *lit)
{
	return n == strlen(lit) && memcmp(p, lit, n) == 0;
}

/* Canonical decimal: "0" or no leading zero, digits only, value <= max.
 * Baileys parses devices with unary + and agents with parseInt, which accept
 * "03", "+3", " 3" or "3x"; those strings would not come back unchanged. */
static bool parse_dec(const char *p, size_t n, uint32_t max, uint32_t *out)
{
	if (n == 0 || n > 5 || (n > 1 && p[0] == '0'))
		return false;
	uint32_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (uint32_t)(p[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

int wa_bin_jid_scan(const char *s, size_t len, struct wa_bin_jid_view *out)
{
	const char *at = memchr(s, '@', len);
	if (!at)
		return WA_EBIN_JID;
	size_t ulen = (size_t)(at - s);
	const char *srv = at + 1;
	size_t slen = len - ulen - 1;
	/* An empty server cannot be decoded (Baileys throws); a second '@' would
	 * need a JID nested inside a JID, which our decoder refuses. */
	if (slen == 0 || memchr(srv, '@', slen))
		return WA_EBIN_JID;

	struct wa_bin_jid_view v = { .server = srv, .server_len = slen };
	const char *colon = memchr(s, ':', ulen);
	if (!colon) {
		/* Baileys splits "user_agent" even without a device, then drops
		 * the agent from JID_PAIR: not reversible. */
		if (memchr(s, '_', ulen))
			return WA_EBIN_JID;
		v.kind = WA_JID_PAIR;
		v.user = s;
		v.user_len = ulen;
		*out = v;
		return 0;
	}
	size_t llen = (size_t)(colon - s);
	uint32_t device;
	if (!parse_dec(colon + 1, ulen - llen - 1, 65535, &device))
		return WA_EBIN_JID;
	v.device = (uint16_t)device;

	if (span_is(srv, slen, "msgr")) {
		v.kind = WA_JID_FB;
		v.user = s;
		v.user_len = llen;
	} else if (span_is(srv, slen, "interop")) {
		const char *dash = memchr(s, '-', llen);
		uint32_t integrator;
		if (!dash || !parse_dec(s, (size_t)(dash - s), 65535, &integrator))
			return WA_EBIN_JID;
		v.kind = WA_JID_INTEROP;
		v.integrator = (uint16_t)integrator;
		v.user = dash + 1;
		v.user_len = llen - (size_t)(dash - s) - 1;
	} else {
		uint8_t domain;
		if (span_is(srv, slen, S_WHATSAPP_NET))
			domain = WA_JID_DOMAIN_WHATSAPP;
		else if (span_is(srv, slen, "lid"))
			domain = WA_JID_DOMAIN_LID;
		else if (span_is(srv, slen, "hosted"))
			domain = WA_JID_DOMAIN_HOSTED;
		else if (span_is(srv, slen, "hosted.lid"))
			domain = WA_JID_DOMAIN_HOSTED_LID;
		else
			return WA_EBIN_JID; /* AD_JID would decode on another server */
		if (device > 255)
			return WA_EBIN_JID; /* one byte on the wire */
		v.user = s;
		v.user_len = llen;
		const char *us = memchr(s, '_', llen);
		if (us) {
			uint32_t agent;
			/* an agent only survives on s.whatsapp.net, and only when it
			 * is not itself one of the named domains */
			if (domain != WA_JID_DOMAIN_WHATSAPP ||
			    !parse_dec(us + 1, llen - (size_t)(us - s) - 1, 255, &agent) ||
			    !is_agent((uint8_t)agent))
				return WA_EBIN_JID;
			domain = (uint8_t)agent;
			v.user_len = (size_t)(us - s);
		}
		v.kind = WA_JID_AD;
		v.domain = domain;
		v.server = wa_jid_domain_server(domain);
		v.server_len = strlen(v.server);
	}
	*out = v;
	return 0;
}

static size_t dec_len(uint32_t v)
{
	size_t n = 1;
	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

static char *put_dec(char *d, uint32_t v)
{
	size_t n = dec_len(v);
	for (size_t i = n; i > 0; i--) {
		d[i - 1] = (char)('0' + v % 10);
		v /= 10;
	}
	return d + n;
}

static char *put(char *d, const char *p, size_t n)
{
	if (n)
		memcpy(d, p, n);
	return d + n;
}

size_t wa_bin_jid_text_len(const struct wa_bin_jid_view *v)
{
	size_t n = v->user_len + 1 + v->server_len;
	switch (v->kind) {
	case WA_JID_PAIR:
		break;
	case WA_JID_AD:
		n += 1 + dec_len(v->device);
		if (is_agent(v->domain))
			n += 1 + dec_len(v->domain);
		break;
	case WA_JID_FB:
		n += 1 + dec_len(v->device);
		break;
	case WA_JID_INTEROP:
		n += 1 + dec_len(v->device) + dec_len(v->integrator) + 1;
		break;
	}
	return n;
}

void wa_bin_jid_render(const struct wa_bin_jid_view *v, char *d)
{
	if (v->kind == WA_JID_INTEROP) {
		d = put_dec(d, v->integrator);
		*d++ = '-';
	}
	d = put(d, v->user, v->user_len);
	if (v->kind == WA_JID_AD && is_agent(v->domain)) {
		*d++ = '_';
		d = put_dec(d, v->domain);
	}
	if (v->kind != WA_JID_PAIR) {
		*d++ = ':';
		d = put_dec(d, v->device);
	}
	*d++ = '@';
	d = put(d, v->server, v->server_len);
	*d = '\0';
}

int wa_jid_parse(wa_jid *out, const char *s)
{
	size_t len = strnlen(s, WA_JID_TEXT_MAX + 1);
	if (len > WA_JID_TEXT_MAX)
		return WA_ETOOBIG;
	if (!wa_bin_valid_string(s, len))
		return WA_EBIN_JID;
	struct wa_bin_jid_view v;
	int rc = wa_bin_jid_scan(s, len, &v);
	if (rc)
		return rc;
	if (v.user_len > WA_JID_USER_MAX || v.server_len > WA_JID_SERVER_MAX)
		return WA_ETOOBIG;
	wa_jid j = { .kind = v.kind, .domain = v.domain, .device = v.device,
		     .integrator = v.integrator };
	memcpy(j.user, v.user, v.user_len);
	memcpy(j.server, v.server, v.server_len);
	*out = j;
	return 0;
}

int wa_jid_from_attr(wa_jid *out, const wa_node *n, const char *key)
{
	const char *v = wa_node_attr(n, key);
	return v ? wa_jid_parse(out, v) : WA_ENOTFOUND;
}

static void view_of(const wa_jid *j, struct wa_bin_jid_view *v)
{
	*v = (struct wa_bin_jid_view){
		.kind = j->kind, .user = j->user, .user_len = strlen(j->user),
		.server = j->server, .server_len = strlen(j->server),
		.domain = j->domain, .device = j->device, .integrator = j->integrator,
	};
}

int wa_jid_format(const wa_jid *j, char *buf, size_t cap)
{
	struct wa_bin_jid_view v;
	view_of(j, &v);
	size_t n = wa_bin_jid_text_len(&v);
	if (n + 1 > cap)
		return WA_ETOOBIG;
	wa_bin_jid_render(&v, buf);
	return (int)n;
}

/* A user part that the text grammar can carry back unchanged. */
static int check_part(const char *s, size_t max, const char *forbidden)
{
	size_t n = strnlen(s, max + 1);
	if (n > max)
		return WA_ETOOBIG;
	if (!wa_bin_valid_string(s, n) || strpbrk(s, forbidden))
		return WA_EBIN_JID;
	return 0;
}

int wa_jid_make_pair(wa_jid *out, const char *user, const char *server)
{
	int rc = check_part(user, WA_JID_USER_MAX, "@:_");
	if (rc == 0)
		rc = check_part(server, WA_JID_SERVER_MAX, "@");
	if (rc == 0 && !server[0])
		rc = WA_EBIN_JID;
	if (rc)
		return rc;
	wa_jid j = { .kind = WA_JID_PAIR };
	memcpy(j.user, user, strlen(user));
	memcpy(j.server, server, strlen(server));
	*out = j;
	return 0;
}

int wa_jid_make_ad(wa_jid *out, const char *user, uint8_t domain, uint8_t device)
{
	int rc = check_part(user, WA_JID_USER_MAX, "@:_");
	if (rc)
		return rc;
	wa_jid j = { .kind = WA_JID_AD, .domain = domain, .device = device };
	const char *srv = wa_jid_domain_server(domain);
	memcpy(j.user, user, strlen(user));
	memcpy(j.server, srv, strlen(srv));
	*out = j;
	return 0;
}

static uint8_t agent_of(const wa_jid *j)
{
	return j->kind == WA_JID_AD && is_agent(j->domain) ? j->domain : 0;
}

bool wa_jid_same_user(const wa_jid *a, const wa_jid *b)
{
	return strcmp(a->user, b->user) == 0 && strcmp(a->server, b->server) == 0 &&
	       agent_of(a) == agent_of(b) &&
	       (a->kind == WA_JID_INTEROP ? a->integrator : 0) ==
		       (b->kind == WA_JID_INTEROP ? b->integrator : 0);
}

bool wa_jid_equal(const wa_jid *a, const wa_jid *b)
{
	return wa_jid_same_user(a, b) && a->device == b->device;
}
