/* Unit test of wasim's pure messaging data structures: the pre-key
 * directory (upload validation, one-time keys handed out once and in order,
 * re-registration, rotate, the bundle node's shape and sizes) and the
 * per-device delivery queue (encode/decode round trip, removal by class and
 * id, the cap). */
#include <stdlib.h>
#include <string.h>

#include "../unit/check.h"
#include "sim_keys.h"
#include "sim_queue.h"

static wa_node *bytes_node(const char *tag, uint8_t fill, size_t n)
{
	wa_node *c;
	uint8_t buf[64];
	memset(buf, fill, sizeof(buf));
	if (wa_node_new(&c, tag) != 0 || wa_node_set_bytes(c, buf, n) != 0)
		abort();
	return c;
}

static void add(wa_node *p, wa_node *c)
{
	if (wa_node_add_child(p, c) != 0)
		abort();
}

static wa_node *key_node(const char *tag, uint32_t id, uint8_t fill, bool sig)
{
	wa_node *k, *idn;
	uint8_t idb[3] = { (uint8_t)(id >> 16), (uint8_t)(id >> 8), (uint8_t)id };
	if (wa_node_new(&k, tag) != 0 || wa_node_new(&idn, "id") != 0 || wa_node_set_bytes(idn, idb, 3) != 0)
		abort();
	add(k, idn);
	add(k, bytes_node("value", fill, 32));
	if (sig)
		add(k, bytes_node("signature", 0x5A, 64));
	return k;
}

/* An upload iq with n one-time keys (ids first..first+n-1). */
static wa_node *upload(uint8_t ident_fill, uint32_t first, size_t n, size_t reg_len)
{
	wa_node *iq, *list;
	static const uint8_t type = 5;
	if (wa_node_new(&iq, "iq") != 0 || wa_node_new(&list, "list") != 0)
		abort();
	add(iq, bytes_node("registration", 0, reg_len));
	wa_node *t;
	if (wa_node_new(&t, "type") != 0 || wa_node_set_bytes(t, &type, 1) != 0)
		abort();
	add(iq, t);
	add(iq, bytes_node("identity", ident_fill, 32));
	wa_node_set_list(list);
	for (size_t i = 0; i < n; i++)
		add(list, key_node("key", first + (uint32_t)i, (uint8_t)(0x10 + i), false));
	add(iq, list);
	add(iq, key_node("skey", 1, 0x77, true));
	return iq;
}

static void test_keys(void)
{
	sim_keys k;
	sim_otk otk;
	memset(&k, 0, sizeof(k));
	wa_node *bad = upload(1, 1, 3, 3); /* 3-byte registration */
	CHECK_EQ_INT(sim_keys_upload(&k, bad), WA_EMALFORMED);
	CHECK(!k.has_bundle);
	wa_node_free(bad);

	wa_node *up = upload(1, 1, 5, 4);
	CHECK(!k.uploaded);
	CHECK_EQ_INT(sim_keys_upload(&k, up), 0);
	CHECK(k.uploaded);
	CHECK_EQ_INT(sim_keys_count(&k), 5);
	CHECK_EQ_INT(k.spk_id, 1);
	/* same ids again replace, no duplicates */
	CHECK_EQ_INT(sim_keys_upload(&k, up), 0);
	CHECK_EQ_INT(sim_keys_count(&k), 5);
	wa_node_free(up);

	/* a fetch hands out the oldest key once */
	wa_node *list;
	CHECK_EQ_INT(wa_node_new(&list, "list"), 0);
	CHECK_EQ_INT(sim_keys_add_user_node(&k, list, "1555:2@s.whatsapp.net"), 0);
	CHECK_EQ_INT(sim_keys_add_user_node(&k, list, "1555:2@lid"), 0);
	CHECK_EQ_INT(wa_node_n_children(list), 2);
	const wa_node *u0 = wa_node_child_at(list, 0), *u1 = wa_node_child_at(list, 1);
	CHECK_EQ_STR(wa_node_attr(u0, "jid"), "1555:2@s.whatsapp.net");
	CHECK_EQ_STR(wa_node_attr(u1, "jid"), "1555:2@lid");
	const uint8_t *p0, *p1;
	size_t l0 = 0, l1 = 0;
	CHECK(wa_node_bytes(wa_node_child(wa_node_child(u0, "key"), "id"), &l0) != NULL);
	p0 = wa_node_bytes(wa_node_child(wa_node_child(u0, "key"), "id"), &l0);
	p1 = wa_node_bytes(wa_node_child(wa_node_child(u1, "key"), "id"), &l1);
	CHECK(l0 == 3 && l1 == 3 && p0[2] == 1 && p1[2] == 2);
	size_t sl = 0;
	CHECK(wa_node_bytes(wa_node_child(wa_node_child(u0, "skey"), "signature"), &sl) && sl == 64);
	CHECK(wa_node_bytes(wa_node_child(u0, "registration"), &sl) && sl == 4);
	CHECK_EQ_INT(sim_keys_count(&k), 3);
	wa_node_free(list);

	/* exhausting the stock: bundles without <key> */
	while (sim_keys_take_otk(&k, &otk))
		;
	CHECK_EQ_INT(wa_node_new(&list, "list"), 0);
	CHECK_EQ_INT(sim_keys_add_user_node(&k, list, "x@lid"), 0);
	CHECK(wa_node_child(wa_node_child_at(list, 0), "key") == NULL);
	CHECK(wa_node_child(wa_node_child_at(list, 0), "skey") != NULL);
	wa_node_free(list);

	/* a new identity (re-registration) voids the old one-time keys */
	up = upload(1, 10, 2, 4);
	CHECK_EQ_INT(sim_keys_upload(&k, up), 0);
	wa_node_free(up);
	CHECK_EQ_INT(sim_keys_count(&k), 2);
	up = upload(2, 20, 3, 4);
	CHECK_EQ_INT(sim_keys_upload(&k, up), 0);
	wa_node_free(up);
	CHECK_EQ_INT(sim_keys_count(&k), 3);
	CHECK(sim_keys_take_otk(&k, &otk) && otk.id == 20);

	/* rotate */
	wa_node *rot;
	CHECK_EQ_INT(wa_node_new(&rot, "rotate"), 0);
	add(rot, key_node("skey", 9, 0x42, true));
	CHECK_EQ_INT(sim_keys_rotate(&k, rot), 0);
	CHECK_EQ_INT(k.spk_id, 9);
	CHECK_EQ_INT(k.spk[0], 0x42);
	wa_node_free(rot);
	CHECK_EQ_INT(wa_node_new(&rot, "rotate"), 0);
	CHECK_EQ_INT(sim_keys_rotate(&k, rot), WA_EMALFORMED);
	wa_node_free(rot);
	sim_keys_clear(&k);
}

static wa_node *stanza(const char *tag, const char *id)
{
	wa_node *n;
	if (wa_node_new(&n, tag) != 0 || wa_node_set_attr(n, "id", id) != 0 || wa_node_set_attr(n, "from", "1@s.whatsapp.net"))
		abort();
	add(n, bytes_node("enc", 0x33, 40));
	return n;
}

static void test_queue(void)
{
	sim_queue q;
	memset(&q, 0, sizeof(q));
	wa_node *m1 = stanza("message", "A"), *r1 = stanza("receipt", "A"), *m2 = stanza("message", "B");
	CHECK_EQ_INT(sim_queue_push(&q, m1), 0);
	CHECK_EQ_INT(sim_queue_push(&q, r1), 0);
	CHECK_EQ_INT(sim_queue_push(&q, m2), 0);
	CHECK_EQ_INT(q.n, 3);
	wa_node *back;
	CHECK_EQ_INT(sim_queue_item_node(q.head, &back), 0);
	CHECK(wa_node_equal_wire(back, m1));
	wa_node_free(back);
	/* an ack of class receipt leaves the message with the same id */
	CHECK(sim_queue_remove(&q, "receipt", "A"));
	CHECK(!sim_queue_remove(&q, "receipt", "A"));
	CHECK_EQ_INT(q.n, 2);
	CHECK_EQ_STR(q.head->cls, "message");
	CHECK(sim_queue_remove(&q, NULL, "B"));
	CHECK(q.tail == q.head && q.n == 1);
	CHECK(sim_queue_remove(&q, "message", "A"));
	CHECK(q.head == NULL && q.tail == NULL && q.n == 0);
	/* no id: refused */
	wa_node *noid;
	CHECK_EQ_INT(wa_node_new(&noid, "message"), 0);
	CHECK_EQ_INT(sim_queue_push(&q, noid), WA_EINVAL);
	wa_node_free(noid);
	/* the cap drops the oldest */
	for (int i = 0; i < SIM_QUEUE_MAX + 5; i++) {
		char id[16];
		snprintf(id, sizeof(id), "%d", i);
		wa_node *n = stanza("message", id);
		CHECK_EQ_INT(sim_queue_push(&q, n), 0);
		wa_node_free(n);
	}
	CHECK_EQ_INT(q.n, SIM_QUEUE_MAX);
	CHECK_EQ_STR(q.head->id, "5");
	sim_queue_clear(&q);
	wa_node_free(m1);
	wa_node_free(r1);
	wa_node_free(m2);
}

int main(void)
{
	test_keys();
	test_queue();
	return check_exit("sim_keys");
}
