/* Fuzz target: the messaging parsers of src/session (msg.h). First byte 'P':
 * the rest is a decrypted Message plaintext -> wa_msg_view_parse (JSON
 * rendering) and wa_msg_wrap_dsm. Otherwise the input is a node in the JSON
 * form (node_json.h) and goes through every stanza parser: incoming
 * message, receipt (+ retry bundle), ack, usync and pre-key answers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "binary/node_json.h"
#include "message.pb-c.h"
#include "pb.h"
#include "session/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 0 && data[0] == 'P') {
		wa_msg_view v;
		if (wa_msg_view_parse(data + 1, size - 1, &v) == 0) {
			if (!v.json)
				abort();
			wa_msg_view_clear(&v);
		}
		/* the JSON written directly is jansson's tree and dump, byte for byte */
		ProtobufCMessage *pb = NULL;
		if (wa_pb_unpack(&pb, &wa__message__descriptor, data + 1, size - 1, WA_SIG_MAX_PLAINTEXT) == 0) {
			Wa__Message *pm = (Wa__Message *)pb;
			char *direct = NULL, *tree = NULL;
			int r1 = wa_msg_pb_to_json(pm, &direct), r2 = wa_msg_pb_to_json_tree(pm, &tree);
			if (r1 != r2 || (r1 == 0 && strcmp(direct, tree) != 0))
				abort();
			free(direct);
			free(tree);
			wa__message__free_unpacked(pm, NULL);
		}
		uint8_t *d = NULL;
		size_t dn = 0;
		if (wa_msg_wrap_dsm(data + 1, size - 1, "1@s.whatsapp.net", &d, &dn) == 0)
			free(d);
		(void)wa_msg_stanza_type(data + 1, size - 1);
		return 0;
	}
	wa_node *n = NULL;
	if (wa_node_from_json_text(&n, (const char *)data, size, NULL, 0) != 0)
		return 0;
	wa_in_msg m;
	if (wa_in_msg_parse(n, &m) == 0)
		for (size_t i = 0; i < m.n_encs; i++)
			if (!m.encs[i].ct && m.encs[i].ct_len)
				abort();
	wa_in_receipt r;
	if (wa_in_receipt_parse(n, &r) == 0 && r.keys) {
		wa_sig_bundle b;
		if (wa_prekey_parse_bundle(r.keys, r.reg_node, &b) == 0 && b.has_prekey && b.prekey_id > 0xFFFFFF)
			abort();
	}
	wa_in_ack a;
	if (wa_in_ack_parse(n, &a) == 0 && (!a.id || !a.class_))
		abort();
	wa_usync_user *u = NULL;
	size_t nu = 0;
	if (wa_usync_parse(n, &u, &nu) == 0)
		free(u);
	wa_prekey_user *p = NULL;
	size_t np = 0;
	if (wa_prekey_parse(n, &p, &np) == 0)
		free(p);
	wa_node *ack = NULL;
	if (wa_ack_build(n, "1@s.whatsapp.net", 0, &ack) == 0)
		wa_node_free(ack);
	wa_node_free(n);
	return 0;
}
