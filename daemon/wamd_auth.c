/* Local API authentication. The global key is kept only as a SHA-256
 * digest, instance tokens as SHA-256(salt || token) with a random 16-byte
 * salt per token (tokens stored before salts existed have none and keep
 * their plain digest). A presented key is hashed and compared with every
 * candidate in constant time (no early exit on the first match, so timing
 * does not reveal which instance a token belongs to). Scopes: read (GET and
 * searches), write (send, mark read, presence), manage (connect, restart,
 * logout, delete, webhook and settings). */
#include <math.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
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

void wamd_token_digest(const uint8_t *salt, size_t salt_len, const char *key, uint8_t out[32])
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	unsigned n = 0;
	if (!m || EVP_DigestInit_ex(m, EVP_sha256(), NULL) != 1 || (salt_len && EVP_DigestUpdate(m, salt, salt_len) != 1) ||
	    EVP_DigestUpdate(m, key, strlen(key)) != 1 || EVP_DigestFinal_ex(m, out, &n) != 1)
		RAND_bytes(out, 32); /* matches nothing */
	EVP_MD_CTX_free(m);
}

int wamd_token_row(const char *key, unsigned scopes, json_t **row)
{
	uint8_t salt[WAMD_TOKEN_SALT], h[32];
	char sx[2 * WAMD_TOKEN_SALT + 1], hx[65];
	if (RAND_bytes(salt, sizeof salt) != 1)
		return WA_ECRYPTO;
	wamd_token_digest(salt, sizeof salt, key, h);
	wamd_hex(salt, sizeof salt, sx);
	wamd_hex(h, 32, hx);
	*row = json_pack("{s:s, s:s, s:o}", "salt", sx, "sha256", hx, "scopes", wamd_scopes_json(scopes));
	return *row ? 0 : WA_ENOMEM;
}

int wamd_auth_match(const struct wamd_tenant *t, const char *key, uint8_t digest_out[32])
{
	if (!key || !*key)
		return -1;
	int found = -1;
	for (size_t i = 0; i < t->n_tokens; i++) {
		uint8_t h[32];
		wamd_token_digest(t->tokens[i].salt, t->tokens[i].salt_len, key, h);
		unsigned eq = wamd_ct_equal(h, t->tokens[i].sha256, 32) ? 1u : 0u;
		/* the last match wins; no early exit */
		found = eq ? (int)i : found;
	}
	if (found >= 0 && digest_out)
		memcpy(digest_out, t->tokens[found].sha256, 32);
	return found;
}

unsigned wamd_auth_scopes(const struct wamd_tenant *t, const char *key)
{
	if (!key || !*key)
		return 0;
	unsigned scopes = 0;
	for (size_t i = 0; i < t->n_tokens; i++) {
		uint8_t h[32];
		wamd_token_digest(t->tokens[i].salt, t->tokens[i].salt_len, key, h);
		unsigned eq = wamd_ct_equal(h, t->tokens[i].sha256, 32) ? 1u : 0u;
		scopes |= t->tokens[i].scopes & (0u - eq);
	}
	return scopes;
}

unsigned wamd_auth_digest_scopes(const struct wamd_tenant *t, const uint8_t digest[32])
{
	unsigned scopes = 0;
	for (size_t i = 0; i < t->n_tokens; i++)
		if (wamd_ct_equal(digest, t->tokens[i].sha256, 32))
			scopes |= t->tokens[i].scopes;
	return scopes;
}

/* One scope name, matched exactly; 0 if unknown. */
static unsigned scope_bit(const char *n, size_t len)
{
	if (len == 4 && !memcmp(n, "read", 4))
		return WAMD_SCOPE_READ;
	if (len == 5 && !memcmp(n, "write", 5))
		return WAMD_SCOPE_WRITE;
	if (len == 6 && !memcmp(n, "manage", 6))
		return WAMD_SCOPE_MANAGE;
	return 0;
}

unsigned wamd_scopes_parse(json_t *arr)
{
	if (!arr)
		return WAMD_SCOPE_ALL;
	unsigned s = 0;
	if (json_is_string(arr)) {
		/* "read,write": comma-separated names, each exact */
		const char *p = json_string_value(arr);
		for (;;) {
			const char *e = strchr(p, ',');
			size_t len = e ? (size_t)(e - p) : strlen(p);
			unsigned b = scope_bit(p, len);
			if (!b)
				return 0;
			s |= b;
			if (!e)
				return s;
			p = e + 1;
		}
	}
	if (!json_is_array(arr))
		return 0;
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		const char *n = json_string_value(v);
		unsigned b = n ? scope_bit(n, json_string_length(v)) : 0;
		if (!b)
			return 0;
		s |= b;
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

const char *wamd_token_refused(const char *tok)
{
	size_t n = strlen(tok);
	if (n < WAMD_TOKEN_MIN_LEN)
		return "token must be at least 32 characters (as long as a generated one)";
	if (n >= WAMD_MAX_KEY)
		return "token too long";
	unsigned counts[256] = { 0 };
	size_t distinct = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)tok[i];
		if (ch <= 0x20 || ch >= 0x7f)
			return "token must be printable ASCII without spaces";
		if (!counts[ch]++)
			distinct++;
	}
	/* an estimate from the token's own character frequencies: catches
	 * repetitions and tiny alphabets, not every guessable string */
	double bits = 0;
	for (size_t i = 0; i < 256; i++)
		if (counts[i]) {
			double p = (double)counts[i] / (double)n;
			bits -= (double)counts[i] * log2(p);
		}
	if (wamd_key_is_weak(tok) || distinct < 8 || bits < WAMD_TOKEN_MIN_BITS)
		return "token has too little entropy (use a random value, like the generated UUIDs)";
	return NULL;
}

/* Instance names are path segments and query values: ASCII letters,
 * digits, '-', '_', '.' and '@', 1-127 of them, and not "." or ".." (which
 * a path normaliser would fold away, leaving the instance unreachable).
 * Nothing in the set is changed by percent-decoding or by a URL parser. */
bool wamd_instance_name_ok(const char *n)
{
	size_t l = n ? strlen(n) : 0;
	if (l == 0 || l >= WA_STORE_NAME_MAX || !strcmp(n, ".") || !strcmp(n, ".."))
		return false;
	for (const char *p = n; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-_.@", *p)))
			return false;
	return true;
}

/* Scopes of the instance's creation token (kept only with expose_token). */
static unsigned creation_token_scopes(struct wamd_tenant *t)
{
	const char *tok = json_string_value(json_object_get(t->doc, "token"));
	return tok ? wamd_auth_scopes(t, tok) : 0;
}

/* The caller's scopes on t: every scope for admin. */
unsigned wamd_caller_scopes(struct wamd_conn *c, struct wamd_tenant *t)
{
	if (c->trusted || wamd_auth_is_admin(c->d, c->apikey))
		return WAMD_SCOPE_ALL;
	return wamd_auth_scopes(t, c->apikey);
}

/* The creation token may be shown only to who already holds all it grants:
 * a read-only token must not learn a write or manage one. */
bool wamd_may_see_token(unsigned holder, struct wamd_tenant *t)
{
	unsigned ts = creation_token_scopes(t);
	return ts && (holder & ts) == ts;
}
