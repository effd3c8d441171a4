/* wasim's HTTP control API (JSON): accounts, the phone's QR scan and
 * pairing-code entry, faults, unpairing, the trust root, connection list.
 * Route table and dispatch live here too; messaging adds its own routes
 * with sim_http_register. Every endpoint is documented in README.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simcore.h"
#include "util/codec.h"

int sim_http_register(struct sim *sim, const char *method, const char *prefix, sim_http_fn fn,
	void *user)
{
	struct sim_core *core = sim_core(sim);
	if (strlen(method) >= sizeof(core->routes[0].method) ||
	    strlen(prefix) >= sizeof(core->routes[0].prefix))
		return WA_EINVAL;
	for (size_t i = 0; i < core->n_routes; i++)
		if (!strcmp(core->routes[i].method, method) && !strcmp(core->routes[i].prefix, prefix)) {
			core->routes[i].fn = fn;
			core->routes[i].user = user;
			return 0;
		}
	struct sim_route *r = realloc(core->routes, (core->n_routes + 1) * sizeof(*r));
	if (!r)
		return WA_ENOMEM;
	core->routes = r;
	memset(&r[core->n_routes], 0, sizeof(*r));
	snprintf(r[core->n_routes].method, sizeof(r->method), "%s", method);
	snprintf(r[core->n_routes].prefix, sizeof(r->prefix), "%s", prefix);
	r[core->n_routes].fn = fn;
	r[core->n_routes].user = user;
	core->n_routes++;
	return 0;
}

void sim_http_json(struct sim_http_resp *resp, int status, json_t *j)
{
	free(resp->body);
	resp->body = NULL;
	resp->body_len = 0;
	resp->status = status;
	snprintf(resp->content_type, sizeof(resp->content_type), "application/json");
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!s) {
		resp->status = 500;
		s = strdup("{\"error\":\"out of memory\"}");
		if (!s)
			return;
	}
	resp->body = (uint8_t *)s;
	resp->body_len = strlen(s);
}

void sim_http_error(struct sim_http_resp *resp, int status, const char *msg)
{
	sim_http_json(resp, status, json_pack("{s:s}", "error", msg));
}

int sim_http_dispatch(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp)
{
	struct sim_core *core = sim_core(sim);
	struct sim_route *best = NULL;
	size_t best_len = 0;
	for (size_t i = 0; i < core->n_routes; i++) {
		struct sim_route *r = &core->routes[i];
		size_t l = strlen(r->prefix);
		if (strcmp(r->method, req->method) != 0 || strncmp(req->path, r->prefix, l) != 0)
			continue;
		if (!best || l > best_len) {
			best = r;
			best_len = l;
		}
	}
	if (!best) {
		sim_http_error(resp, 404, "no such endpoint");
		return 0;
	}
	return best->fn(sim, req, resp, best->user);
}

/* ---- helpers ---- */

static const char *jstr(const struct sim_http_req *req, const char *k)
{
	return req->json ? json_string_value(json_object_get(req->json, k)) : NULL;
}

/* "phone" as a string or a number */
static const char *jphone(const struct sim_http_req *req, char *buf, size_t cap)
{
	json_t *v = req->json ? json_object_get(req->json, "phone") : NULL;
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
		return buf;
	}
	return NULL;
}

static json_t *hex_json(const uint8_t *p, size_t n)
{
	char *h = wa_hex_encode(p, n);
	json_t *j = h ? json_string(h) : NULL;
	free(h);
	return j;
}

static const char *state_name(enum sim_conn_state s)
{
	static const char *names[] = { "handshake", "pairing", "ready", "closing" };
	return (unsigned)s < 4 ? names[s] : "?";
}

static json_t *account_json(struct sim *sim, const struct sim_account *a)
{
	json_t *devs = json_array();
	for (size_t i = 0; i < a->n_devices; i++) {
		const struct sim_device *d = a->devices[i];
		char jid[64], lid[64];
		sim_device_pn_jid(a, d->device, jid, sizeof(jid));
		sim_device_lid_jid(a, d->device, lid, sizeof(lid));
		json_t *o = json_pack("{s:I, s:I, s:s, s:s, s:b, s:s, s:I, s:o, s:o}", "device",
			(json_int_t)d->device, "key_index", (json_int_t)d->key_index, "jid", jid, "lid", lid,
			"online", d->conn != NULL, "platform", d->platform, "regid", (json_int_t)d->regid,
			"identity", hex_json(d->identity, 32), "noise_pub", hex_json(d->noise_pub, 32));
		if (o && d->conn)
			json_object_set_new(o, "conn_id", json_integer((json_int_t)d->conn->id));
		if (o) {
			json_object_set_new(o, "logins", json_integer((json_int_t)d->logins));
			json_object_set_new(o, "replaced", json_integer((json_int_t)d->replaced));
		}
		if (o)
			json_object_set_new(o, "full_sync", json_boolean(d->full_sync));
		if (o)
			json_object_set_new(o, "iq_error_left", json_integer(d->fault.iq_count));
		if (o && sim->hooks.device_info)
			sim->hooks.device_info(sim, d, o, sim->hooks.user);
		json_array_append_new(devs, o);
	}
	json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:I, s:I, s:o}", "phone", a->phone, "lid", a->lid,
		"push_name", a->push_name, "identity", hex_json(a->identity.pub, 32), "regid",
		(json_int_t)a->regid, "adv_raw_id", (json_int_t)a->adv_raw_id, "devices", devs);
	if (o && sim->hooks.account_info)
		sim->hooks.account_info(sim, a, o, sim->hooks.user);
	return o;
}

/* ---- endpoints ---- */

static int h_accounts_create(struct sim *sim, const struct sim_http_req *req,
	struct sim_http_resp *resp, void *user)
{
	(void)user;
	char pb[32];
	const char *phone = jphone(req, pb, sizeof(pb));
	if (!phone) {
		sim_http_error(resp, 400, "need {\"phone\"}");
		return 0;
	}
	struct sim_account *a = NULL;
	int rc = sim_account_create(sim, phone, &a);
	if (rc == WA_EEXIST) {
		sim_http_error(resp, 409, "account exists");
		return 0;
	}
	if (rc == WA_EINVAL) {
		sim_http_error(resp, 400, "phone must be 5-24 digits, no leading 0");
		return 0;
	}
	if (!a)
		return rc;
	const char *name = jstr(req, "push_name");
	if (name)
		snprintf(a->push_name, sizeof(a->push_name), "%s", name);
	sim_http_json(resp, 201, account_json(sim, a));
	return 0;
}

static int h_accounts_get(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp,
	void *user)
{
	(void)user;
	const char *phone = req->path + strlen("/_sim/accounts");
	if (*phone == '/')
		phone++;
	if (!*phone) {
		json_t *arr = json_array();
		struct sim_account *a;
		for (size_t i = 0; (a = sim_account_at(sim, i)); i++)
			json_array_append_new(arr, account_json(sim, a));
		sim_http_json(resp, 200, json_pack("{s:o}", "accounts", arr));
		return 0;
	}
	struct sim_account *a = sim_account_find(sim, phone);
	if (!a) {
		sim_http_error(resp, 404, "no such account");
		return 0;
	}
	sim_http_json(resp, 200, account_json(sim, a));
	return 0;
}

static int h_scan(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp,
	void *user)
{
	(void)user;
	char pb[32];
	const char *phone = jphone(req, pb, sizeof(pb));
	const char *qr = jstr(req, "qr");
	if (!phone || !qr) {
		sim_http_error(resp, 400, "need {\"phone\",\"qr\"}");
		return 0;
	}
	const char *err = NULL;
	int rc = sim_pair_scan(sim, phone, qr, &err);
	if (rc) {
		sim_http_error(resp, rc == WA_ENOTFOUND ? 404 : 400, err ? err : wa_errname(rc));
		return 0;
	}
	sim_http_json(resp, 200, json_pack("{s:b}", "ok", 1));
	return 0;
}

static int h_pair_code(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp,
	void *user)
{
	(void)user;
	char pb[32];
	const char *phone = jphone(req, pb, sizeof(pb));
	const char *code = jstr(req, "code");
	if (!phone || !code) {
		sim_http_error(resp, 400, "need {\"phone\",\"code\"}");
		return 0;
	}
	const char *err = NULL;
	int rc = sim_pair_code(sim, phone, code, &err);
	if (rc) {
		sim_http_error(resp, rc == WA_ENOTFOUND ? 404 : 400, err ? err : wa_errname(rc));
		return 0;
	}
	sim_http_json(resp, 200, json_pack("{s:b}", "ok", 1));
	return 0;
}

static struct sim_device *req_device(struct sim *sim, const struct sim_http_req *req,
	struct sim_http_resp *resp)
{
	char pb[32];
	const char *phone = jphone(req, pb, sizeof(pb));
	json_t *dv = req->json ? json_object_get(req->json, "device") : NULL;
	if (!phone || !json_is_integer(dv)) {
		sim_http_error(resp, 400, "need {\"phone\",\"device\"}");
		return NULL;
	}
	struct sim_account *a = sim_account_find(sim, phone);
	struct sim_device *d = a ? sim_device_find(a, (uint32_t)json_integer_value(dv)) : NULL;
	if (!d)
		sim_http_error(resp, 404, "no such device");
	return d;
}

/* {"action":"min_version","version":"2.3000.1050000000"} (no phone: every
 * client); "" or absent: off. */
static int fault_min_version(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp)
{
	const char *v = jstr(req, "version");
	uint32_t out[3] = { 0, 0, 0 };
	if (v && *v) {
		unsigned long long p[3];
		char tail;
		if (sscanf(v, "%llu.%llu.%llu%c", &p[0], &p[1], &p[2], &tail) != 3 || p[0] > UINT32_MAX ||
		    p[1] > UINT32_MAX || p[2] > UINT32_MAX) {
			sim_http_error(resp, 400, "version must be A.B.C");
			return 0;
		}
		for (int i = 0; i < 3; i++)
			out[i] = (uint32_t)p[i];
	}
	memcpy(sim->min_version, out, sizeof out);
	sim_http_json(resp, 200, json_pack("{s:b}", "ok", 1));
	return 0;
}

static int h_fault(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp,
	void *user)
{
	(void)user;
	const char *act = jstr(req, "action");
	if (act && !strcmp(act, "min_version"))
		return fault_min_version(sim, req, resp);
	struct sim_device *d = req_device(sim, req, resp);
	if (!d)
		return 0;
	const char *action = jstr(req, "action");
	json_t *jn = req->json ? json_object_get(req->json, "seconds") : NULL;
	json_t *jms = req->json ? json_object_get(req->json, "ms") : NULL;
	json_t *jcode = req->json ? json_object_get(req->json, "code") : NULL;
	bool had_conn = d->conn != NULL;
	if (!action) {
		sim_http_error(resp, 400, "need \"action\"");
		return 0;
	} else if (!strcmp(action, "drop")) {
		if (d->conn)
			sim_conn_close(d->conn, SIM_CLOSE_FLUSH);
	} else if (!strcmp(action, "drop_noclose")) {
		if (d->conn)
			sim_conn_close(d->conn, SIM_CLOSE_ABORT);
	} else if (!strcmp(action, "refuse")) {
		double s = json_is_number(jn) ? json_number_value(jn) : 10;
		d->fault.refuse_until_ms = sim_mono_ms() + (int64_t)(s * 1000);
		if (json_is_true(json_object_get(req->json, "drop")) && d->conn)
			sim_conn_close(d->conn, SIM_CLOSE_ABORT);
	} else if (!strcmp(action, "stream_error")) {
		if (!json_is_integer(jcode)) {
			sim_http_error(resp, 400, "need \"code\"");
			return 0;
		}
		if (d->conn)
			sim_conn_stream_error(d->conn, (int)json_integer_value(jcode));
	} else if (!strcmp(action, "ack_delay")) {
		d->fault.ack_delay_ms = json_is_integer(jms) ? json_integer_value(jms) : 0;
	} else if (!strcmp(action, "ack_drop")) {
		json_t *on = json_object_get(req->json, "on");
		d->fault.drop_acks = on ? json_is_true(on) : true;
	} else if (!strcmp(action, "no_dedupe")) {
		json_t *on = json_object_get(req->json, "on");
		d->fault.no_dedupe = on ? json_is_true(on) : true;
	} else if (!strcmp(action, "iq_error")) {
		const char *xmlns = jstr(req, "xmlns");
		const char *child = jstr(req, "child");
		json_t *jcount = json_object_get(req->json, "count");
		json_int_t code = json_is_integer(jcode) ? json_integer_value(jcode) : -1;
		json_int_t count = jcount ? (json_is_integer(jcount) ? json_integer_value(jcount) : -1) : 1;
		if (!xmlns || !*xmlns || strlen(xmlns) >= sizeof(d->fault.iq_xmlns) ||
		    (child && strlen(child) >= sizeof(d->fault.iq_child)) ||
		    !(code == 0 || code == 1 || (code >= 400 && code <= 599)) || count < 0 || count > SIM_MAX_IQ_FAULTS) {
			sim_http_error(resp, 400, "need \"xmlns\", \"code\" (0, 1 or 400-599), \"count\" (0-1000)");
			return 0;
		}
		snprintf(d->fault.iq_xmlns, sizeof(d->fault.iq_xmlns), "%s", xmlns);
		snprintf(d->fault.iq_child, sizeof(d->fault.iq_child), "%s", child ? child : "");
		d->fault.iq_code = (int)code;
		d->fault.iq_count = (int)count;
	} else if (!strcmp(action, "ack_error")) {
		json_t *jcount = json_object_get(req->json, "count");
		json_int_t code = json_is_integer(jcode) ? json_integer_value(jcode) : -1;
		json_int_t count = jcount ? (json_is_integer(jcount) ? json_integer_value(jcount) : -1) : 1;
		if (code < 400 || code > 599 || count < 0 || count > SIM_MAX_IQ_FAULTS) {
			sim_http_error(resp, 400, "need \"code\" (400-599), \"count\" (0-1000)");
			return 0;
		}
		d->fault.ack_error_code = (int)code;
		d->fault.ack_error_left = (int)count;
	} else if (!strcmp(action, "clear")) {
		memset(&d->fault, 0, sizeof(d->fault));
	} else {
		sim_http_error(resp, 400, "unknown action");
		return 0;
	}
	sim_http_json(resp, 200, json_pack("{s:b, s:b}", "ok", 1, "was_online", had_conn));
	return 0;
}

static int h_unpair(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp,
	void *user)
{
	(void)user;
	struct sim_device *d = req_device(sim, req, resp);
	if (!d)
		return 0;
	sim_device_remove(sim, d);
	sim_http_json(resp, 200, json_pack("{s:b}", "ok", 1));
	return 0;
}

static int h_root(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp,
	void *user)
{
	(void)req;
	(void)user;
	sim_http_json(resp, 200, json_pack("{s:o}", "root", hex_json(sim->root_pub, 32)));
	return 0;
}

static int h_conns(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp,
	void *user)
{
	(void)req;
	(void)user;
	struct sim_core *core = sim_core(sim);
	json_t *arr = json_array();
	for (struct sim_conn *c = core->conns; c; c = c->next) {
		json_t *o = json_pack("{s:I, s:s, s:I}", "id", (json_int_t)c->id, "state", state_name(c->state),
			"routing_len", (json_int_t)wa_frame_dec_routing_len(c->dec));
		if (o && c->dev) {
			char jid[64];
			sim_device_pn_jid(c->dev->acct, c->dev->device, jid, sizeof(jid));
			json_object_set_new(o, "jid", json_string(jid));
		}
		json_array_append_new(arr, o);
	}
	sim_http_json(resp, 200, json_pack("{s:I, s:I, s:I, s:o}", "count", (json_int_t)core->n_conns,
		"handshakes", (json_int_t)core->n_handshakes, "peak_handshakes",
		(json_int_t)core->peak_handshakes, "conns", arr));
	return 0;
}

/* POST /_sim/conns/peak-reset: restarts peak_handshakes from the current
 * count (a benchmark measures one phase). */
static int h_conns_peak_reset(struct sim *sim, const struct sim_http_req *req,
	struct sim_http_resp *resp, void *user)
{
	(void)req;
	(void)user;
	struct sim_core *core = sim_core(sim);
	core->peak_handshakes = core->n_handshakes;
	sim_http_json(resp, 200, json_pack("{s:I}", "peak_handshakes", (json_int_t)core->peak_handshakes));
	return 0;
}

int sim_control_init(struct sim *sim)
{
	int rc = 0;
	rc |= sim_http_register(sim, "POST", "/_sim/accounts", h_accounts_create, NULL);
	rc |= sim_http_register(sim, "GET", "/_sim/accounts", h_accounts_get, NULL);
	rc |= sim_http_register(sim, "POST", "/_sim/scan", h_scan, NULL);
	rc |= sim_http_register(sim, "POST", "/_sim/pair-code", h_pair_code, NULL);
	rc |= sim_http_register(sim, "POST", "/_sim/fault", h_fault, NULL);
	rc |= sim_http_register(sim, "POST", "/_sim/unpair", h_unpair, NULL);
	rc |= sim_http_register(sim, "GET", "/_sim/root", h_root, NULL);
	rc |= sim_http_register(sim, "GET", "/_sim/conns", h_conns, NULL);
	rc |= sim_http_register(sim, "POST", "/_sim/conns/peak-reset", h_conns_peak_reset, NULL);
	return rc ? WA_ENOMEM : 0;
}
