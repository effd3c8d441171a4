/* Local API authentication. The global key and per-instance tokens are kept
 * only as SHA-256 digests; a presented key is hashed and compared with every
 * candidate in constant time (no early exit on the first match, so timing
 * does not reveal which instance a token belongs to). Scopes: read (GET and
 * searches), write (send, mark read, presence), manage (connect, restart,
 * logout, delete, webhook and settings). */
#include <openssl/crypto.h>
#include <string.h>

#include "wamd.h"

bool wamd_ct_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

bool wamd_auth_is_admin(struct wamd *d, const char *key)
{
	if (!d->have_api_key || !key || !*key)
		return false;
	uint8_t h[32];
	wamd_sha256(key, strlen(key), h);
	return wamd_ct_equal(h, d->api_key_sha, 32);
}

unsigned wamd_auth_scopes(const struct wamd_tenant *t, const char *key)
{
	if (!key || !*key)
		return 0;
	uint8_t h[32];
	wamd_sha256(key, strlen(key), h);
	unsigned scopes = 0;
	for (size_t i = 0; i < t->n_tokens; i++) {
		unsigned eq = wamd_ct_equal(h, t->tokens[i].sha256, 32) ? 1u : 0u;
		scopes |= t->tokens[i].scopes & (0u - eq);
	}
	return scopes;
}

unsigned wamd_scopes_parse(json_t *arr)
{
	if (!arr)
		return WAMD_SCOPE_ALL;
	if (json_is_string(arr)) {
		/* "read,write" */
		unsigned s = 0;
		const char *p = json_string_value(arr);
		if (strstr(p, "read"))
			s |= WAMD_SCOPE_READ;
		if (strstr(p, "write"))
			s |= WAMD_SCOPE_WRITE;
		if (strstr(p, "manage"))
			s |= WAMD_SCOPE_MANAGE;
		return s;
	}
	if (!json_is_array(arr))
		return 0;
	unsigned s = 0;
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		const char *n = json_string_value(v);
		if (!n)
			return 0;
		if (!strcmp(n, "read"))
			s |= WAMD_SCOPE_READ;
		else if (!strcmp(n, "write"))
			s |= WAMD_SCOPE_WRITE;
		else if (!strcmp(n, "manage"))
			s |= WAMD_SCOPE_MANAGE;
		else
			return 0;
	}
	return s;
}

json_t *wamd_scopes_json(unsigned scopes)
{
	json_t *a = json_array();
	if (scopes & WAMD_SCOPE_READ)
		json_array_append_new(a, json_string("read"));
	if (scopes & WAMD_SCOPE_WRITE)
		json_array_append_new(a, json_string("write"));
	if (scopes & WAMD_SCOPE_MANAGE)
		json_array_append_new(a, json_string("manage"));
	return a;
}
