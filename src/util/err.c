/* Names and descriptions for every wa_err code (include/wa/wa.h). */
#include "wa/wa.h"

struct err_entry {
	int code;
	const char *name;
	const char *text;
};

#define E(c, t) { c, #c, t }
static const struct err_entry errs[] = {
	E(WA_OK, "success"),
	E(WA_ENOMEM, "out of memory"),
	E(WA_EINVAL, "invalid argument"),
	E(WA_EMALFORMED, "malformed input"),
	E(WA_ETOOBIG, "size limit exceeded"),
	E(WA_ESTATE, "operation not allowed in the current state"),
	E(WA_ETRUNCATED, "input truncated"),
	E(WA_ETRAILING, "trailing bytes after a complete item"),
	E(WA_EDEPTH, "nesting too deep"),
	E(WA_ENOTFOUND, "not found"),
	E(WA_EIO, "I/O error"),
	E(WA_ETYPE, "item has the wrong type"),
	E(WA_EEXIST, "already exists"),
	E(WA_ETIMEOUT, "timed out"),
	E(WA_EUNSUPPORTED, "not supported by this build"),
	E(WA_EBIN_TOKEN, "unknown binary-node token"),
	E(WA_EBIN_TAG, "invalid binary-node tag byte"),
	E(WA_EBIN_JID, "malformed JID"),
	E(WA_EBIN_INFLATE, "zlib data invalid or too large"),
	E(WA_ENOISE_DECRYPT, "noise frame failed authentication"),
	E(WA_ENOISE_CERT, "server certificate chain rejected"),
	E(WA_ENOISE_HEADER, "bad connection intro header"),
	E(WA_ENOISE_FAILED, "noise state failed earlier (sticky)"),
	E(WA_ENOISE_NONCE, "noise nonce counter exhausted"),
	E(WA_ECRYPTO, "crypto operation failed"),
	E(WA_ESIG_VERIFY, "signature verification failed"),
	E(WA_ESIG_NOSESSION, "no Signal session"),
	E(WA_ESIG_DUPLICATE, "duplicate Signal message"),
	E(WA_ESIG_UNTRUSTED, "untrusted identity key"),
	E(WA_ESIG_INVALID, "invalid Signal message or key"),
	E(WA_ESIG_NOPREKEY, "pre-key not found"),
	E(WA_EDB, "database error"),
	E(WA_EDB_BUSY, "database busy"),
	E(WA_EDB_SCHEMA, "database schema is newer than this build"),
	E(WA_EDB_KEY, "database master key missing or wrong"),
	E(WA_EDB_CORRUPT, "database file corrupt"),
	E(WA_EPROTO, "protocol violation by peer"),
	E(WA_ECLOSED, "connection closed"),
	E(WA_ELOGGED_OUT, "device logged out"),
	E(WA_EPROXY, "proxy unreachable or refused the tunnel"),
	E(WA_EMEDIA_MAC, "media MAC verification failed"),
	E(WA_EMEDIA_HASH, "media hash mismatch"),
	E(WA_EMEDIA_HOST, "media url is not on a WhatsApp media host"),
	E(WA_EMEDIA_GONE, "media expired on the server and the phone no longer has it"),
	E(WA_EMEDIA_RETRY, "the phone could not upload the media again"),
	E(WA_EMEDIA_RETRY_KEY, "the phone could not decrypt the media-retry request"),
	E(WA_EQR_RENDER, "QR encoding or rendering failed"),
};
#undef E

static const struct err_entry *find(int code)
{
	for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++)
		if (errs[i].code == code)
			return &errs[i];
	return NULL;
}

const char *wa_strerror(int err)
{
	const struct err_entry *e = find(err);
	return e ? e->text : "unknown error";
}

const char *wa_errname(int err)
{
	const struct err_entry *e = find(err);
	return e ? e->name : "WA_E?";
}
