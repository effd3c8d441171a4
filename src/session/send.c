/* The outgoing 1:1 <message> stanza (messaging.md §3, §5): one <to> per
 * recipient device inside <participants> (fan-out), or a single direct <enc>
 * for a one-device retry resend; <device-identity> whenever any <enc> is a
 * pkmsg (the receiver needs our account signature to trust a new session). */
#include <stdio.h>
#include <string.h>

#include "message.pb-c.h"
#include "pb.h"
#include "session/msg.h"

static int set(wa_node *n, const char *k, const char *v, int rc)
{
	return rc == 0 && v ? wa_node_set_attr(n, k, v) : rc;
}

static int add_enc(wa_node *parent, const wa_msg_stanza *m, const wa_msg_enc *e)
{
	wa_node *enc;
	int rc = wa_node_add_new(parent, "enc", &enc);
	rc = set(enc, "v", "2", rc);
	rc = set(enc, "type", wa_sig_type_name(e->type), rc);
	if (m->retry_count) {
		char c[16];
		snprintf(c, sizeof c, "%u", m->retry_count);
		rc = set(enc, "count", c, rc);
	}
	rc = set(enc, "mediatype", m->mediatype, rc);
	if (m->decrypt_fail_hide)
		rc = set(enc, "decrypt-fail", "hide", rc);
	if (rc == 0)
		rc = wa_node_set_bytes(enc, e->ct, e->ct_len);
	return rc;
}

int wa_msg_build_stanza(const wa_msg_stanza *m, wa_node **out)
{
	if (!m || !out || !m->id || !m->to || !m->type || (m->n_encs && !m->encs) ||
	    (m->single && m->n_encs != 1))
		return WA_EINVAL;
	for (size_t i = 0; i < m->n_encs; i++)
		if (!m->encs[i].jid || !wa_sig_type_name(m->encs[i].type) || !m->encs[i].ct)
			return WA_EINVAL;
	wa_node *msg = NULL, *parts, *to, *di;
	int rc = wa_node_new(&msg, "message");
	rc = set(msg, "id", m->id, rc);
	rc = set(msg, "to", m->to, rc);
	rc = set(msg, "type", m->type, rc);
	rc = set(msg, "edit", m->edit, rc);
	rc = set(msg, "recipient", m->recipient, rc);
	if (m->single)
		rc = set(msg, "device_fanout", "false", rc);
	bool any_pk = false;
	if (rc == 0 && m->single) {
		rc = add_enc(msg, m, &m->encs[0]);
		any_pk = m->encs[0].type == WA_SIG_TYPE_PKMSG;
	} else if (rc == 0 && m->n_encs) {
		rc = wa_node_add_new(msg, "participants", &parts);
		for (size_t i = 0; rc == 0 && i < m->n_encs; i++) {
			rc = wa_node_add_new(parts, "to", &to);
			rc = set(to, "jid", m->encs[i].jid, rc);
			if (rc == 0)
				rc = add_enc(to, m, &m->encs[i]);
			any_pk |= m->encs[i].type == WA_SIG_TYPE_PKMSG;
		}
	}
	if (rc == 0 && (any_pk || m->force_identity) && m->device_identity_len) {
		rc = wa_node_add_new(msg, "device-identity", &di);
		if (rc == 0)
			rc = wa_node_set_bytes(di, m->device_identity, m->device_identity_len);
	}
	if (rc != 0) {
		wa_node_free(msg);
		return rc;
	}
	*out = msg;
	return 0;
}

const char *wa_msg_stanza_type(const uint8_t *msg, size_t len)
{
	ProtobufCMessage *pb = NULL;
	if (wa_pb_unpack(&pb, &wa__message__descriptor, msg, len, WA_SIG_MAX_PLAINTEXT) != 0)
		return "text";
	const Wa__Message *m = (const Wa__Message *)pb;
	const char *t = m->reaction_message ? "reaction" : "text";
	protobuf_c_message_free_unpacked(pb, NULL);
	return t;
}
