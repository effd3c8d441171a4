/* Parser of an incoming <message> stanza (messaging.md §4): who sent it
 * (device JID, group participant), the alternate-namespace attributes that
 * teach us PN<->LID, and its <enc> children in order. Borrows from the node. */
#include <stdlib.h>
#include <string.h>

#include "session/msg.h"

static int64_t parse_t(const char *s)
{
	if (!s || strlen(s) > 18)
		return 0;
	int64_t v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		v = v * 10 + (*p - '0');
	}
	return v;
}

int wa_in_msg_parse(const wa_node *n, wa_in_msg *out)
{
	if (!n || !out)
		return WA_EINVAL;
	wa_in_msg m;
	memset(&m, 0, sizeof m);
	m.id = wa_node_attr(n, "id");
	m.from_s = wa_node_attr(n, "from");
	if (!m.id || !*m.id || strlen(m.id) > WA_MSG_ID_MAX || !m.from_s)
		return WA_EMALFORMED;
	if (wa_jid_parse(&m.from, m.from_s) != 0)
		return WA_EMALFORMED;
	m.participant_s = wa_node_attr(n, "participant");
	if (m.participant_s) {
		if (wa_jid_parse(&m.participant, m.participant_s) != 0)
			return WA_EMALFORMED;
		m.has_participant = true;
	}
	m.recipient = wa_node_attr(n, "recipient");
	m.notify = wa_node_attr(n, "notify");
	m.type = wa_node_attr(n, "type");
	m.category = wa_node_attr(n, "category");
	m.sender_alt = wa_node_attr(n, "sender_lid");
	if (!m.sender_alt)
		m.sender_alt = wa_node_attr(n, "sender_pn");
	if (!m.sender_alt)
		m.sender_alt = wa_node_attr(n, "participant_lid");
	if (!m.sender_alt)
		m.sender_alt = wa_node_attr(n, "participant_pn");
	m.recipient_alt = wa_node_attr(n, "peer_recipient_lid");
	if (!m.recipient_alt)
		m.recipient_alt = wa_node_attr(n, "peer_recipient_pn");
	m.t = parse_t(wa_node_attr(n, "t"));
	m.offline = wa_node_attr(n, "offline") != NULL;
	for (size_t i = 0; i < wa_node_n_children(n); i++) {
		const wa_node *c = wa_node_child_at(n, i);
		if (strcmp(wa_node_tag(c), "enc") != 0)
			continue;
		const char *ty = wa_node_attr(c, "type");
		const char *v = wa_node_attr(c, "v");
		enum wa_sig_msg_type st;
		const uint8_t *p;
		size_t l;
		if (!ty || wa_sig_type_parse(ty, &st) != 0 || (v && strcmp(v, "2") != 0) ||
		    wa_node_content_bytes(c, &p, &l) != 0 || m.n_encs >= WA_IN_MAX_ENCS) {
			m.has_unknown_enc = true;
			continue;
		}
		wa_in_enc *e = &m.encs[m.n_encs++];
		e->type = st;
		e->ct = p;
		e->ct_len = l;
		const char *cnt = wa_node_attr(c, "count");
		int64_t cv = parse_t(cnt);
		e->count = cv > 0 && cv < 100 ? (unsigned)cv : 0;
	}
	*out = m;
	return 0;
}
