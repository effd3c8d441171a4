/* The on-demand history request (history_demand.c) must be byte for byte
 * the Message Baileys 7.0.0-rc14 encodes in fetchMessageHistory for the
 * same chat, oldest key, time and count (proto.Message.encode of its
 * protocolMessage; the vector was taken once from the build tree's
 * Baileys), and its fields must read back; bad arguments are refused. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "message.pb-c.h"
#include "session/history_demand.h"
#include "session/msg.h"
#include "util/codec.h"

#define CHAT "447700000003@s.whatsapp.net"
#define OLDEST "3EB0000003000028"
#define TS_MS 1700300196000LL

/* {protocolMessage: {type: PEER_DATA_OPERATION_REQUEST_MESSAGE,
 *  peerDataOperationRequestMessage: {peerDataOperationRequestType:
 *  HISTORY_SYNC_ON_DEMAND, historySyncOnDemandRequest: {chatJid: CHAT,
 *  oldestMsgId: OLDEST, oldestMsgFromMe: true, onDemandMsgCount: 50,
 *  oldestMsgTimestampMs: TS_MS}}}} */
static const char baileys_hex[] =
	"6243101082013e0803223a0a1b34343737303030303030303340732e77686174736170702e6e65741210334542303030303030"
	"333030303032381801203228a091a88ebe31";

static void against_baileys(void)
{
	uint8_t *want = NULL, *got = NULL;
	size_t want_len = 0, got_len = 0;
	CHECK_EQ_INT(wa_hex_decode(baileys_hex, strlen(baileys_hex), &want, &want_len), 0);
	CHECK_EQ_INT(wa_hist_demand_build(CHAT, 50, OLDEST, true, TS_MS, &got, &got_len), 0);
	CHECK_EQ_INT(got_len, want_len);
	if (got && want && got_len == want_len)
		CHECK_EQ_MEM(got, want, got_len);
	Wa__Message *m = got ? wa__message__unpack(NULL, got_len, got) : NULL;
	CHECK(m && m->protocol_message);
	if (m && m->protocol_message) {
		const Wa__Message__ProtocolMessage *pm = m->protocol_message;
		CHECK(pm->has_type && pm->type == WA__MESSAGE__PROTOCOL_MESSAGE__TYPE__PEER_DATA_OPERATION_REQUEST_MESSAGE);
		const Wa__Message__PeerDataOperationRequestMessage *pdo = pm->peer_data_operation_request_message;
		CHECK(pdo && pdo->peer_data_operation_request_type ==
			WA__MESSAGE__PEER_DATA_OPERATION_REQUEST_TYPE__HISTORY_SYNC_ON_DEMAND);
		const Wa__Message__PeerDataOperationRequestMessage__HistorySyncOnDemandRequest *hr =
			pdo ? pdo->history_sync_on_demand_request : NULL;
		CHECK(hr != NULL);
		if (hr) {
			CHECK_EQ_STR(hr->chat_jid, CHAT);
			CHECK_EQ_STR(hr->oldest_msg_id, OLDEST);
			CHECK(hr->has_oldest_msg_from_me && hr->oldest_msg_from_me);
			CHECK(hr->has_on_demand_msg_count && hr->on_demand_msg_count == 50);
			CHECK(hr->has_oldest_msg_timestamp_ms && hr->oldest_msg_timestamp_ms == TS_MS);
		}
	}
	if (m)
		wa__message__free_unpacked(m, NULL);
	free(want);
	free(got);
}

/* fromMe false is still written (Baileys sets it from the key either way),
 * and the count's bounds are accepted */
static void bounds(void)
{
	uint8_t *p = NULL;
	size_t n = 0;
	CHECK_EQ_INT(wa_hist_demand_build("120363000000000001@g.us", 1, "X", false, 1, &p, &n), 0);
	Wa__Message *m = p ? wa__message__unpack(NULL, n, p) : NULL;
	const Wa__Message__PeerDataOperationRequestMessage__HistorySyncOnDemandRequest *hr = m && m->protocol_message &&
		m->protocol_message->peer_data_operation_request_message ?
		m->protocol_message->peer_data_operation_request_message->history_sync_on_demand_request : NULL;
	CHECK(hr && hr->has_oldest_msg_from_me && !hr->oldest_msg_from_me && hr->on_demand_msg_count == 1);
	if (m)
		wa__message__free_unpacked(m, NULL);
	free(p);
	p = NULL;
	CHECK_EQ_INT(wa_hist_demand_build(CHAT, WA_HIST_DEMAND_MAX, OLDEST, false, TS_MS, &p, &n), 0);
	free(p);
}

static void refused(void)
{
	char long_id[WA_MSG_ID_MAX + 2];
	memset(long_id, 'A', sizeof long_id - 1);
	long_id[sizeof long_id - 1] = '\0';
	struct {
		const char *chat, *id;
		int count;
		int64_t ts;
	} bad[] = {
		{NULL, OLDEST, 50, TS_MS}, {"", OLDEST, 50, TS_MS}, {"not a jid", OLDEST, 50, TS_MS},
		{CHAT, OLDEST, 0, TS_MS}, {CHAT, OLDEST, -1, TS_MS}, {CHAT, OLDEST, WA_HIST_DEMAND_MAX + 1, TS_MS},
		{CHAT, NULL, 50, TS_MS}, {CHAT, "", 50, TS_MS}, {CHAT, long_id, 50, TS_MS},
		{CHAT, OLDEST, 50, 0}, {CHAT, OLDEST, 50, -5},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		uint8_t *p = (uint8_t *)1;
		size_t n = 7;
		CHECK_EQ_INT(wa_hist_demand_build(bad[i].chat, bad[i].count, bad[i].id, false, bad[i].ts, &p, &n), WA_EINVAL);
		CHECK(p == NULL && n == 0);
	}
}

int main(void)
{
	against_baileys();
	bounds();
	refused();
	return check_exit("session_history_demand");
}
