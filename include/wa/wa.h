/* libwa public entry point: version, the one error enum, and the log sink.
 * Every libwa function that can fail returns 0 or a negative WA_E* code from here.
 * Included by the other public headers; an embedder (wamd, wamctl, the e2e client)
 * calls it to name errors and to route libwa's log lines into its own. */
#ifndef WA_WA_H
#define WA_WA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WA_VERSION_STRING "0.1.0"

#if defined(__GNUC__)
#define WA_MUST_CHECK __attribute__((warn_unused_result))
#else
#define WA_MUST_CHECK
#endif

/* Error codes, grouped by layer. Append new codes inside their group and name
 * them in src/util/err.c (a unit test checks every code has a name). */
enum wa_err {
	WA_OK = 0,

	/* generic: -1 .. -19 */
	WA_ENOMEM = -1,      /* allocation failed */
	WA_EINVAL = -2,      /* caller passed an invalid argument (our bug) */
	WA_EMALFORMED = -3,  /* input bytes are not well formed */
	WA_ETOOBIG = -4,     /* a length, count or size exceeds its limit */
	WA_ESTATE = -5,      /* call not legal in the object's current state */
	WA_ETRUNCATED = -6,  /* input ended early (more bytes needed) */
	WA_ETRAILING = -7,   /* unexpected bytes after a complete item */
	WA_EDEPTH = -8,      /* nesting deeper than allowed */
	WA_ENOTFOUND = -9,   /* lookup found nothing */
	WA_EIO = -10,        /* operating-system I/O failure */
	WA_ETYPE = -11,      /* item has the wrong type for where it appears */
	WA_EEXIST = -12,     /* item already exists */
	WA_ETIMEOUT = -13,   /* deadline passed */
	WA_EUNSUPPORTED = -14, /* feature not available in this build */

	/* binary node codec: -20 .. -39 */
	WA_EBIN_TOKEN = -20,   /* unknown token or dictionary index */
	WA_EBIN_TAG = -21,     /* reserved or unknown tag byte */
	WA_EBIN_JID = -22,     /* malformed JID */
	WA_EBIN_INFLATE = -23, /* zlib data invalid or over the output limit */

	/* noise / framing: -40 .. -59 */
	WA_ENOISE_DECRYPT = -40, /* AEAD authentication failed */
	WA_ENOISE_CERT = -41,    /* server certificate chain rejected */
	WA_ENOISE_HEADER = -42,  /* bad intro header / magic */
	WA_ENOISE_FAILED = -43,  /* handshake or transport failed earlier (sticky) */
	WA_ENOISE_NONCE = -44,   /* nonce counter exhausted */

	/* crypto / signal: -60 .. -79 */
	WA_ECRYPTO = -60,        /* crypto primitive failed */
	WA_ESIG_VERIFY = -61,    /* signature did not verify */
	WA_ESIG_NOSESSION = -62, /* no Signal session for that address */
	WA_ESIG_DUPLICATE = -63, /* ciphertext already decrypted */
	WA_ESIG_UNTRUSTED = -64, /* identity key changed and not trusted */
	WA_ESIG_INVALID = -65,   /* invalid Signal message or key */
	WA_ESIG_NOPREKEY = -66,  /* referenced pre-key not found */

	/* store: -80 .. -99 */
	WA_EDB = -80,         /* SQLite error */
	WA_EDB_BUSY = -81,    /* database locked longer than the busy timeout */
	WA_EDB_SCHEMA = -82,  /* database is from a newer or unknown schema */
	WA_EDB_KEY = -83,     /* master key missing or wrong for encrypted columns */
	WA_EDB_CORRUPT = -84, /* database file is corrupt */

	/* session / protocol: -100 .. -139 */
	WA_EPROTO = -100,     /* peer violated the protocol */
	WA_ECLOSED = -101,    /* connection closed */
	WA_ELOGGED_OUT = -102,/* device was logged out / unpaired */
	WA_EPROXY = -103,     /* proxy unreachable or refused the tunnel */

	/* media / qr: -140 .. -159 */
	WA_EMEDIA_MAC = -140,   /* media MAC did not verify (tampered or wrong key) */
	WA_EMEDIA_HASH = -141,  /* media SHA-256 differs from the expected one */
	WA_EMEDIA_HOST = -142,  /* media url names a host that is not a media_conn host */
	WA_EMEDIA_GONE = -143,  /* media expired on the server and the phone no longer has it */
	WA_EMEDIA_RETRY = -144, /* the phone could not upload the media again (general error) */
	WA_EMEDIA_RETRY_KEY = -145, /* the phone could not decrypt the media-retry request */
	WA_EQR_RENDER = -150,   /* QR encoding or image rendering failed */
};

/* Static, never NULL: a short English description of a WA_E* code. */
const char *wa_strerror(int err);
/* The enum constant's name ("WA_EMALFORMED"), or "WA_E?" when unknown. */
const char *wa_errname(int err);

/* Log levels and the process-wide log sink (the one allowed global). */
enum wa_log_level {
	WA_LOG_ERROR = 0,
	WA_LOG_WARN = 1,
	WA_LOG_INFO = 2,
	WA_LOG_DEBUG = 3,
	WA_LOG_TRACE = 4,
};
typedef void (*wa_log_fn)(enum wa_log_level level, const char *module, const char *msg, void *user);
/* Installs a sink; NULL restores the default (stderr, INFO and above). */
void wa_log_set_sink(wa_log_fn fn, void *user);
void wa_log_set_level(enum wa_log_level max_level);

#ifdef __cplusplus
}
#endif
#endif
