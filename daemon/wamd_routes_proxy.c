/* Evolution's proxy controller: /proxy/set and /proxy/find, and the proxy
 * row parser that /instance/create shares. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wamd_routes.h"

/* ---- proxy ---- */

#define WAMD_PROXY_HOST_MAX 253
#define WAMD_PROXY_CRED_MAX 255

/* A string, or an integer (Evolution documents port as a string; clients send
 * both), into buf. NULL if absent or another type. */
static const char *str_or_int(json_t *o, const char *k, char *buf, size_t n)
{
	json_t *v = json_object_get(o, k);
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(buf, n, "%lld", (long long)json_integer_value(v));
		return buf;
	}
	return NULL;
}

static bool proxy_host_ok(const char *h)
{
	size_t n = strlen(h);
	if (n == 0 || n > WAMD_PROXY_HOST_MAX)
		return false;
	for (const char *p = h; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '_')
			return false; /* also refuses IPv6 literals, which lws 4.1 cannot take */
	return true;
}

static bool proxy_cred_ok(const char *s)
{
	if (strlen(s) > WAMD_PROXY_CRED_MAX)
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/* Builds the stored proxy row from the keys names[0..5] = enabled, host,
 * port, protocol, username, password of src. old: the stored row (its
 * password is kept when the request leaves it out or null for the same host
 * and username, so a find-edit-set round trip with the hidden password
 * works).
 * NULL with *why (Evolution's "Invalid proxy" and a reason) on failure. */
json_t *wamd_proxy_parse(json_t *src, const char *const names[6], json_t *old, const char **why)
{
	static char reason[160];
	*why = NULL;
	json_t *en = names[0] ? json_object_get(src, names[0]) : json_true();
	if (names[0] && en && !json_is_boolean(en)) {
		*why = "enabled must be a boolean";
		return NULL;
	}
	json_t *row = json_object();
	if (!json_is_true(en)) {
		json_object_set_new(row, "enabled", json_false());
		static const char *const empty[] = { "host", "port", "protocol", "username", "password" };
		for (size_t i = 0; i < 5; i++)
			json_object_set_new(row, empty[i], json_string(""));
		return row;
	}
	char pbuf[32];
	const char *host = jstr(src, names[1]);
	const char *port = str_or_int(src, names[2], pbuf, sizeof pbuf);
	const char *proto = jstr(src, names[3]);
	json_t *uj = json_object_get(src, names[4]), *pj = json_object_get(src, names[5]);
	const char *user = json_string_value(uj);
	const char *pass = json_string_value(pj);
	if ((uj && !json_is_string(uj) && !json_is_null(uj)) || (pj && !json_is_string(pj) && !json_is_null(pj))) {
		*why = "username and password must be strings";
		goto bad;
	}
	if (!host || !proxy_host_ok(host)) {
		*why = "host must be a host name or an IPv4 address";
		goto bad;
	}
	long pn = 0;
	const char *q = port;
	for (; q && *q >= '0' && *q <= '9' && pn <= 65535; q++)
		pn = pn * 10 + (*q - '0');
	if (!port || !*port || *q || pn < 1 || pn > 65535) {
		*why = "port must be 1-65535";
		goto bad;
	}
	if (!proto || (strcmp(proto, "http") && strcmp(proto, "https") && strcmp(proto, "socks4") &&
		       strcmp(proto, "socks5"))) {
		*why = "protocol must be http, https, socks4 or socks5";
		goto bad;
	}
	if (!strcmp(proto, "https")) {
		snprintf(reason, sizeof reason, "protocol %s is not supported by wamd (use http, socks5 or socks4)",
			 proto);
		/* https needs TLS to the proxy itself, which neither lws 4.1's
		 * proxying nor libwa's SOCKS bridge does */
		*why = reason;
		goto bad;
	}
	if (user && !*user)
		user = NULL;
	if (!user && pass && *pass) {
		*why = "a password needs a username";
		goto bad;
	}
	if ((user && !proxy_cred_ok(user)) || (pass && !proxy_cred_ok(pass))) {
		*why = "username and password must be printable and at most 255 bytes";
		goto bad;
	}
	if (user && strchr(user, ':')) {
		*why = "username must not contain ':' (Basic authentication)";
		goto bad;
	}
	if (!strcmp(proto, "socks4") && pass && *pass) {
		*why = "socks4 has a user id and no password";
		goto bad;
	}
	if (user && !pass && json_is_object(old) && json_is_true(json_object_get(old, "enabled"))) {
		/* the hidden password comes back as null: keep it for the same proxy */
		const char *ou = jstr(old, "username");
		const char *oh = jstr(old, "host");
		if (ou && !strcmp(ou, user) && oh && !strcmp(host, oh))
			pass = jstr(old, "password");
	}
	char portn[8];
	snprintf(portn, sizeof portn, "%ld", pn);
	json_object_set_new(row, "enabled", json_true());
	json_object_set_new(row, "host", json_string(host));
	json_object_set_new(row, "port", json_string(portn));
	json_object_set_new(row, "protocol", json_string(proto));
	json_object_set_new(row, "username", json_string(user ? user : ""));
	json_object_set_new(row, "password", json_string(user && pass ? pass : ""));
	/* the last word is libwa's: lengths, schemes this build can use */
	char url[WAMD_PROXY_URL_MAX];
	int rc = wamd_proxy_url(row, url, sizeof url) == 0 ? wamd_tenant_proxy_check(url) : WA_ETOOBIG;
	explicit_bzero(url, sizeof url);
	if (rc == WA_EUNSUPPORTED)
		*why = "this proxy protocol is not supported by this build";
	else if (rc == WA_ETOOBIG)
		*why = "username and password together must be at most 90 bytes";
	else if (rc)
		*why = "malformed proxy";
	if (rc)
		goto bad;
	return row;
bad:
	json_decref(row);
	return NULL;
}

/* A stored row as the API shows it: Evolution's Proxy record. The password
 * is shown only with expose_token (the same policy as instance tokens);
 * otherwise it is null, and sending null back keeps it. */
json_t *wamd_proxy_row_out(struct wamd_tenant *t, json_t *row)
{
	json_t *r = json_deep_copy(row);
	json_object_set(r, "instanceId", json_object_get(t->doc, "id"));
	const char *pw = jstr(row, "password");
	if (!t->d->cfg.expose_token && pw && *pw)
		json_object_set_new(r, "password", json_null());
	return r;
}

/* Stamps id/createdAt/updatedAt on a new row (kept from old). */
void wamd_proxy_row_stamp(json_t *row, json_t *old)
{
	char ts[32], u[37];
	wamd_iso_time(wamd_now_ms(), ts);
	const char *oid = json_is_object(old) ? jstr(old, "id") : NULL;
	if (!oid && wamd_random_uuid(u) == 0)
		oid = u;
	json_object_set_new(row, "id", json_string(oid ? oid : ""));
	json_t *created = json_is_object(old) ? json_object_get(old, "createdAt") : NULL;
	json_object_set_new(row, "createdAt", created ? json_incref(created) : json_string(ts));
	json_object_set_new(row, "updatedAt", json_string(ts));
}

void wamd_invalid_proxy(struct wamd_conn *c, const char *why)
{
	/* Evolution answers ["Invalid proxy"]; the reason follows it */
	wamd_reply_error(c, 400, json_pack("[s, s]", "Invalid proxy", why ? why : "unusable proxy"));
}

void wamd_h_proxy_set(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	static const char *const names[6] = { "enabled", "host", "port", "protocol", "username", "password" };
	json_t *old = json_object_get(t->doc, "proxy");
	if (!json_object_get(body, "enabled")) {
		bad_request(c, "proxy requires property \"enabled\"");
		return;
	}
	const char *why;
	json_t *row = wamd_proxy_parse(body, names, old, &why);
	if (!row) {
		wamd_invalid_proxy(c, why);
		return;
	}
	wamd_proxy_row_stamp(row, old);
	json_object_set_new(t->doc, "proxy", row);
	if (wamd_tenant_save(t) != 0) {
		wamd_reply_error(c, 500, json_string("could not store the proxy"));
		return;
	}
	LOGI("instance %s: proxy %s", t->name,
	     json_is_true(json_object_get(row, "enabled")) ? jstr(row, "host") : "disabled");
	if (t->sess) {
		/* the proxy is fixed per session: restart with the new one */
		wamd_tenant_stop(t);
		int rc = wamd_tenant_start(t);
		if (rc != 0)
			LOGW("instance %s: restart with the new proxy failed: %s", t->name, wa_errname(rc));
	}
	json_t *out = wamd_proxy_row_out(t, row);
	wamd_reply_json(c, 201, json_pack("{s:{s:s, s:O, s:o}}", "proxy", "instanceName", t->name, "instanceId",
					  json_object_get(t->doc, "id"), "proxy", out));
}

void wamd_h_proxy_find(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	(void)body;
	json_t *p = json_object_get(t->doc, "proxy");
	wamd_reply_json(c, 200, json_is_object(p) ? wamd_proxy_row_out(t, p) : json_null());
}
