/* src/store/crypt.c: encryption of private columns at rest. A 32-byte master
 * key (raw, from a file, or from WAMD_MASTER_KEY) seals each value with
 * crypto_secretbox under a fresh random nonce stored beside it. A marker row
 * in meta records whether the file is encrypted and holds a sealed constant,
 * so a missing or wrong key fails at open instead of returning garbage. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/internal.h"
#include "util/seams.h"

#define SEAL_VERSION 0x01
#define SEAL_OVERHEAD (1 + crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
#define KEY_FILE_MAX 256 /* a key file is at most a line of base64/hex */
#define MODE_NONE "none"
#define MODE_SECRETBOX "secretbox-v1"
static const char key_check_plain[] = "wamd store key check v1";

static void set_err(char *err, size_t err_len, const char *msg, const char *detail)
{
	if (err && err_len)
		snprintf(err, err_len, "%s%s%s", msg, detail ? ": " : "", detail ? detail : "");
}

/* Accepts 32 raw bytes, 64 hex chars, or base64 (standard or URL-safe, with
 * or without padding) of 32 bytes; surrounding whitespace is ignored for the
 * text forms. */
static int parse_key_text(const uint8_t *p, size_t n, uint8_t key[WA_STORE_MASTER_KEY_LEN])
{
	uint8_t tmp[WA_STORE_MASTER_KEY_LEN];
	size_t got = 0;
	while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	while (n > 0 && (p[0] == ' ' || p[0] == '\t')) {
		p++;
		n--;
	}
	char text[KEY_FILE_MAX + 1];
	if (n > KEY_FILE_MAX)
		return WA_EDB_KEY;
	memcpy(text, p, n);
	text[n] = '\0';
	int rc = WA_EDB_KEY;
	if (n == 2 * WA_STORE_MASTER_KEY_LEN &&
	    sodium_hex2bin(tmp, sizeof tmp, text, n, NULL, &got, NULL) == 0 && got == sizeof tmp) {
		rc = 0;
	} else {
		static const int variants[] = {
			sodium_base64_VARIANT_ORIGINAL, sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
			sodium_base64_VARIANT_URLSAFE, sodium_base64_VARIANT_URLSAFE_NO_PADDING,
		};
		for (size_t i = 0; i < sizeof variants / sizeof variants[0] && rc != 0; i++) {
			if (sodium_base642bin(tmp, sizeof tmp, text, n, NULL, &got, NULL, variants[i]) == 0 &&
			    got == sizeof tmp)
				rc = 0;
		}
	}
	if (rc == 0)
		memcpy(key, tmp, sizeof tmp);
	sodium_memzero(tmp, sizeof tmp);
	sodium_memzero(text, sizeof text);
	return rc;
}

static int read_key_file(const char *path, uint8_t key[WA_STORE_MASTER_KEY_LEN], char *err, size_t err_len)
{
	uint8_t buf[KEY_FILE_MAX + 1];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		set_err(err, err_len, "cannot open master key file", strerror(errno));
		return WA_EDB_KEY;
	}
	size_t n = 0;
	while (n < sizeof buf) {
		ssize_t r = read(fd, buf + n, sizeof buf - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	int rc;
	if (n == WA_STORE_MASTER_KEY_LEN) {
		memcpy(key, buf, WA_STORE_MASTER_KEY_LEN);
		rc = 0;
	} else if (n > KEY_FILE_MAX) {
		rc = WA_EDB_KEY;
	} else {
		rc = parse_key_text(buf, n, key);
	}
	sodium_memzero(buf, sizeof buf);
	if (rc != 0)
		set_err(err, err_len, "master key file must hold 32 raw bytes, 64 hex characters or base64 of 32 bytes",
			NULL);
	return rc;
}

int wa_store_key_load(wa_store *st, const wa_store_opts *o, char *err, size_t err_len)
{
	int rc = 0;
	if (o->master_key) {
		memcpy(st->key, o->master_key, WA_STORE_MASTER_KEY_LEN);
		st->has_key = true;
	} else if (o->master_key_file && o->master_key_file[0]) {
		rc = read_key_file(o->master_key_file, st->key, err, err_len);
		st->has_key = rc == 0;
	} else if (o->key_from_env) {
		const char *env = getenv("WAMD_MASTER_KEY");
		if (env && env[0]) {
			rc = parse_key_text((const uint8_t *)env, strlen(env), st->key);
			if (rc != 0)
				set_err(err, err_len, "WAMD_MASTER_KEY must be 64 hex characters or base64 of 32 bytes",
					NULL);
			st->has_key = rc == 0;
		}
	}
	return rc;
}

int wa_store_bind_sealed(wa_store *st, wa_stmt *stmt, int idx, const uint8_t *p, size_t n)
{
	return wa_store_bind_sealed_max(st, stmt, idx, p, n, WA_STORE_MAX_RECORD);
}

int wa_store_bind_sealed_max(wa_store *st, wa_stmt *stmt, int idx, const uint8_t *p, size_t n, size_t max)
{
	if (n > max)
		return WA_ETOOBIG;
	if (!st->has_key)
		return wa_store_map_rc(wa_stmt_bind_blob_copy(stmt, idx, n ? (const void *)p : "", n));
	size_t len = SEAL_OVERHEAD + n;
	uint8_t *buf = malloc(len);
	if (!buf)
		return WA_ENOMEM;
	buf[0] = SEAL_VERSION;
	uint8_t *nonce = buf + 1;
	/* 192-bit random nonces: collisions are negligible, so no counter state
	 * has to survive crashes. */
	wa_rand_bytes(nonce, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(buf + 1 + crypto_secretbox_NONCEBYTES, n ? p : (const uint8_t *)"", n, nonce, st->key);
	int rc = wa_store_map_rc(wa_stmt_bind_blob_copy(stmt, idx, buf, len));
	free(buf); /* ciphertext, not secret */
	return rc;
}

static int open_sealed(wa_store *st, const uint8_t *p, size_t n, size_t max, uint8_t **out, size_t *out_len)
{
	if (n < SEAL_OVERHEAD || p[0] != SEAL_VERSION)
		return WA_EDB_KEY;
	size_t plen = n - SEAL_OVERHEAD;
	if (plen > max)
		return WA_ETOOBIG;
	uint8_t *buf = malloc(plen ? plen : 1);
	if (!buf)
		return WA_ENOMEM;
	if (crypto_secretbox_open_easy(buf, p + 1 + crypto_secretbox_NONCEBYTES, n - 1 - crypto_secretbox_NONCEBYTES,
		    p + 1, st->key) != 0) {
		free(buf);
		return WA_EDB_KEY;
	}
	if (plen == 0) {
		free(buf);
		buf = NULL;
	}
	*out = buf;
	*out_len = plen;
	return 0;
}

int wa_store_column_sealed(wa_store *st, wa_stmt *stmt, int col, size_t max, uint8_t **out, size_t *out_len)
{
	if (!st->has_key)
		return wa_store_column_blob(stmt, col, max, out, out_len);
	const uint8_t *p = wa_stmt_col_blob(stmt, col);
	int n = wa_stmt_col_bytes(stmt, col);
	if (n < 0)
		return WA_EDB_CORRUPT;
	return open_sealed(st, p, (size_t)n, max, out, out_len);
}

int wa_store_column_text_sealed(wa_store *st, wa_stmt *s, int col, size_t max, char **out, size_t *len_out)
{
	uint8_t *p = NULL;
	size_t n = 0;
	int rc = wa_store_column_sealed(st, s, col, max, &p, &n);
	if (rc != 0)
		return rc;
	char *t = malloc(n + 1);
	if (!t) {
		wa_store_free(p, n);
		return WA_ENOMEM;
	}
	if (n)
		memcpy(t, p, n);
	t[n] = '\0';
	wa_store_free(p, n);
	*out = t;
	*len_out = n;
	return 0;
}

int wa_store_column_sealed_fixed(wa_store *st, wa_stmt *stmt, int col, uint8_t *dst, size_t want)
{
	uint8_t *p = NULL;
	size_t n = 0;
	int rc = wa_store_column_sealed(st, stmt, col, want, &p, &n);
	if (rc == WA_ETOOBIG)
		return WA_EDB_CORRUPT;
	if (rc != 0)
		return rc;
	if (n != want) {
		wa_store_free(p, n);
		return WA_EDB_CORRUPT;
	}
	memcpy(dst, p, want);
	wa_store_free(p, n);
	return 0;
}

static const char sql_meta_get[] = "SELECT value FROM meta WHERE key = ?1";
static const char sql_meta_put[] = "INSERT INTO meta (key, value) VALUES (?1, ?2)"
				    " ON CONFLICT (key) DO UPDATE SET value = excluded.value";

int wa_store_key_check(wa_store *st, char *err, size_t err_len)
{
	int rc = wa_store_begin(st);
	if (rc != 0)
		return rc;
	wa_stmt *s = NULL;
	char mode[32] = "";
	rc = wa_store_stmt(st, sql_meta_get, &s);
	if (rc != 0)
		goto out;
	wa_stmt_bind_text(s, 1, "encryption");
	int src = wa_stmt_step(s);
	if (src == WA_DB_ROW) {
		const char *v = wa_stmt_col_text(s, 0);
		snprintf(mode, sizeof mode, "%s", v ? v : "");
	} else if (src != WA_DB_DONE) {
		rc = wa_store_map_rc(src);
	}
	wa_store_stmt_done(s);
	if (rc != 0)
		goto out;

	if (!mode[0]) {
		/* First open of a new file: record the mode chosen now. */
		rc = wa_store_stmt(st, sql_meta_put, &s);
		if (rc != 0)
			goto out;
		wa_stmt_bind_text(s, 1, "encryption");
		wa_stmt_bind_text(s, 2, st->has_key ? MODE_SECRETBOX : MODE_NONE);
		rc = wa_store_stmt_exec(s);
		if (rc == 0 && st->has_key) {
			rc = wa_store_stmt(st, sql_meta_put, &s);
			if (rc != 0)
				goto out;
			wa_stmt_bind_text(s, 1, "key_check");
			rc = wa_store_bind_sealed(st, s, 2, (const uint8_t *)key_check_plain, sizeof key_check_plain);
			if (rc == 0)
				rc = wa_store_stmt_exec(s);
			else
				wa_store_stmt_done(s);
		}
		goto out;
	}
	if (strcmp(mode, MODE_NONE) == 0) {
		if (st->has_key) {
			set_err(err, err_len, "database was created without encryption but a master key was given;"
				" refusing to mix plaintext and encrypted values", NULL);
			rc = WA_EDB_KEY;
		}
		goto out;
	}
	if (strcmp(mode, MODE_SECRETBOX) != 0) {
		set_err(err, err_len, "database uses an unknown encryption mode", NULL);
		rc = WA_EDB_SCHEMA;
		goto out;
	}
	if (!st->has_key) {
		set_err(err, err_len, "database is encrypted: supply the master key"
			" (opts.master_key_file or WAMD_MASTER_KEY)", NULL);
		rc = WA_EDB_KEY;
		goto out;
	}
	rc = wa_store_stmt(st, sql_meta_get, &s);
	if (rc != 0)
		goto out;
	wa_stmt_bind_text(s, 1, "key_check");
	src = wa_stmt_step(s);
	if (src == WA_DB_ROW) {
		uint8_t *plain = NULL;
		size_t plen = 0;
		rc = wa_store_column_sealed(st, s, 0, sizeof key_check_plain, &plain, &plen);
		if (rc == 0 && (plen != sizeof key_check_plain || memcmp(plain, key_check_plain, plen) != 0))
			rc = WA_EDB_KEY;
		wa_store_free(plain, plen);
		if (rc == WA_EDB_KEY || rc == WA_ETOOBIG) {
			rc = WA_EDB_KEY;
			set_err(err, err_len, "master key does not match this database", NULL);
		}
	} else {
		rc = src == WA_DB_DONE ? WA_EDB_CORRUPT : wa_store_map_rc(src);
		set_err(err, err_len, "encrypted database lacks its key check row", NULL);
	}
	wa_store_stmt_done(s);
out:
	return wa_store_tx_leave(st, rc);
}
