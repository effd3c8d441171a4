/* Login and the core iqs of wasim: the ClientPayload decides between
 * registration (pair.c) and login; login checks the companion and its noise
 * key, replaces an older connection of the same device, sends <success>,
 * lets the messaging module flush the offline queue and ends it with
 * <ib><offline count/>. Also the keep-alive, passive, logout iqs and minimal
 * encrypt fallbacks (count/upload/digest) the messaging module overrides.
 * Facts: transport-and-pairing.md §4.3, §5; messaging.md §11. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simcore.h"
#include "binary/jid.h"
#include "client_payload.pb-c.h"
#include "pb.h"

static int send_failure(struct sim_conn *c, const char *reason)
{
	int rc = sim_conn_send_free(c, sim_node("failure", "reason", reason, "location", "wasim", NULL));
	c->linger = true;
	sim_conn_close(c, SIM_CLOSE_FLUSH);
	return rc < 0 ? rc : 0;
}

static int do_login(struct sim_conn *c, const Wa__ClientPayload *cp)
{
	struct sim *sim = c->sim;
	char phone[32];
	snprintf(phone, sizeof(phone), "%llu", (unsigned long long)cp->username);
	struct sim_account *a = sim_account_find(sim, phone);
	struct sim_device *d = a && cp->has_device ? sim_device_find(a, cp->device) : NULL;
	if (!d) {
		sim_logf(sim, "conn %llu: login of unknown device %s:%u", (unsigned long long)c->id, phone,
			cp->has_device ? cp->device : 0);
		return send_failure(c, "401");
	}
	if (!wa_ct_equal(d->noise_pub, c->client_static, 32)) {
		sim_logf(sim, "conn %llu: noise key mismatch for %s:%u", (unsigned long long)c->id, phone,
			d->device);
		return send_failure(c, "401");
	}
	if (d->fault.refuse_until_ms > sim_mono_ms()) {
		sim_logf(sim, "conn %llu: refusing %s:%u (fault)", (unsigned long long)c->id, phone,
			d->device);
		sim_conn_close(c, SIM_CLOSE_ABORT);
		return 0;
	}
	d->logins++;
	if (d->conn && d->conn != c) {
		struct sim_conn *old = d->conn;
		d->replaced++; /* two live connections of one device at this moment */
		if (sim->hooks.conn_closed)
			sim->hooks.conn_closed(sim, old, sim->hooks.user);
		old->dev = NULL;
		d->conn = NULL;
		sim_conn_stream_error(old, 440);
	}
	c->dev = d;
	d->conn = c;
	sim_conn_set_state(c, SIM_CONN_READY);
	if (cp->push_name && cp->push_name[0] && !a->push_name[0])
		snprintf(a->push_name, sizeof(a->push_name), "%s", cp->push_name);

	char t[24], lid[64];
	snprintf(t, sizeof(t), "%lld", (long long)sim_now());
	sim_device_lid_jid(a, d->device, lid, sizeof(lid));
	int rc = sim_conn_send_free(c, sim_node("success", "t", t, "props", "27", "lid", lid,
		"location", "wasim", "creation", t, NULL));
	if (rc)
		return rc;
	sim_logf(sim, "conn %llu: %s:%u logged in", (unsigned long long)c->id, phone, d->device);
	int n = 0;
	if (sim->hooks.flush_offline) {
		n = sim->hooks.flush_offline(sim, c, sim->hooks.user);
		if (n < 0 || n == SIM_OFFLINE_LATER)
			return n < 0 ? n : 0;
	}
	if (c->state != SIM_CONN_READY)
		return 0;
	char ns[16];
	snprintf(ns, sizeof(ns), "%d", n);
	rc = sim_conn_send_free(c,
		sim_node_add(sim_node("ib", NULL), sim_node("offline", "count", ns, NULL)));
	if (rc || !sim_core(sim)->edge_routing)
		return rc;
	/* As the real server: opaque routing bytes the client stores and sends
	 * back in the ED prefix of its next connection (§1.2). */
	static const uint8_t routing[] = { 0x08, 0x08, 0x08, 0x02, 'w', 'a', 's', 'i', 'm' };
	return sim_conn_send_free(c, sim_node_add(sim_node("ib", NULL),
		sim_node_add(sim_node("edge_routing", NULL),
			sim_node_bytes("routing_info", routing, sizeof(routing)))));
}

int sim_login_payload(struct sim_conn *c, const uint8_t *payload, size_t len)
{
	ProtobufCMessage *m = NULL;
	int rc = wa_pb_unpack(&m, &wa__client_payload__descriptor, payload, len, WA_NOISE_MAX_HS_PAYLOAD);
	if (rc)
		return rc;
	Wa__ClientPayload *cp = (Wa__ClientPayload *)m;
	const uint32_t *min = c->sim->min_version;
	const Wa__ClientPayload__UserAgent__AppVersion *av =
		cp->user_agent ? cp->user_agent->app_version : NULL;
	uint32_t have[3] = { av ? av->primary : 0, av ? av->secondary : 0, av ? av->tertiary : 0 };
	if ((min[0] || min[1] || min[2]) && memcmp(have, min, sizeof have) != 0) {
		bool older = false;
		for (int i = 0; i < 3; i++)
			if (have[i] != min[i]) {
				older = have[i] < min[i];
				break;
			}
		if (older) {
			/* what the real server answers an outdated web client */
			sim_logf(c->sim, "conn %llu: client version %u.%u.%u refused (min_version)",
				(unsigned long long)c->id, have[0], have[1], have[2]);
			protobuf_c_message_free_unpacked(m, NULL);
			return send_failure(c, "405");
		}
	}
	if (cp->has_username)
		rc = do_login(c, cp);
	else if (cp->device_pairing_data)
		rc = sim_pair_start(c, cp);
	else
		rc = WA_EPROTO;
	protobuf_c_message_free_unpacked(m, NULL);
	return rc;
}

/* ---- core iqs ---- */

static int iq_ping(struct sim *sim, struct sim_conn *c, const wa_node *iq, void *user)
{
	(void)sim;
	(void)user;
	return sim_iq_result(c, iq, NULL);
}

static int iq_empty_result(struct sim *sim, struct sim_conn *c, const wa_node *iq, void *user)
{
	(void)sim;
	(void)user;
	return sim_iq_result(c, iq, NULL);
}

/* <iq xmlns="md" type="set"><remove-companion-device jid=.. reason=../></iq>
 * (Baileys logout) — answered, then the device is unlinked. */
static int iq_remove_companion(struct sim *sim, struct sim_conn *c, const wa_node *iq, void *user)
{
	(void)user;
	struct sim_device *d = c->dev;
	int rc = sim_iq_result(c, iq, NULL);
	if (rc || !d)
		return rc;
	const wa_node *rm = wa_node_child(iq, "remove-companion-device");
	const char *jid = rm ? wa_node_attr(rm, "jid") : NULL;
	struct sim_device *target = d;
	if (jid) {
		wa_jid j;
		if (wa_jid_from_attr(&j, rm, "jid") == 0) {
			struct sim_account *a = d->acct;
			if (strcmp(j.user, a->phone) != 0 && strcmp(j.user, a->lid) != 0)
				return 0; /* not this account's device */
			if (j.device == 0)
				return 0; /* the phone cannot be removed */
			target = sim_device_find(a, j.device);
			if (!target)
				return 0;
		}
	}
	sim_logf(sim, "%s:%u removed by logout", target->acct->phone, target->device);
	sim_device_remove(sim, target);
	return 0;
}

/* Fallback pre-key iqs until the messaging module overrides them with real
 * bookkeeping: count is always 0 (clients then upload on every login). */
static int iq_count_fallback(struct sim *sim, struct sim_conn *c, const wa_node *iq, void *user)
{
	(void)sim;
	(void)user;
	return sim_iq_result(c, iq, sim_node("count", "value", "0", NULL));
}

static int iq_digest_fallback(struct sim *sim, struct sim_conn *c, const wa_node *iq, void *user)
{
	(void)sim;
	(void)user;
	return sim_iq_result(c, iq, sim_node("digest", NULL));
}

int sim_login_init(struct sim *sim)
{
	int rc = 0;
	rc |= sim_iq_register(sim, "w:p", NULL, iq_ping, NULL);
	rc |= sim_iq_register(sim, "passive", NULL, iq_empty_result, NULL);
	rc |= sim_iq_register(sim, "urn:xmpp:whatsapp:dirty", NULL, iq_empty_result, NULL);
	rc |= sim_iq_register(sim, "w:stats", NULL, iq_empty_result, NULL);
	rc |= sim_iq_register(sim, "encrypt", "count", iq_count_fallback, NULL);
	rc |= sim_iq_register(sim, "encrypt", NULL, iq_empty_result, NULL); /* upload, rotate */
	rc |= sim_iq_register(sim, "encrypt", "digest", iq_digest_fallback, NULL);
	/* remove-companion-device comes with xmlns md: pair.c forwards it here */
	(void)iq_remove_companion;
	return rc ? WA_ENOMEM : 0;
}

int sim_login_remove_companion(struct sim_conn *c, const wa_node *iq)
{
	return iq_remove_companion(c->sim, c, iq, NULL);
}
