/* One client connection of wasim: resumable frame decoding, the Noise XX
 * responder, transport decryption, binary node decoding and dispatch to the
 * handler tables; and the send side (encode, encrypt, frame, queue).
 * Anything hostile (bad framing, failed decryption, undecodable nodes,
 * stanzas illegal in the current state) aborts this connection only. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libwebsockets.h>

#include "simcore.h"
#include "binary/decode.h"
#include "binary/encode.h"
#include "client_payload.pb-c.h"
#include "pb.h"

int64_t sim_now(void)
{
	return (int64_t)time(NULL);
}

int64_t sim_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sim_logf(struct sim *sim, const char *fmt, ...)
{
	if (sim_core(sim)->quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "wasim: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* ---- node builders ---- */

wa_node *sim_node(const char *tag, ...)
{
	wa_node *n = NULL;
	if (wa_node_new(&n, tag))
		return NULL;
	va_list ap;
	va_start(ap, tag);
	for (;;) {
		const char *k = va_arg(ap, const char *);
		if (!k)
			break;
		const char *v = va_arg(ap, const char *);
		if (v && wa_node_set_attr(n, k, v)) {
			wa_node_free(n);
			n = NULL;
			break;
		}
	}
	va_end(ap);
	return n;
}

wa_node *sim_node_add(wa_node *parent, wa_node *child)
{
	if (!parent || !child || wa_node_add_child(parent, child)) {
		wa_node_free(parent);
		wa_node_free(child);
		return NULL;
	}
	return parent;
}

wa_node *sim_node_bytes(const char *tag, const void *p, size_t len)
{
	wa_node *n = sim_node(tag, NULL);
	if (n && wa_node_set_bytes(n, p, len)) {
		wa_node_free(n);
		return NULL;
	}
	return n;
}

void sim_new_id(struct sim *sim, char *buf, size_t cap)
{
	snprintf(buf, cap, "wasim-%llu", (unsigned long long)++sim_core(sim)->next_stanza_id);
}

/* ---- registration tables ---- */

int sim_handler_register(struct sim *sim, const char *tag, sim_stanza_fn fn, void *user)
{
	struct sim_core *core = sim_core(sim);
	if (strlen(tag) >= sizeof(core->handlers[0].tag))
		return WA_EINVAL;
	for (size_t i = 0; i < core->n_handlers; i++)
		if (!strcmp(core->handlers[i].tag, tag)) {
			core->handlers[i].fn = fn;
			core->handlers[i].user = user;
			return 0;
		}
	struct sim_handler_ent *h = realloc(core->handlers, (core->n_handlers + 1) * sizeof(*h));
	if (!h)
		return WA_ENOMEM;
	core->handlers = h;
	memset(&h[core->n_handlers], 0, sizeof(*h));
	snprintf(h[core->n_handlers].tag, sizeof(h->tag), "%s", tag);
	h[core->n_handlers].fn = fn;
	h[core->n_handlers].user = user;
	core->n_handlers++;
	return 0;
}

int sim_iq_register(struct sim *sim, const char *xmlns, const char *child_tag, sim_iq_fn fn,
	void *user)
{
	struct sim_core *core = sim_core(sim);
	const char *ct = child_tag ? child_tag : "";
	if (strlen(xmlns) >= sizeof(core->iqs[0].xmlns) || strlen(ct) >= sizeof(core->iqs[0].child))
		return WA_EINVAL;
	for (size_t i = 0; i < core->n_iqs; i++)
		if (!strcmp(core->iqs[i].xmlns, xmlns) && !strcmp(core->iqs[i].child, ct)) {
			core->iqs[i].fn = fn;
			core->iqs[i].user = user;
			return 0;
		}
	struct sim_iq_ent *e = realloc(core->iqs, (core->n_iqs + 1) * sizeof(*e));
	if (!e)
		return WA_ENOMEM;
	core->iqs = e;
	memset(&e[core->n_iqs], 0, sizeof(*e));
	snprintf(e[core->n_iqs].xmlns, sizeof(e->xmlns), "%s", xmlns);
	snprintf(e[core->n_iqs].child, sizeof(e->child), "%s", ct);
	e[core->n_iqs].fn = fn;
	e[core->n_iqs].user = user;
	core->n_iqs++;
	return 0;
}

/* ---- connection objects ---- */

enum sim_conn_state sim_conn_state(const struct sim_conn *c) { return c->state; }

void sim_conn_set_state(struct sim_conn *c, enum sim_conn_state st)
{
	struct sim_core *core = sim_core(c->sim);
	if (c->state == SIM_CONN_HANDSHAKE && st != SIM_CONN_HANDSHAKE && core->n_handshakes)
		core->n_handshakes--;
	c->state = st;
}
struct sim_device *sim_conn_device(const struct sim_conn *c)
{
	return c->state == SIM_CONN_READY ? c->dev : NULL;
}
uint64_t sim_conn_id(const struct sim_conn *c) { return c->id; }

struct sim_conn *sim_conn_new(struct sim *sim, struct lws *wsi)
{
	struct sim_core *core = sim_core(sim);
	struct sim_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->sim = sim;
	c->wsi = wsi;
	c->id = ++core->next_conn_id;
	c->state = SIM_CONN_HANDSHAKE;
	c->opened_ms = sim_mono_ms();
	if (++core->n_handshakes > core->peak_handshakes)
		core->peak_handshakes = core->n_handshakes;
	if (wa_frame_dec_new(&c->dec, WA_FRAME_SERVER, SIM_MAX_FRAME)) {
		free(c);
		return NULL;
	}
	c->next = core->conns;
	if (c->next)
		c->next->prev = c;
	core->conns = c;
	core->n_conns++;
	return c;
}

void sim_conn_on_closed(struct sim_conn *c)
{
	struct sim *sim = c->sim;
	struct sim_core *core = sim_core(sim);
	c->dead = true;
	/* iq waiters learn that no answer will come */
	while (c->waiters) {
		struct sim_waiter *w = c->waiters;
		c->waiters = w->next;
		if (w->cb)
			w->cb(sim, c, NULL, w->arg);
		free(w);
	}
	if (c->dev && c->dev->conn == c) {
		if (sim->hooks.conn_closed)
			sim->hooks.conn_closed(sim, c, sim->hooks.user);
		c->dev->conn = NULL;
	}
	if (c->prev)
		c->prev->next = c->next;
	else
		core->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	core->n_conns--;
	if (c->state == SIM_CONN_HANDSHAKE && core->n_handshakes)
		core->n_handshakes--;
	while (c->outq_head) {
		struct sim_outmsg *m = c->outq_head;
		c->outq_head = m->next;
		free(m);
	}
	sim_pairing_free(c->pair);
	wa_frame_dec_free(c->dec);
	wa_noise_hs_free(c->hs);
	wa_noise_transport_free(c->tr);
	free(c);
}

void sim_conn_fail(struct sim_conn *c, const char *why)
{
	if (c->dead)
		return;
	sim_logf(c->sim, "conn %llu: dropped: %s", (unsigned long long)c->id, why);
	sim_conn_close(c, SIM_CLOSE_ABORT);
}

/* Queues one frame (3-byte length + payload). */
static int queue_frame(struct sim_conn *c, const uint8_t *payload, size_t len, bool encrypt)
{
	size_t body = len + (encrypt ? WA_NOISE_TAG_LEN : 0);
	if (body > WA_NOISE_MAX_FRAME)
		return WA_ETOOBIG;
	if (c->outq_bytes + body + 3 > SIM_MAX_OUTQ) {
		sim_conn_fail(c, "output queue full");
		return WA_ETOOBIG;
	}
	struct sim_outmsg *m = malloc(sizeof(*m) + LWS_PRE + 3 + body);
	if (!m)
		return WA_ENOMEM;
	m->next = NULL;
	m->len = 3 + body;
	uint8_t *p = m->data + LWS_PRE;
	p[0] = (uint8_t)(body >> 16);
	p[1] = (uint8_t)(body >> 8);
	p[2] = (uint8_t)body;
	if (encrypt) {
		int rc = wa_noise_transport_encrypt(c->tr, p + 3, payload, len);
		if (rc) {
			free(m);
			return rc;
		}
	} else {
		memcpy(p + 3, payload, len);
	}
	if (c->outq_tail)
		c->outq_tail->next = m;
	else
		c->outq_head = m;
	c->outq_tail = m;
	c->outq_bytes += m->len;
	sim_conn_kick(c);
	return 0;
}

int sim_conn_send(struct sim_conn *c, const wa_node *n)
{
	if (c->dead || c->closing || !c->tr)
		return WA_ESTATE;
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = wa_bin_encode(n, &buf, &len);
	if (rc)
		return rc;
	rc = queue_frame(c, buf, len, true);
	free(buf);
	return rc;
}

int sim_conn_send_free(struct sim_conn *c, wa_node *n)
{
	if (!n)
		return WA_ENOMEM;
	int rc = sim_conn_send(c, n);
	wa_node_free(n);
	return rc;
}

int sim_send_to_device(struct sim *sim, struct sim_device *d, wa_node *n)
{
	(void)sim;
	if (!n)
		return WA_ENOMEM;
	if (!d->conn || d->conn->state != SIM_CONN_READY) {
		wa_node_free(n);
		return WA_ENOTFOUND;
	}
	return sim_conn_send_free(d->conn, n);
}

struct delayed_ack {
	uint64_t conn_id;
	char phone[SIM_MAX_PHONE + 1];
	uint32_t device;
	wa_node *n;
};

static void delayed_ack_fire(struct sim *sim, void *arg)
{
	struct delayed_ack *da = arg;
	struct sim_account *a = sim_account_find(sim, da->phone);
	struct sim_device *d = a ? sim_device_find(a, da->device) : NULL;
	if (!sim_stopping(sim) && d && d->conn && d->conn->id == da->conn_id &&
	    d->conn->state == SIM_CONN_READY)
		if (sim_conn_send(d->conn, da->n))
			sim_logf(sim, "delayed ack not sent");
	wa_node_free(da->n);
	free(da);
}

int sim_send_ack(struct sim *sim, struct sim_conn *c, wa_node *n)
{
	if (!n)
		return WA_ENOMEM;
	struct sim_device *d = c->dev;
	if (d && d->fault.drop_acks) {
		wa_node_free(n);
		return 0;
	}
	if (d && d->fault.ack_delay_ms > 0) {
		struct delayed_ack *da = calloc(1, sizeof(*da));
		if (!da) {
			wa_node_free(n);
			return WA_ENOMEM;
		}
		da->conn_id = c->id;
		snprintf(da->phone, sizeof(da->phone), "%s", d->acct->phone);
		da->device = d->device;
		da->n = n;
		int rc = sim_defer(sim, d->fault.ack_delay_ms, delayed_ack_fire, da);
		if (rc) {
			wa_node_free(n);
			free(da);
		}
		return rc;
	}
	return sim_conn_send_free(c, n);
}

void sim_conn_stream_error(struct sim_conn *c, int code)
{
	wa_node *n;
	char cs[16];
	snprintf(cs, sizeof(cs), "%d", code);
	if (code == 440) {
		n = sim_node_add(sim_node("stream:error", NULL),
			sim_node("conflict", "type", "replaced", NULL));
	} else if (code == 401) {
		n = sim_node_add(sim_node("stream:error", "code", cs, NULL),
			sim_node("conflict", "type", "device_removed", NULL));
	} else {
		n = sim_node("stream:error", "code", cs, NULL);
	}
	if (c->tr && !c->dead && !c->closing && sim_conn_send(c, n))
		sim_logf(c->sim, "conn %llu: stream:error not sent", (unsigned long long)c->id);
	wa_node_free(n);
	c->linger = true;
	sim_conn_close(c, SIM_CLOSE_FLUSH);
}

/* ---- iq helpers ---- */

/* The iq_error fault's code 1: the answer to a handled iq is lost. */
static bool answer_lost(struct sim_conn *c, wa_node *r)
{
	struct sim_fault *f = c->dev ? &c->dev->fault : NULL;
	if (!f || !f->iq_lose)
		return false;
	f->iq_lose = false;
	sim_logf(c->sim, "conn %llu: iq answer lost by the iq_error fault", (unsigned long long)c->id);
	wa_node_free(r);
	return true;
}

int sim_iq_result(struct sim_conn *c, const wa_node *iq, wa_node *child)
{
	const char *id = wa_node_attr(iq, "id");
	wa_node *r = sim_node("iq", "from", "@s.whatsapp.net", "type", "result", "id", id ? id : "",
		NULL);
	if (child)
		r = sim_node_add(r, child);
	if (answer_lost(c, r))
		return 0;
	return sim_conn_send_free(c, r);
}

int sim_iq_error(struct sim_conn *c, const wa_node *iq, int code, const char *text)
{
	const char *id = wa_node_attr(iq, "id");
	char cs[16];
	snprintf(cs, sizeof(cs), "%d", code);
	wa_node *r = sim_node_add(
		sim_node("iq", "from", "@s.whatsapp.net", "type", "error", "id", id ? id : "", NULL),
		sim_node("error", "code", cs, "text", text, NULL));
	if (answer_lost(c, r))
		return 0;
	return sim_conn_send_free(c, r);
}

int sim_conn_send_iq(struct sim_conn *c, wa_node *iq, sim_iq_answer_fn cb, void *arg)
{
	if (!iq)
		return WA_ENOMEM;
	char id[64];
	const char *have = wa_node_attr(iq, "id");
	if (have) {
		snprintf(id, sizeof(id), "%s", have);
	} else {
		sim_new_id(c->sim, id, sizeof(id));
		if (wa_node_set_attr(iq, "id", id)) {
			wa_node_free(iq);
			return WA_ENOMEM;
		}
	}
	if (!wa_node_attr(iq, "from") && wa_node_set_attr(iq, "from", "@s.whatsapp.net")) {
		wa_node_free(iq);
		return WA_ENOMEM;
	}
	struct sim_waiter *w = calloc(1, sizeof(*w));
	if (!w) {
		wa_node_free(iq);
		return WA_ENOMEM;
	}
	snprintf(w->id, sizeof(w->id), "%s", id);
	w->cb = cb;
	w->arg = arg;
	int rc = sim_conn_send_free(c, iq);
	if (rc) {
		free(w);
		return rc;
	}
	w->next = c->waiters;
	c->waiters = w;
	return 0;
}

/* ---- input ---- */

/* An iq answer from the client to a server-initiated iq. Returns 1 if it
 * matched a waiter. */
static int take_waiter(struct sim_conn *c, const wa_node *n)
{
	const char *id = wa_node_attr(n, "id");
	if (!id)
		return 0;
	for (struct sim_waiter **pw = &c->waiters; *pw; pw = &(*pw)->next) {
		struct sim_waiter *w = *pw;
		if (strcmp(w->id, id) != 0)
			continue;
		*pw = w->next;
		if (w->cb)
			w->cb(c->sim, c, n, w->arg);
		free(w);
		return 1;
	}
	return 0;
}

static const char *iq_error_text(int code)
{
	switch (code) {
	case 400: return "bad-request";
	case 401: return "not-authorized";
	case 404: return "item-not-found";
	case 406: return "not-acceptable";
	case 429: return "rate-overlimit";
	case 500: return "internal-server-error";
	case 503: return "service-unavailable";
	default: return code >= 500 ? "internal-server-error" : "bad-request";
	}
}

static int dispatch_iq(struct sim_conn *c, const wa_node *n)
{
	struct sim_core *core = sim_core(c->sim);
	const char *type = wa_node_attr(n, "type");
	if (!type)
		return WA_EPROTO;
	if (!strcmp(type, "result") || !strcmp(type, "error")) {
		if (c->state == SIM_CONN_PAIRING)
			return sim_pair_iq(c, n);
		take_waiter(c, n); /* unknown answers are ignored */
		return 0;
	}
	if (strcmp(type, "get") != 0 && strcmp(type, "set") != 0)
		return WA_EPROTO;
	const char *xmlns = wa_node_attr(n, "xmlns");
	if (!xmlns)
		xmlns = "";
	if (!strcmp(xmlns, "md"))
		return sim_pair_iq(c, n);
	if (c->state != SIM_CONN_READY) {
		/* before login only the keep-alive is answered */
		if (!strcmp(xmlns, "w:p"))
			return sim_iq_result(c, n, NULL);
		return sim_iq_error(c, n, 401, "not-authorized");
	}
	wa_node *first = wa_node_child_at(n, 0);
	const char *ct = first ? wa_node_tag(first) : "";
	struct sim_fault *f = c->dev ? &c->dev->fault : NULL;
	if (f && f->iq_count > 0 && !strcmp(f->iq_xmlns, xmlns) && (!f->iq_child[0] || !strcmp(f->iq_child, ct))) {
		f->iq_count--;
		sim_logf(c->sim, "conn %llu: iq %s/%s answered by the iq_error fault (%d)", (unsigned long long)c->id,
			xmlns, ct, f->iq_code);
		if (f->iq_code == 0)
			return 0; /* swallowed: the client's iq times out or its connection ends */
		if (f->iq_code != 1)
			return sim_iq_error(c, n, f->iq_code, iq_error_text(f->iq_code));
		f->iq_lose = true; /* handled below, the answer lost */
	}
	struct sim_iq_ent *any = NULL, *hit = NULL;
	for (size_t i = 0; i < core->n_iqs; i++) {
		if (strcmp(core->iqs[i].xmlns, xmlns) != 0)
			continue;
		if (!core->iqs[i].child[0])
			any = &core->iqs[i];
		else if (!strcmp(core->iqs[i].child, ct))
			hit = &core->iqs[i];
	}
	if (!hit)
		hit = any;
	if (!hit) {
		sim_logf(c->sim, "conn %llu: unhandled iq xmlns=%s child=%s", (unsigned long long)c->id,
			xmlns, ct);
		return sim_iq_error(c, n, 501, "feature-not-implemented");
	}
	return hit->fn(c->sim, c, n, hit->user);
}

static int dispatch(struct sim_conn *c, const wa_node *n)
{
	struct sim_core *core = sim_core(c->sim);
	const char *tag = wa_node_tag(n);
	if (!strcmp(tag, "iq"))
		return dispatch_iq(c, n);
	if (c->state != SIM_CONN_READY) {
		/* Baileys sends <ib><unified_session/></ib> right after pair-success. */
		if (!strcmp(tag, "ib") || !strcmp(tag, "presence") || !strcmp(tag, "ack"))
			return 0;
		return WA_EPROTO;
	}
	for (size_t i = 0; i < core->n_handlers; i++)
		if (!strcmp(core->handlers[i].tag, tag))
			return core->handlers[i].fn(c->sim, c, n, core->handlers[i].user);
	sim_logf(c->sim, "conn %llu: ignored <%s>", (unsigned long long)c->id, tag);
	return 0;
}

int sim_conn_feed_plaintext(struct sim_conn *c, const uint8_t *pt, size_t len)
{
	wa_node *n = NULL;
	int rc = wa_bin_decode(pt, len, &n);
	if (rc)
		return rc;
	rc = dispatch(c, n);
	wa_node_free(n);
	return rc;
}

static int on_transport_frame(struct sim_conn *c, const uint8_t *f, size_t len)
{
	if (len < WA_NOISE_TAG_LEN)
		return WA_EMALFORMED;
	uint8_t *pt = malloc(len);
	if (!pt)
		return WA_ENOMEM;
	int rc = wa_noise_transport_decrypt(c->tr, pt, f, len);
	if (rc) {
		free(pt);
		return rc;
	}
	rc = sim_conn_feed_plaintext(c, pt, len - WA_NOISE_TAG_LEN);
	free(pt);
	return rc;
}

static int on_handshake_frame(struct sim_conn *c, const uint8_t *f, size_t len)
{
	struct sim_core *core = sim_core(c->sim);
	int rc;
	if (len > WA_NOISE_MAX_HS_MSG)
		return WA_ETOOBIG;
	if (c->hs_step == 0) {
		uint8_t intro[WA_NOISE_INTRO_LEN];
		rc = wa_frame_dec_intro(c->dec, intro);
		if (rc)
			return rc;
		if (intro[3] != WA_NOISE_DICT_VERSION)
			return WA_ENOISE_HEADER;
		rc = wa_noise_hs_new_responder(&c->hs, &core->server_static, core->cert_chain,
			core->cert_chain_len, intro);
		if (rc)
			return rc;
		rc = wa_noise_hs_read_client_hello(c->hs, f, len);
		if (rc)
			return rc;
		wa_writer wr;
		wa_writer_init(&wr, WA_NOISE_MAX_HS_MSG);
		rc = wa_noise_hs_write_server_hello(c->hs, &wr);
		if (!rc)
			rc = queue_frame(c, wr.p, wr.len, false);
		wa_writer_clear(&wr, true);
		if (rc)
			return rc;
		c->hs_step = 1;
		return 0;
	}
	rc = wa_noise_hs_read_client_finish(c->hs, f, len);
	if (rc)
		return rc;
	rc = wa_noise_hs_split(c->hs, &c->tr);
	if (rc)
		return rc;
	rc = wa_noise_hs_remote_static(c->hs, c->client_static);
	if (rc)
		return rc;
	const uint8_t *payload;
	size_t plen;
	rc = wa_noise_hs_client_payload(c->hs, &payload, &plen);
	if (rc)
		return rc;
	/* keep the payload alive past the handshake object */
	uint8_t *copy = malloc(plen ? plen : 1);
	if (!copy)
		return WA_ENOMEM;
	memcpy(copy, payload, plen);
	wa_noise_hs_free(c->hs);
	c->hs = NULL;
	c->hs_step = 2;
	rc = sim_login_payload(c, copy, plen);
	free(copy);
	return rc;
}

void sim_conn_on_data(struct sim_conn *c, const uint8_t *p, size_t len)
{
	while (!c->dead) {
		size_t used = 0;
		const uint8_t *frame = NULL;
		size_t flen = 0;
		int rc = wa_frame_decode(c->dec, p, len, &used, &frame, &flen);
		if (rc < 0) {
			sim_conn_fail(c, wa_frame_dec_error_reason(c->dec) ? wa_frame_dec_error_reason(c->dec)
									     : wa_errname(rc));
			return;
		}
		p += used;
		len -= used;
		if (rc == 0)
			return;
		if (c->closing)
			continue; /* drain and ignore input while closing */
		if (c->hs_step < 2)
			rc = on_handshake_frame(c, frame, flen);
		else
			rc = on_transport_frame(c, frame, flen);
		if (rc < 0) {
			char why[96];
			snprintf(why, sizeof(why), "%s in state %d", wa_errname(rc), (int)c->state);
			sim_conn_fail(c, why);
			return;
		}
	}
}
