/* Messaging codecs of src/session (msg.h): Message builders against the
 * Baileys vectors of messaging.md §12.3 and the id vector §12.5, the JSON
 * rendering WA_EV_MESSAGE carries, and the stanza builders/parsers (usync,
 * pre-key fetch, outgoing message, receipts, acks, retry receipts). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "session/msg.h"
#include "util/codec.h"

static void hex_eq(const uint8_t *p, size_t n, const char *hex)
{
	char *h = wa_hex_encode(p, n);
	CHECK(h != NULL);
	if (h)
		CHECK_EQ_STR(h, hex);
	free(h);
}

static void test_vectors(void)
{
	uint8_t *b = NULL;
	size_t n = 0;
	/* §12.3 reply */
	wa_msg_quote q = {.id = "3EB0ABCDEF", .participant = "15550001111@s.whatsapp.net", .text = "Hello"};
	CHECK_EQ_INT(wa_msg_build_text("yes", &q, NULL, 0, NULL, &b, &n), 0);
	hex_eq(b, n, "32390a037965738a01310a0a33454230414243444546121a313535353030303131313140732e77686174736170702e6e65741a070a0548656c6c6f");
	free(b);
	/* plain text is a conversation */
	CHECK_EQ_INT(wa_msg_build_text("Hello", NULL, NULL, 0, NULL, &b, &n), 0);
	hex_eq(b, n, "0a0548656c6c6f");
	/* §12.3 DSM for own devices */
	uint8_t *d = NULL;
	size_t dn = 0;
	CHECK_EQ_INT(wa_msg_wrap_dsm(b, n, "15550002222@s.whatsapp.net", &d, &dn), 0);
	hex_eq(d, dn, "fa01250a1a313535353030303232323240732e77686174736170702e6e657412070a0548656c6c6f");
	free(d);
	free(b);
	/* DSM copies messageContextInfo to the top level (Baileys' shape) */
	uint8_t secret[32];
	memset(secret, 0x11, sizeof secret);
	CHECK_EQ_INT(wa_msg_build_text("Hello", NULL, NULL, 0, secret, &b, &n), 0);
	CHECK_EQ_INT(wa_msg_wrap_dsm(b, n, "15550002222@s.whatsapp.net", &d, &dn), 0);
	CHECK(dn > 2 * 34);
	static const uint8_t mci_tail[] = {0x9a, 0x02, 0x22, 0x1a, 0x20};
	CHECK(dn >= 37 && memcmp(d + dn - 37, mci_tail, sizeof mci_tail) == 0);
	free(d);
	free(b);
	/* §12.3 reaction */
	CHECK_EQ_INT(wa_msg_build_reaction("15550001111@s.whatsapp.net", false, "3EB0ABCDEF", NULL,
		"\xf0\x9f\x91\x8d", 1700000000000LL, &b, &n), 0);
	hex_eq(b, n, "f202390a2a0a1a313535353030303131313140732e77686174736170702e6e657410001a0a334542304142434445461204f09f918d2080d095ffbc31");
	CHECK_EQ_STR(wa_msg_stanza_type(b, n), "reaction");
	free(b);
	/* §12.5 message id */
	uint8_t rnd[16];
	memset(rnd, 0xaa, sizeof rnd);
	char id[23];
	wa_msg_id_from("15550001111:7@s.whatsapp.net", 1700000000, rnd, id);
	CHECK_EQ_STR(id, "3EB06CB15F14CB0EC108C9");
	/* bad input */
	CHECK_EQ_INT(wa_msg_build_text("a\xff", NULL, NULL, 0, NULL, &b, &n), WA_EINVAL);
	CHECK_EQ_INT(wa_msg_wrap_dsm((const uint8_t *)"\xff\xff", 2, "x@s.whatsapp.net", &d, &dn), WA_EMALFORMED);
}

static void test_json(void)
{
	uint8_t *b = NULL;
	size_t n = 0;
	wa_msg_view v;
	CHECK_EQ_INT(wa_msg_build_text("hi", NULL, NULL, 0, NULL, &b, &n), 0);
	CHECK_EQ_INT(wa_msg_view_parse(b, n, &v), 0);
	CHECK_EQ_STR(v.json, "{\"conversation\":\"hi\"}");
	CHECK_EQ_STR(v.message_type, "conversation");
	CHECK_EQ_STR(v.text, "hi");
	CHECK(v.dsm_dest == NULL && !v.is_reaction);
	wa_msg_view_clear(&v);
	free(b);

	wa_msg_quote q = {.id = "ID1", .participant = "15550001111@s.whatsapp.net", .text = "Привет"};
	CHECK_EQ_INT(wa_msg_build_text("ответ 👍", &q, NULL, 0, NULL, &b, &n), 0);
	CHECK_EQ_INT(wa_msg_view_parse(b, n, &v), 0);
	CHECK_EQ_STR(v.json, "{\"extendedTextMessage\":{\"text\":\"ответ 👍\",\"contextInfo\":{\"stanzaId\":\"ID1\","
			     "\"participant\":\"15550001111@s.whatsapp.net\",\"quotedMessage\":{\"conversation\":\"Привет\"}}}}");
	CHECK_EQ_STR(v.message_type, "extendedTextMessage");
	CHECK_EQ_STR(v.text, "ответ 👍");
	wa_msg_view_clear(&v);

	/* own-device copy: unwrapped, destination kept */
	uint8_t *d = NULL;
	size_t dn = 0;
	CHECK_EQ_INT(wa_msg_wrap_dsm(b, n, "15550002222@s.whatsapp.net", &d, &dn), 0);
	CHECK_EQ_INT(wa_msg_view_parse(d, dn, &v), 0);
	CHECK_EQ_STR(v.dsm_dest, "15550002222@s.whatsapp.net");
	CHECK_EQ_STR(v.message_type, "extendedTextMessage");
	wa_msg_view_clear(&v);
	free(d);
	free(b);

	CHECK_EQ_INT(wa_msg_build_reaction("15550001111@s.whatsapp.net", true, "ID2", NULL, "❤", 5, &b, &n), 0);
	CHECK_EQ_INT(wa_msg_view_parse(b, n, &v), 0);
	CHECK_EQ_STR(v.json, "{\"reactionMessage\":{\"key\":{\"remoteJid\":\"15550001111@s.whatsapp.net\","
			     "\"fromMe\":true,\"id\":\"ID2\"},\"text\":\"❤\",\"senderTimestampMs\":\"5\"}}");
	CHECK_EQ_STR(v.message_type, "reactionMessage");
	CHECK(v.is_reaction);
	wa_msg_view_clear(&v);
	free(b);

	/* bytes render as base64 */
	uint8_t secret[32] = {0};
	CHECK_EQ_INT(wa_msg_build_text("x", NULL, NULL, 0, secret, &b, &n), 0);
	CHECK_EQ_INT(wa_msg_view_parse(b, n, &v), 0);
	CHECK_EQ_STR(v.json, "{\"conversation\":\"x\",\"messageContextInfo\":{\"messageSecret\":"
			     "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}}");
	CHECK_EQ_STR(v.message_type, "conversation");
	wa_msg_view_clear(&v);
	free(b);
	CHECK_EQ_INT(wa_msg_view_parse((const uint8_t *)"\x0a\x05hi", 3, &v), WA_EMALFORMED);
}

static wa_node *node(const char *tag)
{
	wa_node *n = NULL;
	CHECK_EQ_INT(wa_node_new(&n, tag), 0);
	return n;
}

static wa_node *child(wa_node *p, const char *tag)
{
	wa_node *c = NULL;
	CHECK_EQ_INT(wa_node_add_new(p, tag, &c), 0);
	return c;
}

static void attr(wa_node *n, const char *k, const char *v)
{
	CHECK_EQ_INT(wa_node_set_attr(n, k, v), 0);
}

static void bytes(wa_node *p, const char *tag, uint8_t fill, size_t len)
{
	uint8_t b[64];
	memset(b, fill, sizeof b);
	CHECK_EQ_INT(wa_node_set_bytes(child(p, tag), b, len), 0);
}

static void test_usync(void)
{
	const char *users[2] = {"15550001111@s.whatsapp.net", "15550002222@s.whatsapp.net"};
	wa_node *iq = NULL;
	CHECK_EQ_INT(wa_usync_build_devices("q1", "q1", users, 2, &iq), 0);
	CHECK_EQ_STR(wa_node_attr(iq, "xmlns"), "usync");
	const wa_node *us = wa_node_child(iq, "usync");
	CHECK(us && strcmp(wa_node_attr(us, "context"), "message") == 0);
	CHECK(wa_node_child(wa_node_child(us, "query"), "devices") != NULL);
	CHECK(wa_node_child(wa_node_child(us, "query"), "lid") != NULL);
	CHECK_EQ_INT(wa_node_n_children(wa_node_child(us, "list")), 2);
	wa_node_free(iq);

	/* answer: device 3 lacks key-index (Baileys drops it), 7 has one */
	wa_node *r = node("iq");
	attr(r, "type", "result");
	wa_node *l = child(child(r, "usync"), "list");
	wa_node *u = child(l, "user");
	attr(u, "jid", "15550002222@s.whatsapp.net");
	wa_node *dl = child(child(u, "devices"), "device-list");
	attr(child(dl, "device"), "id", "0");
	attr(child(dl, "device"), "id", "3");
	wa_node *d7 = child(dl, "device");
	attr(d7, "id", "7");
	attr(d7, "key-index", "2");
	attr(child(u, "lid"), "val", "99887766@lid");
	wa_node *u2 = child(l, "user");
	attr(u2, "jid", "not a jid");
	wa_usync_user *res = NULL;
	size_t n = 0;
	CHECK_EQ_INT(wa_usync_parse(r, &res, &n), 0);
	CHECK_EQ_INT(n, 1);
	if (n == 1) {
		CHECK_EQ_STR(res[0].lid, "99887766@lid");
		CHECK_EQ_INT(res[0].n_devices, 2);
		CHECK(res[0].devices[0] == 0 && res[0].devices[1] == 7);
	}
	free(res);
	attr(r, "type", "error");
	CHECK_EQ_INT(wa_usync_parse(r, &res, &n), WA_EPROTO);
	wa_node_free(r);

	const char *phones[1] = {"+55 11x"};
	CHECK_EQ_INT(wa_usync_build_contacts("q2", "q2", phones, 1, &iq), WA_EINVAL);
	phones[0] = "+5511999990000";
	CHECK_EQ_INT(wa_usync_build_contacts("q2", "q2", phones, 1, &iq), 0);
	const wa_node *c = wa_node_child(wa_node_child(wa_node_child(wa_node_child(iq, "usync"), "list"), "user"), "contact");
	CHECK(c && wa_node_string(c) && strcmp(wa_node_string(c), "+5511999990000") == 0);
	wa_node_free(iq);
}

static void test_prekeys(void)
{
	const char *jids[1] = {"15550002222:3@s.whatsapp.net"};
	wa_node *iq = NULL;
	CHECK_EQ_INT(wa_prekey_build_fetch("p1", jids, 1, true, &iq), 0);
	const wa_node *u = wa_node_child(wa_node_child(iq, "key"), "user");
	CHECK(u && strcmp(wa_node_attr(u, "reason"), "identity") == 0);
	wa_node_free(iq);

	wa_node *r = node("iq");
	attr(r, "type", "result");
	wa_node *l = child(r, "list");
	wa_node *ok = child(l, "user");
	attr(ok, "jid", "15550002222:3@s.whatsapp.net");
	static const uint8_t reg[4] = {0, 0, 0x12, 0x34}, kid[3] = {0, 1, 2};
	CHECK_EQ_INT(wa_node_set_bytes(child(ok, "registration"), reg, 4), 0);
	bytes(ok, "identity", 7, 32);
	wa_node *sk = child(ok, "skey");
	CHECK_EQ_INT(wa_node_set_bytes(child(sk, "id"), kid, 3), 0);
	bytes(sk, "value", 8, 32);
	bytes(sk, "signature", 9, 64);
	wa_node *bad = child(l, "user");
	attr(bad, "jid", "15550002222@s.whatsapp.net");
	CHECK_EQ_INT(wa_node_set_bytes(child(bad, "registration"), reg, 4), 0);
	bytes(bad, "identity", 7, 31); /* wrong size */
	wa_prekey_user *pu = NULL;
	size_t n = 0;
	CHECK_EQ_INT(wa_prekey_parse(r, &pu, &n), 0);
	CHECK_EQ_INT(n, 2);
	if (n == 2) {
		CHECK(pu[0].ok && !pu[1].ok);
		CHECK_EQ_INT(pu[0].bundle.registration_id, 0x1234);
		CHECK_EQ_INT(pu[0].bundle.signed_prekey_id, 0x102);
		CHECK(!pu[0].bundle.has_prekey && pu[0].bundle.identity[0] == 7);
	}
	free(pu);
	wa_node_free(r);
}

static void test_stanza(void)
{
	uint8_t ct[5] = {1, 2, 3, 4, 5}, di[3] = {9, 9, 9};
	wa_msg_enc e[2] = {
		{.jid = "15550002222@s.whatsapp.net", .type = WA_SIG_TYPE_MSG, .ct = ct, .ct_len = 5},
		{.jid = "15550001111:2@s.whatsapp.net", .type = WA_SIG_TYPE_PKMSG, .ct = ct, .ct_len = 5},
	};
	wa_msg_stanza m = {.id = "ID", .to = "15550002222@s.whatsapp.net", .type = "text", .encs = e,
			   .n_encs = 1, .device_identity = di, .device_identity_len = 3};
	wa_node *st = NULL;
	CHECK_EQ_INT(wa_msg_build_stanza(&m, &st), 0);
	CHECK(wa_node_child(st, "device-identity") == NULL);
	const wa_node *to = wa_node_child(wa_node_child(st, "participants"), "to");
	CHECK(to && strcmp(wa_node_attr(to, "jid"), "15550002222@s.whatsapp.net") == 0);
	const wa_node *enc = wa_node_child(to, "enc");
	CHECK(enc && strcmp(wa_node_attr(enc, "type"), "msg") == 0 && strcmp(wa_node_attr(enc, "v"), "2") == 0);
	wa_node_free(st);
	m.n_encs = 2; /* a pkmsg brings the device identity */
	CHECK_EQ_INT(wa_msg_build_stanza(&m, &st), 0);
	CHECK(wa_node_child(st, "device-identity") != NULL);
	wa_node_free(st);
	m.single = true; /* single-device resend needs exactly one enc */
	CHECK_EQ_INT(wa_msg_build_stanza(&m, &st), WA_EINVAL);
	m.n_encs = 1;
	m.retry_count = 2;
	m.force_identity = true;
	CHECK_EQ_INT(wa_msg_build_stanza(&m, &st), 0);
	CHECK(strcmp(wa_node_attr(st, "device_fanout"), "false") == 0);
	CHECK(strcmp(wa_node_attr(wa_node_child(st, "enc"), "count"), "2") == 0);
	CHECK(wa_node_child(st, "device-identity") != NULL);

	/* the delivered form parses back */
	wa_node *in = node("message");
	attr(in, "from", "15550002222:3@s.whatsapp.net");
	attr(in, "id", "ID");
	attr(in, "t", "1700000000");
	attr(in, "sender_lid", "998877@lid");
	attr(in, "offline", "1");
	wa_node *en = child(in, "enc");
	attr(en, "v", "2");
	attr(en, "type", "pkmsg");
	CHECK_EQ_INT(wa_node_set_bytes(en, ct, 5), 0);
	wa_node *e3 = child(in, "enc");
	attr(e3, "v", "2");
	attr(e3, "type", "msmsg");
	CHECK_EQ_INT(wa_node_set_bytes(e3, ct, 5), 0);
	wa_in_msg im;
	CHECK_EQ_INT(wa_in_msg_parse(in, &im), 0);
	CHECK_EQ_INT(im.n_encs, 1);
	CHECK(im.has_unknown_enc && im.offline && im.t == 1700000000 && im.from.device == 3);
	CHECK_EQ_STR(im.sender_alt, "998877@lid");
	CHECK(im.encs[0].type == WA_SIG_TYPE_PKMSG && im.encs[0].ct_len == 5);

	/* ack for it (Baileys' shape) */
	wa_node *a = NULL;
	CHECK_EQ_INT(wa_ack_build(in, "15550001111:2@s.whatsapp.net", 500, &a), 0);
	CHECK_EQ_STR(wa_node_attr(a, "class"), "message");
	CHECK_EQ_STR(wa_node_attr(a, "to"), "15550002222:3@s.whatsapp.net");
	CHECK_EQ_STR(wa_node_attr(a, "error"), "500");
	CHECK_EQ_STR(wa_node_attr(a, "from"), "15550001111:2@s.whatsapp.net");
	wa_node_free(a);

	/* retry receipt: keys from count 2 */
	wa_retry_keys k;
	memset(&k, 0, sizeof k);
	k.registration_id = 0x1234;
	k.prekey_id = 77;
	wa_node *rr = NULL;
	CHECK_EQ_INT(wa_retry_build(in, NULL, 2, &k, &rr), 0);
	CHECK_EQ_STR(wa_node_attr(rr, "type"), "retry");
	CHECK_EQ_STR(wa_node_attr(rr, "to"), "15550002222:3@s.whatsapp.net");
	CHECK_EQ_STR(wa_node_attr(wa_node_child(rr, "retry"), "count"), "2");
	CHECK_EQ_STR(wa_node_attr(wa_node_child(rr, "retry"), "t"), "1700000000");
	CHECK(wa_node_child(wa_node_child(rr, "keys"), "key") != NULL);
	/* ... and the sender's parser reads it back into a bundle */
	attr(rr, "from", "15550001111:2@s.whatsapp.net");
	wa_in_receipt ir;
	CHECK_EQ_INT(wa_in_receipt_parse(rr, &ir), 0);
	CHECK(ir.is_retry && ir.retry_count == 2 && ir.has_registration && ir.registration_id == 0x1234);
	wa_sig_bundle b;
	CHECK_EQ_INT(wa_prekey_parse_bundle(ir.keys, ir.reg_node, &b), 0);
	CHECK(b.has_prekey && b.prekey_id == 77 && b.registration_id == 0x1234);
	wa_node_free(rr);
	wa_node_free(in);
	wa_node_free(st);

	/* receipts with several ids */
	const char *ids[3] = {"A", "B", "C"};
	wa_node *r = NULL;
	CHECK_EQ_INT(wa_receipt_build(ids, 3, "15550002222@s.whatsapp.net", NULL, NULL, "read", 17, &r), 0);
	attr(r, "from", "15550002222:3@s.whatsapp.net");
	CHECK_EQ_INT(wa_in_receipt_parse(r, &ir), 0);
	CHECK_EQ_INT(ir.n_ids, 3);
	CHECK(ir.n_ids == 3 && strcmp(ir.ids[2], "C") == 0 && ir.t == 17 && !ir.is_retry);
	CHECK_EQ_INT(wa_receipt_status(ir.type), 4 /* WA_MSG_READ */);
	CHECK_EQ_INT(wa_receipt_status(NULL), 3 /* WA_MSG_DELIVERED */);
	CHECK_EQ_INT(wa_receipt_status("sender"), 0);
	CHECK_EQ_INT(wa_receipt_status("inactive"), 3 /* delivered to a device that is not online */);
	wa_node_free(r);

	wa_node *ak = node("ack");
	attr(ak, "id", "ID");
	attr(ak, "class", "message");
	attr(ak, "error", "479");
	wa_in_ack ia;
	CHECK_EQ_INT(wa_in_ack_parse(ak, &ia), 0);
	CHECK(ia.error == 479);
	wa_node_free(ak);
}

static void test_addr(void)
{
	wa_jid j;
	char n[WA_STORE_JID_MAX];
	CHECK_EQ_INT(wa_jid_parse(&j, "15550001111:3@s.whatsapp.net"), 0);
	CHECK_EQ_INT(wa_msg_addr_name(&j, n, sizeof n), 0);
	CHECK_EQ_STR(n, "15550001111");
	CHECK_EQ_INT(wa_jid_parse(&j, "998877:3@lid"), 0);
	CHECK_EQ_INT(wa_msg_addr_name(&j, n, sizeof n), 0);
	CHECK_EQ_STR(n, "998877_1");
	CHECK_EQ_INT(wa_msg_user_jid(&j, n, sizeof n), 0);
	CHECK_EQ_STR(n, "998877@lid");
	CHECK_EQ_INT(wa_jid_parse(&j, "120363000000000001@g.us"), 0);
	CHECK_EQ_INT(wa_msg_addr_name(&j, n, sizeof n), WA_EINVAL);
}

/* A worked example computed with Baileys 7.0.0-rc14's getMessageReportingToken
 * (fromMe, remoteJid = the chat): an extendedTextMessage whose contextInfo has
 * only fields the token does not cover, so the covered content is the
 * re-encoded extendedTextMessage with its text alone. */
static void test_reporting(void)
{
	static const char msg_hex[] =
		"32260a0568656c6c6f8a011c0a0341424312103140732e77686174736170702e6e65741a030a0171"
		"9a02221a200102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20";
	static const uint8_t want_content[] = {0x32, 0x07, 0x0a, 0x05, 'h', 'e', 'l', 'l', 'o'};
	static const uint8_t want_tok[16] = {0x86, 0x40, 0xc5, 0x31, 0xa9, 0x5d, 0xb2, 0x3a, 0x47, 0x50,
		0xfb, 0xdc, 0x22, 0x21, 0x00, 0x40};
	uint8_t *m = NULL, *c = NULL, tok[WA_REPORTING_TOKEN_LEN];
	size_t ml = 0, cl = 0;
	CHECK(wa_hex_decode(msg_hex, strlen(msg_hex), &m, &ml) == 0);
	CHECK(wa_msg_reporting_content(m, ml, &c, &cl) == 0);
	CHECK_EQ_INT((int)cl, (int)sizeof want_content);
	if (cl == sizeof want_content)
		CHECK_EQ_MEM(c, want_content, cl);
	CHECK(wa_msg_reporting_token(m, ml, "3EB0ABCDEF0123456789AB", "15551234567@s.whatsapp.net", tok) == 0);
	CHECK_EQ_MEM(tok, want_tok, sizeof tok);
	/* another chat or id: another token */
	uint8_t other[WA_REPORTING_TOKEN_LEN];
	CHECK(wa_msg_reporting_token(m, ml, "3EB0ABCDEF0123456789AC", "15551234567@s.whatsapp.net", other) == 0);
	CHECK(memcmp(tok, other, sizeof tok) != 0);
	/* no secret: no token; a truncated message: malformed */
	static const uint8_t plain[] = {0x0a, 0x02, 'h', 'i'};
	CHECK_EQ_INT(wa_msg_reporting_token(plain, sizeof plain, "X", "1@s.whatsapp.net", tok), WA_ENOTFOUND);
	CHECK_EQ_INT(wa_msg_reporting_token_raw(m, ml - 40, m + ml - 32, 32, "X", "a", "b", tok), WA_EMALFORMED);
	/* a varint longer than 6 bytes ends the walk, as in Baileys */
	static const uint8_t longv[] = {0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x0a, 0x01, 'x'};
	CHECK_EQ_INT(wa_msg_reporting_token_raw(longv, sizeof longv, want_tok, 16, "X", "a", "b", tok), WA_EMALFORMED);
	free(c);
	free(m);
}

/* Privacy-token lifetimes in 7-day buckets, as Baileys' isTcTokenExpired /
 * shouldSendNewTcToken: valid in the current and the 3 previous buckets;
 * ours is issued again once the bucket changed. */
static void test_tctoken_times(void)
{
	const int64_t W = WA_TCTOKEN_BUCKET_S, now = 2900 * W + 100;
	CHECK(wa_tctoken_expired(0, now));
	CHECK(!wa_tctoken_expired(now, now));
	CHECK(!wa_tctoken_expired(2897 * W, now));     /* start of the oldest live bucket */
	CHECK(wa_tctoken_expired(2897 * W - 1, now));  /* one second before it */
	CHECK(wa_tctoken_should_issue(0, now));
	CHECK(!wa_tctoken_should_issue(2900 * W, now)); /* this bucket */
	CHECK(wa_tctoken_should_issue(2900 * W - 1, now));
}

int main(void)
{
	test_tctoken_times();
	test_reporting();
	test_vectors();
	test_json();
	test_usync();
	test_prekeys();
	test_stanza();
	test_addr();
	return check_exit("session_msg");
}
