/* On-demand history (Baileys' fetchMessageHistory): a peer message to our
 * own phone, protocolMessage PEER_DATA_OPERATION_REQUEST_MESSAGE with a
 * HISTORY_SYNC_ON_DEMAND request naming the chat, the oldest message we
 * hold of it (id, fromMe, time) and how many older ones we want. The phone
 * answers with an ON_DEMAND history-sync notification, which the ordinary
 * history pipeline (history.c) imports and emits like any other. */
#include <stdlib.h>
#include <string.h>

#include "message.pb-c.h"
#include "session/history_demand.h"
#include "session/msgstate.h"
#include "util/log.h"

int wa_hist_demand_build(const char *chat, int count, const char *oldest_id, bool oldest_from_me,
	int64_t oldest_ts_ms, uint8_t **out, size_t *out_len)
{
	wa_jid cj;
	*out = NULL;
	*out_len = 0;
	if (!chat || wa_jid_parse(&cj, chat) != 0 || count < 1 || count > WA_HIST_DEMAND_MAX || !oldest_id ||
	    !*oldest_id || strlen(oldest_id) > WA_MSG_ID_MAX || oldest_ts_ms <= 0)
		return WA_EINVAL;
	Wa__Message m = WA__MESSAGE__INIT;
	Wa__Message__ProtocolMessage pm = WA__MESSAGE__PROTOCOL_MESSAGE__INIT;
	Wa__Message__PeerDataOperationRequestMessage pdo = WA__MESSAGE__PEER_DATA_OPERATION_REQUEST_MESSAGE__INIT;
	Wa__Message__PeerDataOperationRequestMessage__HistorySyncOnDemandRequest hr =
		WA__MESSAGE__PEER_DATA_OPERATION_REQUEST_MESSAGE__HISTORY_SYNC_ON_DEMAND_REQUEST__INIT;
	hr.chat_jid = (char *)chat;
	hr.oldest_msg_id = (char *)oldest_id;
	hr.has_oldest_msg_from_me = 1;
	hr.oldest_msg_from_me = oldest_from_me;
	hr.has_on_demand_msg_count = 1;
	hr.on_demand_msg_count = count;
	hr.has_oldest_msg_timestamp_ms = 1;
	hr.oldest_msg_timestamp_ms = oldest_ts_ms;
	pdo.has_peer_data_operation_request_type = 1;
	pdo.peer_data_operation_request_type = WA__MESSAGE__PEER_DATA_OPERATION_REQUEST_TYPE__HISTORY_SYNC_ON_DEMAND;
	pdo.history_sync_on_demand_request = &hr;
	pm.has_type = 1;
	pm.type = WA__MESSAGE__PROTOCOL_MESSAGE__TYPE__PEER_DATA_OPERATION_REQUEST_MESSAGE;
	pm.peer_data_operation_request_message = &pdo;
	m.protocol_message = &pm;
	size_t n = protobuf_c_message_get_packed_size(&m.base);
	uint8_t *pt = malloc(n);
	if (!pt)
		return WA_ENOMEM;
	protobuf_c_message_pack(&m.base, pt);
	*out = pt;
	*out_len = n;
	return 0;
}

int wa_session_fetch_history(wa_session *s, const char *chat, int count, const char *oldest_id, bool oldest_from_me,
	int64_t oldest_ts_ms, char out_id[23])
{
	wa_jid phone;
	const char *me = s ? wa_session_jid(s) : NULL;
	char name[WA_STORE_JID_MAX];
	bool exists = false;
	uint8_t *pt = NULL, *ct = NULL;
	size_t n = 0, ct_len = 0;
	if (!s)
		return WA_EINVAL;
	int rc = wa_hist_demand_build(chat, count, oldest_id, oldest_from_me, oldest_ts_ms, &pt, &n);
	if (rc != 0)
		return rc;
	if (!ready(s) || !me || wa_jid_parse(&phone, me) != 0)
		rc = WA_ESTATE;
	rc = rc ? rc : wa_msg_addr_for(s, &phone, name);
	/* the phone opened a session with us when it sent the first history */
	if (rc == 0 && (wa_sig_session_exists(s->sig, name, 0, &exists) != 0 || !exists))
		rc = WA_ESTATE;
	enum wa_sig_msg_type type;
	rc = rc ? rc : wa_sig_encrypt(s->sig, name, 0, pt, n, &type, &ct, &ct_len);
	free(pt);
	if (rc != 0)
		return rc;
	char mid[23];
	wa_msg_new_id(me, now_s(), mid);
	/* as Baileys sends peer data operations: to our bare JID (the server
	 * hands category="peer" to the phone), high_force priority, a <meta> */
	wa_node *st = NULL, *enc = NULL, *meta = NULL;
	rc = wa_node_new(&st, "message");
	rc = rc ? rc : wa_node_set_attr(st, "to", me);
	rc = rc ? rc : wa_node_set_attr(st, "id", mid);
	rc = rc ? rc : wa_node_set_attr(st, "type", "text");
	rc = rc ? rc : wa_node_set_attr(st, "category", "peer");
	rc = rc ? rc : wa_node_set_attr(st, "push_priority", "high_force");
	rc = rc ? rc : wa_node_add_new(st, "enc", &enc);
	rc = rc ? rc : wa_node_set_attr(enc, "v", "2");
	rc = rc ? rc : wa_node_set_attr(enc, "type", wa_sig_type_name(type));
	rc = rc ? rc : wa_node_set_bytes(enc, ct, ct_len);
	rc = rc ? rc : wa_node_add_new(st, "meta", &meta);
	rc = rc ? rc : wa_node_set_attr(meta, "appdata", "default");
	free(ct);
	if (rc != 0) {
		wa_node_free(st);
		return rc;
	}
	rc = send_node(s, st);
	if (rc == 0) {
		WA_DEBUG("history", "[%lld] asked our phone for %d messages of %s older than %s", (long long)s->instance_id,
			count, chat, oldest_id);
		if (out_id)
			memcpy(out_id, mid, sizeof mid);
		wa_history_demand_sent(s, mid, chat);
	}
	return rc;
}
