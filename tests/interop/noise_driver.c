/* Interop driver for tests/interop/noise.mjs: runs our Noise responder (or
 * initiator) and crypto primitives on request, talking to the Node script
 * over stdin/stdout. Sans-IO all the way: the script moves the bytes.
 *
 * Records both ways: u32be length, then that many bytes: a type byte and
 * its payload. Every request gets exactly one reply record 'K' (payload: a
 * list of events, each type byte + u32be length + data) or 'E' (text).
 *
 * Requests:
 *   'I' mode(1)          new responder session; the driver makes a test root,
 *                        intermediate and server static and a chain per mode
 *                        (0 good, 1 signed by another root, 2 intermediate
 *                        issuer serial 5, 3 leaf key != server static,
 *                        4 leaf signed by another key, 5 leaf without a
 *                        signature). Reply: event 'r' =
 *                        root public key.
 *   'J' root(32) pl...   new initiator session trusting root, sending pl as
 *                        ClientPayload. Reply: 'w' = intro + ClientHello frame.
 *   'W' bytes            bytes from the peer's byte stream (any split).
 *                        Events: 'w' bytes to send back, 'p' the decrypted
 *                        ClientPayload, 's' the peer's static key, 'f' one
 *                        decrypted transport frame, 'e' error text.
 *   'S' n(1) {u32 len, pt}*n   encrypt and frame n plaintexts; one 'w'.
 *   'G' priv(32) msg     XEdDSA sign; event 'g' = signature.
 *   'V' pub(32) sig(64) msg    XEdDSA verify; event 'v' = 1 byte (1 valid).
 *   'D' priv(32) pub(32) X25519; event 'd' = shared secret.
 *   'P' priv(32)         public key of priv; event 'k'.
 *   'Q'                  quit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "noise/cert.h"
#include "noise/cipher.h"
#include "noise/frame.h"
#include "noise/handshake.h"
#include "util/seams.h"

#define MAX_RECORD (16u << 20)

struct sess {
	wa_noise_hs *hs;
	wa_noise_transport *t;
	wa_frame_dec *dec;
	bool initiator;
	bool got_hello; /* responder: client hello handled */
	bool finished;  /* handshake messages done */
};

static void sess_clear(struct sess *s)
{
	wa_noise_hs_free(s->hs);
	wa_noise_transport_free(s->t);
	wa_frame_dec_free(s->dec);
	memset(s, 0, sizeof *s);
}

static int read_full(void *p, size_t n)
{
	return fread(p, 1, n, stdin) == n ? 0 : -1;
}

static void write_record(uint8_t type, const uint8_t *p, size_t n)
{
	uint8_t h[5] = { (uint8_t)((n + 1) >> 24), (uint8_t)((n + 1) >> 16), (uint8_t)((n + 1) >> 8),
		(uint8_t)(n + 1), type };
	fwrite(h, 1, 5, stdout);
	if (n)
		fwrite(p, 1, n, stdout);
	fflush(stdout);
}

static void event(wa_writer *ev, uint8_t type, const uint8_t *p, size_t n)
{
	(void)wa_wr_u8(ev, type);
	(void)wa_wr_u32be(ev, (uint32_t)n);
	(void)wa_wr_bytes(ev, p, n);
}

static void event_err(wa_writer *ev, const char *what, int rc, const char *reason)
{
	char buf[512];
	snprintf(buf, sizeof buf, "%s: %s (%s)%s%s", what, wa_errname(rc), wa_strerror(rc),
		reason ? ": " : "", reason ? reason : "");
	event(ev, 'e', (const uint8_t *)buf, strlen(buf));
}

static int new_responder(struct sess *s, int mode, wa_writer *ev)
{
	wa_keypair root, inter, server, other;
	wa_keypair_generate(&root);
	wa_keypair_generate(&inter);
	wa_keypair_generate(&server);
	wa_keypair_generate(&other);
	uint64_t now = (uint64_t)(wa_now_ms() / 1000);
	wa_noise_cert_spec is = { .serial = 1, .issuer_serial = 0, .not_before = now - 86400, .not_after = now + 86400 };
	wa_noise_cert_spec ls = { .serial = 2, .issuer_serial = 1, .not_before = now - 3600, .not_after = now + 3600 };
	memcpy(is.key, inter.pub, 32);
	memcpy(ls.key, server.pub, 32);
	const uint8_t *root_priv = root.priv, *inter_priv = inter.priv;
	switch (mode) {
	case 0: break;
	case 1: root_priv = other.priv; break;
	case 2: is.issuer_serial = 5; break;
	case 3: memcpy(ls.key, other.pub, 32); break;
	case 4: inter_priv = other.priv; break;
	case 5: break;
	default: return WA_EINVAL;
	}
	uint8_t *chain = NULL;
	size_t chain_len = 0;
	int rc = wa_noise_cert_chain_build(&chain, &chain_len, root_priv, &is, inter_priv, &ls);
	if (rc == 0 && mode == 5) {
		/* same intermediate, leaf details without a signature */
		uint8_t *id = NULL, *ld = NULL, isig[64];
		size_t il = 0, ll = 0;
		free(chain);
		chain = NULL;
		rc = wa_noise_cert_details_encode(&is, &id, &il);
		if (rc == 0)
			rc = wa_noise_cert_details_encode(&ls, &ld, &ll);
		if (rc == 0)
			rc = wa_xeddsa_sign(isig, root.priv, id, il);
		if (rc == 0)
			rc = wa_noise_cert_chain_pack(&chain, &chain_len, ld, ll, NULL, 0, id, il, isig, 64);
		free(id);
		free(ld);
	}
	if (rc == 0)
		rc = wa_noise_hs_new_responder(&s->hs, &server, chain, chain_len, NULL);
	if (rc == 0)
		rc = wa_frame_dec_new(&s->dec, WA_FRAME_SERVER, WA_NOISE_MAX_FRAME);
	free(chain);
	if (rc == 0)
		event(ev, 'r', root.pub, 32);
	wa_keypair_clear(&root);
	wa_keypair_clear(&inter);
	wa_keypair_clear(&server);
	wa_keypair_clear(&other);
	return rc;
}

static int new_initiator(struct sess *s, const uint8_t *p, size_t n, wa_writer *ev)
{
	if (n < 32)
		return WA_EINVAL;
	wa_noise_trust trust;
	memcpy(trust.root_pub, p, 32);
	trust.root_serial = 0;
	wa_keypair cs;
	wa_keypair_generate(&cs);
	s->initiator = true;
	int rc = wa_noise_hs_new_initiator(&s->hs, &cs, p + 32, n - 32, &trust, NULL);
	wa_keypair_clear(&cs);
	if (rc == 0)
		rc = wa_frame_dec_new(&s->dec, WA_FRAME_CLIENT, WA_NOISE_MAX_FRAME);
	if (rc)
		return rc;
	wa_writer msg, out;
	wa_writer_init(&msg, WA_NOISE_MAX_HS_MSG);
	wa_writer_init(&out, WA_NOISE_MAX_HS_MSG + 16);
	rc = wa_noise_hs_write_client_hello(s->hs, &msg);
	if (rc == 0)
		rc = wa_frame_write_intro(&out, NULL, 0);
	if (rc == 0)
		rc = wa_frame_write(&out, msg.p, msg.len);
	if (rc == 0)
		event(ev, 'w', out.p, out.len);
	wa_writer_clear(&msg, false);
	wa_writer_clear(&out, false);
	return rc;
}

/* One complete frame from the peer. */
static void on_frame(struct sess *s, const uint8_t *f, size_t n, wa_writer *ev)
{
	int rc;
	wa_writer msg, out;
	wa_writer_init(&msg, WA_NOISE_MAX_HS_MSG);
	wa_writer_init(&out, WA_NOISE_MAX_HS_MSG + 16);
	if (s->t) {
		uint8_t *pt = malloc(n ? n : 1);
		rc = pt ? wa_noise_transport_decrypt(s->t, pt, f, n) : WA_ENOMEM;
		if (rc == 0)
			event(ev, 'f', pt, n - WA_NOISE_TAG_LEN);
		else
			event_err(ev, "transport decrypt", rc, NULL);
		free(pt);
	} else if (!s->initiator && !s->got_hello) {
		s->got_hello = true;
		rc = wa_noise_hs_read_client_hello(s->hs, f, n);
		if (rc == 0)
			rc = wa_noise_hs_write_server_hello(s->hs, &msg);
		if (rc == 0)
			rc = wa_frame_write(&out, msg.p, msg.len);
		if (rc == 0)
			event(ev, 'w', out.p, out.len);
		else
			event_err(ev, "client hello", rc, wa_noise_hs_error_reason(s->hs));
	} else if (!s->initiator) {
		uint8_t rs[32];
		const uint8_t *pl;
		size_t pl_len;
		rc = wa_noise_hs_read_client_finish(s->hs, f, n);
		if (rc == 0 && (rc = wa_noise_hs_client_payload(s->hs, &pl, &pl_len)) == 0)
			event(ev, 'p', pl, pl_len);
		if (rc == 0 && (rc = wa_noise_hs_remote_static(s->hs, rs)) == 0)
			event(ev, 's', rs, 32);
		if (rc == 0)
			rc = wa_noise_hs_split(s->hs, &s->t);
		if (rc)
			event_err(ev, "client finish", rc, wa_noise_hs_error_reason(s->hs));
		s->finished = true;
	} else {
		uint8_t rs[32];
		rc = wa_noise_hs_read_server_hello(s->hs, f, n);
		if (rc == 0 && (rc = wa_noise_hs_remote_static(s->hs, rs)) == 0)
			event(ev, 's', rs, 32);
		if (rc == 0)
			rc = wa_noise_hs_write_client_finish(s->hs, &msg);
		if (rc == 0)
			rc = wa_frame_write(&out, msg.p, msg.len);
		if (rc == 0)
			rc = wa_noise_hs_split(s->hs, &s->t);
		if (rc == 0)
			event(ev, 'w', out.p, out.len);
		else
			event_err(ev, "server hello", rc, wa_noise_hs_error_reason(s->hs));
		s->finished = true;
	}
	wa_writer_clear(&msg, false);
	wa_writer_clear(&out, false);
}

static void on_bytes(struct sess *s, const uint8_t *p, size_t n, wa_writer *ev)
{
	while (n) {
		size_t used = 0;
		const uint8_t *f;
		size_t fl;
		int rc = wa_frame_decode(s->dec, p, n, &used, &f, &fl);
		if (rc < 0) {
			event_err(ev, "frame", rc, wa_frame_dec_error_reason(s->dec));
			return;
		}
		p += used;
		n -= used;
		if (rc == 1)
			on_frame(s, f, fl, ev);
	}
}

static int send_frames(struct sess *s, const uint8_t *p, size_t n, wa_writer *ev)
{
	if (!s->t || n < 1)
		return WA_ESTATE;
	size_t count = p[0], off = 1;
	wa_writer out;
	wa_writer_init(&out, MAX_RECORD);
	int rc = 0;
	for (size_t i = 0; i < count && rc == 0; i++) {
		if (n - off < 4) {
			rc = WA_EMALFORMED;
			break;
		}
		size_t len = (size_t)p[off] << 24 | (size_t)p[off + 1] << 16 | (size_t)p[off + 2] << 8 | p[off + 3];
		off += 4;
		if (len > n - off) {
			rc = WA_EMALFORMED;
			break;
		}
		uint8_t *ct = malloc(len + WA_NOISE_TAG_LEN);
		rc = ct ? wa_noise_transport_encrypt(s->t, ct, p + off, len) : WA_ENOMEM;
		if (rc == 0)
			rc = wa_frame_write(&out, ct, len + WA_NOISE_TAG_LEN);
		free(ct);
		off += len;
	}
	if (rc == 0)
		event(ev, 'w', out.p, out.len);
	wa_writer_clear(&out, false);
	return rc;
}

int main(void)
{
	struct sess s;
	memset(&s, 0, sizeof s);
	for (;;) {
		uint8_t h[4];
		if (read_full(h, 4) != 0)
			break;
		size_t len = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
		if (len < 1 || len > MAX_RECORD)
			return 2;
		uint8_t *rec = malloc(len);
		if (!rec || read_full(rec, len) != 0)
			return 2;
		uint8_t type = rec[0];
		const uint8_t *p = rec + 1;
		size_t n = len - 1;
		wa_writer ev;
		wa_writer_init(&ev, MAX_RECORD);
		int rc = 0;
		switch (type) {
		case 'I':
			sess_clear(&s);
			rc = n == 1 ? new_responder(&s, p[0], &ev) : WA_EINVAL;
			break;
		case 'J':
			sess_clear(&s);
			rc = new_initiator(&s, p, n, &ev);
			break;
		case 'W':
			rc = s.dec ? (on_bytes(&s, p, n, &ev), 0) : WA_ESTATE;
			break;
		case 'S':
			rc = send_frames(&s, p, n, &ev);
			break;
		case 'G': {
			uint8_t sig[64];
			rc = n >= 32 ? wa_xeddsa_sign(sig, p, p + 32, n - 32) : WA_EINVAL;
			if (rc == 0)
				event(&ev, 'g', sig, 64);
			break;
		}
		case 'V': {
			if (n < 96) {
				rc = WA_EINVAL;
				break;
			}
			uint8_t ok = wa_xeddsa_verify(p, p + 96, n - 96, p + 32) == 0;
			event(&ev, 'v', &ok, 1);
			break;
		}
		case 'D': {
			uint8_t out[32];
			rc = n == 64 ? wa_x25519_dh(out, p, p + 32) : WA_EINVAL;
			if (rc == 0)
				event(&ev, 'd', out, 32);
			break;
		}
		case 'P': {
			uint8_t pub[32];
			if (n != 32) {
				rc = WA_EINVAL;
				break;
			}
			wa_x25519_public(pub, p);
			event(&ev, 'k', pub, 32);
			break;
		}
		case 'Q':
			free(rec);
			wa_writer_clear(&ev, false);
			sess_clear(&s);
			write_record('K', NULL, 0);
			return 0;
		default:
			rc = WA_EINVAL;
		}
		if (rc == 0 && wa_wr_error(&ev) == 0) {
			write_record('K', ev.p, ev.len);
		} else {
			char buf[256];
			snprintf(buf, sizeof buf, "request '%c' failed: %s", type, wa_errname(rc ? rc : wa_wr_error(&ev)));
			write_record('E', (const uint8_t *)buf, strlen(buf));
		}
		wa_writer_clear(&ev, false);
		free(rec);
	}
	sess_clear(&s);
	return 0;
}
