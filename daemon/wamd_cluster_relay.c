/* Cluster mode across nodes: sends any node accepts, and events any node's
 * stream shows, for instances another node drives.
 *
 * Wake-ups are PostgreSQL notifications on the store's own connection
 * (LISTEN once at join): its socket, duplicated, sits on the loop as a raw
 * descriptor, so a notification arriving while the node is idle is read
 * at once without blocking; one read by a query's own reads is picked up
 * at the next timer tick (250 ms).
 *
 * Sends: the node a client talks to checks the request, picks the message
 * id, writes the send to wamd_relay with a NOTIFY in the same statement
 * and answers with that id (status PENDING), as the owner would. The
 * owner moves each row of its instances into its pacing queue (which
 * sends it when the limits allow) and deletes the row in one transaction,
 * or, for a text no limit holds, sends it at once as the route does, the
 * row's delete inside libwa's send transaction (one commit with the outbox
 * row). The delete is fenced by the lease, so a node that lost the
 * instance cannot queue it again, and the next owner moves a row its dead
 * predecessor did not. The pacing queue's and the outbox's own guarantees
 * make it leave once.
 *
 * Events: the owner NOTIFYs the stream events the other nodes' clients
 * may follow (QR, connection, messages and their status), the instance's
 * id and the event as its own stream has it; a notification carries
 * under 8,000 bytes, so a larger event (a long text, inline media) reaches
 * only the owner's streams. Webhooks and brokers stay with the owner.
 *
 * Only while another node has a stream open: each node tells the others
 * on CH_STREAMS whether it has one, at once when that changes and again
 * every third of a lease while it does; a node assumes another's streams
 * open for a lease after it last said so. So a stream opened on B gets
 * A's events from the moment A reads B's notification (at once, or at the
 * next timer tick when a query's answer brought it in); a
 * node that just started (or was restarted) relays everything for its
 * first lease, until it has heard every node with streams.
 *
 * Streams: a token revoked or an instance deleted (through its owner)
 * NOTIFYs the instance's id; each other node rechecks its streams bound to
 * it against the instance the database has then, closing those it no
 * longer authorizes, as the owner does with its own.
 *
 * Pacing: the sends each node counts in the daemon-wide and group windows
 * go to the other nodes the same way, so those windows count every node's
 * sends (see "the shared pacing windows" below). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wamd_cluster.h"
#include "wamd_cluster_int.h"
#include "wamd_events.h"
#include "wamd_pace.h"
#include "wamd_pace_media.h"
#include "wamd_pace_shared.h"
#include "wamd_routes.h"

#define CH_RELAY "wamd_relay"
#define CH_EVENTS "wamd_events"
#define CH_PACE "wamd_pace"
#define CH_STREAMS "wamd_streams" /* "<node> <0|1>": whether a node has event streams open */
#define CH_AUTH "wamd_auth" /* an instance's tokens changed or it went: its streams are rechecked */
#define MOVE_MAX 64 /* relayed sends moved per call; more on the next tick */

static const char *const RELAYED_EVENTS[] = { "QRCODE_UPDATED",	 "CONNECTION_UPDATE", "MESSAGES_UPSERT",
					      "MESSAGES_UPDATE", "SEND_MESSAGE",      "MESSAGES_DELETE" };

static struct wamd_cluster *K; /* one cluster state per process, loop thread only */
static uint64_t moved_bytes;	/* media bytes this move_relayed call copied so far */

static void batch_flush(struct wamd_cluster_batch *b);

static int64_t mono_ms(void)
{
	return wamd_mono_ns() / 1000000;
}

int wamd_cluster_relay_start(struct wamd_cluster *k)
{
	struct wamd *d = k->d;
	int rc = wa_store_cluster_listen(d->store, CH_RELAY);
	if (rc == 0)
		rc = wa_store_cluster_listen(d->store, CH_EVENTS);
	if (rc == 0)
		rc = wa_store_cluster_listen(d->store, CH_PACE);
	if (rc == 0)
		rc = wa_store_cluster_listen(d->store, CH_AUTH);
	if (rc == 0)
		rc = wa_store_cluster_listen(d->store, CH_STREAMS);
	if (rc != 0) {
		LOGE("cluster: LISTEN failed: %s (%s)", wa_errname(rc), wa_store_errmsg(d->store));
		return -1;
	}
	K = k;
	k->streams_at = json_object();
	k->streams_unknown_ms = mono_ms() + k->lease_ms;
	k->streams_told_ms = 0;
	k->streams_told = false;
	k->ev = (struct wamd_cluster_batch){ .d = d, .channel = CH_EVENTS, .what = "event(s) not relayed to the other nodes" };
	k->pace = (struct wamd_cluster_batch){ .d = d, .channel = CH_PACE,
					       .what = "send(s) not counted by the other nodes' pacing" };
	/* lws closes what it adopts: it gets a duplicate of libpq's socket */
	int fd = wa_store_cluster_socket(d->store);
	int nfd = fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
	if (nfd < 0) {
		LOGW("cluster: the store's socket is not watched (notifications every 250 ms)");
		return 0;
	}
	lws_adopt_desc_t info;
	memset(&info, 0, sizeof info);
	info.vh = d->vh_client;
	info.type = LWS_ADOPT_RAW_FILE_DESC;
	info.fd.filefd = nfd;
	info.vh_prot_name = WAMD_CLUSTER_PROTOCOL;
	k->listen_wsi = lws_adopt_descriptor_vhost_via_info(&info); /* closes nfd on failure */
	if (!k->listen_wsi)
		LOGW("cluster: the store's socket is not watched (notifications every 250 ms)");
	k->relay_due = true; /* sends relayed before this node listened */
	return 0;
}

static void unwatch(struct wamd_cluster *k)
{
	if (k->listen_wsi) {
		lws_set_timeout(k->listen_wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
		k->listen_wsi = NULL;
	}
}

void wamd_cluster_relay_stop(struct wamd_cluster *k)
{
	batch_flush(&k->ev);
	batch_flush(&k->pace);
	unwatch(k);
	wamd_pace_set_cluster_hooks(NULL);
	json_decref(k->streams_at);
	k->streams_at = NULL;
	K = NULL;
}

int wamd_cluster_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	(void)user;
	(void)in;
	(void)len;
	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
		if (!K || K->listen_wsi != wsi)
			return -1;
		wamd_cluster_relay_poll(K);
		/* a broken connection: stop watching (wamd_dbwatch.c stops wamd) */
		return K && K->listen_wsi == wsi ? 0 : -1;
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		if (K && K->listen_wsi == wsi)
			K->listen_wsi = NULL;
		return 0;
	default:
		return 0;
	}
}

/* ---- events ---- */

static bool relays(const struct wamd *d, const char *event)
{
	if (!d->cluster)
		return false;
	for (size_t i = 0; i < sizeof RELAYED_EVENTS / sizeof RELAYED_EVENTS[0]; i++)
		if (!strcmp(event, RELAYED_EVENTS[i]))
			return true;
	return false;
}

#define BATCH_MAX 256 /* notifications per statement; more flush at once */

static void batch_flush(struct wamd_cluster_batch *b)
{
	json_t *v = b->pending;
	b->pending = NULL;
	if (!v)
		return;
	lws_sul_cancel(&b->sul);
	char *s = json_dumps(v, JSON_COMPACT);
	int rc = s ? wa_store_cluster_notify_many(b->d->store, b->channel, s) : WA_ENOMEM;
	if (rc != 0)
		LOGW("cluster: %zu %s: %s", json_array_size(v), b->what, wa_errname(rc));
	free(s);
	json_decref(v);
}

static void on_batch_flush(lws_sorted_usec_list_t *sul)
{
	batch_flush(lws_container_of(sul, struct wamd_cluster_batch, sul));
}

/* item goes out at the end of this loop turn, with the turn's others */
static void batch_add(struct wamd_cluster_batch *b, const char *item)
{
	if (!b->pending && (b->pending = json_array()))
		lws_sul_schedule(b->d->ctx, 0, &b->sul, on_batch_flush, 1);
	if (b->pending)
		json_array_append_new(b->pending, json_string(item));
	if (b->pending && json_array_size(b->pending) >= BATCH_MAX)
		batch_flush(b);
}

/* ---- whether the other nodes' streams want events ---- */

bool wamd_cluster_streams_elsewhere(struct wamd *d)
{
	struct wamd_cluster *k = d->cluster;
	if (!k || !k->streams_at)
		return false;
	int64_t now = mono_ms();
	if (now < k->streams_unknown_ms)
		return true;
	const char *node;
	json_t *v;
	json_object_foreach(k->streams_at, node, v) {
		if (json_integer_value(v) > now)
			return true;
	}
	return false;
}

void wamd_cluster_streams_changed(struct wamd *d)
{
	struct wamd_cluster *k = d->cluster;
	if (!k || !k->streams_at)
		return;
	bool has = d->ws_clients != NULL;
	int64_t now = mono_ms();
	if (has == k->streams_told && (!has || now - k->streams_told_ms < k->lease_ms / 3))
		return;
	char item[WA_STORE_NODE_MAX + 8];
	snprintf(item, sizeof item, "%s %d", k->node, has ? 1 : 0);
	int rc = wa_store_cluster_notify(d->store, CH_STREAMS, item);
	if (rc != 0) {
		LOGW("cluster: telling the other nodes whether streams are open here failed: %s", wa_errname(rc));
		return; /* again at the next tick */
	}
	k->streams_told = has;
	k->streams_told_ms = now;
}

/* "<node> <0|1>" */
static void streams_got(struct wamd_cluster *k, const char *payload)
{
	const char *sp = strrchr(payload, ' ');
	if (!sp || sp == payload || sp - payload >= WA_STORE_NODE_MAX)
		return;
	char node[WA_STORE_NODE_MAX];
	snprintf(node, sizeof node, "%.*s", (int)(sp - payload), payload);
	if (!strcmp(sp + 1, "1"))
		json_object_set_new(k->streams_at, node, json_integer(mono_ms() + k->lease_ms));
	else
		json_object_del(k->streams_at, node);
}

uint64_t wamd_cluster_events_relayed(struct wamd *d)
{
	return d->cluster ? d->cluster->ev_relayed : 0;
}

/* queued and sent at the end of this loop turn, every event of the turn
 * in one statement */
void wamd_cluster_event(struct wamd_tenant *t, const char *event, const char *text)
{
	struct wamd_cluster *k = t->d->cluster;
	if (!k || !relays(t->d, event) || !wamd_cluster_streams_elsewhere(t->d))
		return;
	/* the streams' key (wamd_ws_broadcast) */
	const char *id = json_string_value(json_object_get(t->doc, "id"));
	size_t il = id ? strlen(id) : 0, tl = strlen(text);
	if (!il || il + 1 + tl >= WA_STORE_NOTIFY_MAX) {
		LOGD("instance %s: event %s too large to relay (%zu bytes): the owner's streams only", t->name, event, tl);
		return;
	}
	char *p = malloc(il + 1 + tl + 1);
	if (!p)
		return;
	memcpy(p, id, il);
	p[il] = '\n';
	memcpy(p + il + 1, text, tl + 1);
	batch_add(&k->ev, p);
	k->ev_relayed++;
	free(p);
}

/* after the change is committed: the statement commits on its own */
void wamd_cluster_streams_recheck(struct wamd *d, const char *instance_id)
{
	if (!d->cluster || !instance_id || !*instance_id)
		return;
	int rc = wa_store_cluster_notify(d->store, CH_AUTH, instance_id);
	if (rc != 0)
		LOGW("cluster: the other nodes' streams of instance %s not rechecked: %s", instance_id, wa_errname(rc));
}

/* ---- the shared pacing windows ----
 * Each send a node counts in its daemon-wide or group windows goes to the
 * other nodes as "<ms> <count> <group>" at the end of the loop turn (one statement
 * for the turn's sends); they count it in theirs. Until it arrives (the
 * turn's end plus the notification's trip, milliseconds) another node may
 * take the same last slot of a window: a window can go over its limit by
 * one send per other node sending in that moment. A node that starts
 * rebuilds its windows from the store, as on one node. */

void wamd_cluster_pace_sent(struct wamd *d, const char *group, int64_t at)
{
	struct wamd_cluster *k = d->cluster;
	char item[128];
	/* a count makes each unique: PostgreSQL delivers one of several equal
	 * notifications of a transaction (two sends of a group in one ms) */
	if (k && (size_t)snprintf(item, sizeof item, "%lld %llu %s", (long long)at, (unsigned long long)++k->pace_n,
				  group) < sizeof item)
		batch_add(&k->pace, item);
}

/* "<ms> <count> <group>" */
static void pace_got(const char *payload)
{
	char *end = NULL;
	long long at = strtoll(payload, &end, 10);
	if (!end || *end != ' ' || at <= 0)
		return;
	(void)strtoull(end + 1, &end, 10);
	if (end && *end == ' ')
		pace_shared_remote(end + 1, at);
}

/* ---- sends ---- */

int wamd_cluster_relay_send_file(struct wamd_tenant *t, const char *jid, int64_t send_at, json_t *payload,
				 json_t *message, const char *type, const char *file, char id_out[32])
{
	const char *given = json_string_value(json_object_get(payload, "id")); /* a held file's name has it */
	if (given && strlen(given) < 32)
		memcpy(id_out, given, strlen(given) + 1);
	else
		wamd_pace_new_id(id_out);
	/* the record the owner stores and emits as SEND_MESSAGE when it takes it */
	json_object_set_new(payload, "rec", json_pack("{s:O, s:s}", "message", message, "type", type));
	char *s = json_dumps(payload, JSON_COMPACT);
	int rc = s ? 0 : WA_ENOMEM;
	if (rc == 0 && !file) {
		rc = wa_store_relay_push(t->d->store, t->id, id_out, jid, send_at, s, CH_RELAY);
	} else if (rc == 0) {
		int fd = open(file, O_RDONLY | O_CLOEXEC);
		rc = fd < 0 ? WA_EIO
			    : wa_store_relay_push_file(t->d->store, t->id, id_out, jid, send_at, s, CH_RELAY, fd,
						       WAMD_RELAY_MEDIA_MAX);
		if (fd >= 0)
			close(fd);
	}
	free(s);
	if (rc != 0)
		LOGW("instance %s: a send for its node not written: %s (%s)", t->name, wa_errname(rc),
		     wa_store_errmsg(t->d->store));
	return rc;
}

int wamd_cluster_relay_send(struct wamd_tenant *t, const char *jid, int64_t send_at, json_t *payload,
			    json_t *message, const char *type, char id_out[32])
{
	return wamd_cluster_relay_send_file(t, jid, send_at, payload, message, type, NULL, id_out);
}

/* a relayed text no limit holds: sent as the route sends it, the relay row
 * deleted and the record written inside libwa's send transaction (one
 * commit with the outbox row) */
struct direct {
	struct wamd_tenant *t;
	const wa_store_relay_row *r;
	json_t *message, *rec;
	const char *type;
};

static int direct_in_tx(void *user, const char *id)
{
	struct direct *dx = user;
	int rc = wa_store_relay_done(dx->t->d->store, dx->r->seq);
	if (rc == 0) {
		json_decref(dx->rec);
		dx->rec = wamd_sent_record_msg(dx->t, dx->r->jid, id, json_incref(dx->message), dx->type,
					       wamd_now_ms() / 1000);
	}
	return rc;
}

static int send_direct(struct wamd_tenant *t, const wa_store_relay_row *r, json_t *p, json_t *message,
		       const char *type, bool first)
{
	struct direct dx = { .t = t, .r = r, .message = message, .type = type };
	struct wamd_send_extra x = { .id = r->key_id, .in_tx = direct_in_tx, .in_tx_user = &dx };
	char *id = NULL;
	int rc = wamd_pace_send_text(t, r->jid, p, &x, &id); /* with its mentions, quote and preview */
	free(id);
	if (rc != 0 || !dx.rec) {
		json_decref(dx.rec);
		return rc ? rc : WA_ENOMEM;
	}
	wamd_pace_sent_now(t, r->jid, first);
	LOGI("instance %s: sent %s accepted by another node", t->name, r->key_id);
	wamd_emit(t, "SEND_MESSAGE", dx.rec);
	return 0;
}

/* a relayed media send's file, from the database to this node's held file
 * (path); 0, WA_ENOTFOUND (it has none: never), or an error to retry */
static int media_file(struct wamd_tenant *t, const wa_store_relay_row *r, json_t *p, char *path, size_t cap)
{
	int rc = wamd_pace_media_file(t->d, p, path, cap);
	if (rc != 0)
		return WA_ENOTFOUND;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	uint64_t len = 0;
	rc = fd < 0 ? WA_EIO : wa_store_relay_media_get(t->d->store, r->seq, fd, &len);
	if (fd >= 0 && close(fd) != 0 && rc == 0)
		rc = WA_EIO;
	if (rc != 0)
		unlink(path);
	moved_bytes += len;
	return rc;
}

/* one relayed send into the owner's pacing queue, its row gone in the same
 * transaction (a text no limit holds goes straight out: send_direct) */
static int move_one(struct wamd_tenant *t, const wa_store_relay_row *r)
{
	struct wamd *d = t->d;
	json_error_t je;
	json_t *p = json_loads(r->payload, 0, &je);
	json_t *rec_in = json_object_get(p, "rec");
	json_t *message = json_object_get(rec_in, "message");
	const char *type = json_string_value(json_object_get(rec_in, "type"));
	if (!p || !json_is_object(message) || !type) {
		json_decref(p);
		LOGE("instance %s: relayed send %s unreadable: dropped", t->name, r->key_id);
		return wa_store_relay_done(d->store, r->seq);
	}
	json_incref(message);
	char rtype[64];
	snprintf(rtype, sizeof rtype, "%s", type);
	json_object_del(p, "rec"); /* the held send's payload as its route makes it */
	json_object_set_new(p, "id", json_string(r->key_id));
	const char *kind = json_string_value(json_object_get(p, "kind"));
	char held[1200] = "";
	int rc = wamd_mentions_everyone_add(t, p, r->jid);
	if (rc == 0 && kind && !strcmp(kind, "media"))
		rc = media_file(t, r, p, held, sizeof held);
	if (rc != 0) {
		json_decref(message);
		json_decref(p);
		if (rc != WA_ENOTFOUND)
			return rc;
		LOGE("instance %s: relayed media send %s has no file: dropped", t->name, r->key_id);
		return wa_store_relay_done(d->store, r->seq);
	}
	bool first = false;
	bool now = wamd_pace_admit(t, r->jid, r->send_at, &first);
	const char *text = json_string_value(json_object_get(p, "text"));
	if (now && t->sess && kind && !strcmp(kind, "text") && text &&
	    json_integer_value(json_object_get(p, "delay")) <= 0) {
		/* as the route: no "composing" first (a held text types, a straight one does not) */
		rc = send_direct(t, r, p, message, rtype, first);
		json_decref(message);
		json_decref(p);
		return rc;
	}
	rc = wa_store_begin(d->store);
	if (rc != 0) {
		if (held[0])
			unlink(held);
		json_decref(message);
		json_decref(p);
		return rc;
	}
	char id[32];
	json_t *rec = NULL;
	rc = wa_store_relay_done(d->store, r->seq);
	bool unqueueable = false;
	if (rc == 0) {
		rc = wamd_pace_enqueue(t, r->jid, first, r->send_at, p, id);
		unqueueable = rc != 0 && rc != WA_ENOMEM && !wa_store_lost(d->store);
	}
	bool queued = rc == 0;
	if (rc == 0)
		rec = wamd_sent_record_msg(t, r->jid, id, json_incref(message), rtype, wamd_now_ms() / 1000);
	json_decref(message);
	if (rc == 0)
		rc = wa_store_commit(d->store);
	else
		(void)wa_store_rollback(d->store);
	json_decref(p);
	if (rc != 0) {
		json_decref(rec);
		json_t *gone = NULL;
		if (queued && wamd_pace_cancel(t, id, &gone) == 0) /* its row was not kept: not from memory either */
			json_decref(gone);
		if (held[0])
			unlink(held); /* the next try writes it again */
		if (unqueueable) {
			/* the queue refuses it (not a lost lease: that delete failed first) and always will */
			LOGE("instance %s: relayed send %s cannot be queued (%s): dropped", t->name, r->key_id,
			     wa_errname(rc));
			return wa_store_relay_done(d->store, r->seq);
		}
		return rc;
	}
	LOGI("instance %s: took %s accepted by another node into its queue", t->name, id);
	wamd_emit(t, "SEND_MESSAGE", rec);
	return 0;
}

static void move_relayed(struct wamd_cluster *k)
{
	struct wamd *d = k->d;
	wa_store_relay_row *v = NULL;
	size_t n = 0;
	int rc = wa_store_relay_list(d->store, k->token, MOVE_MAX, &v, &n);
	if (rc != 0) {
		LOGW("cluster: reading relayed sends failed: %s", wa_errname(rc));
		return;
	}
	k->relay_due = n == MOVE_MAX;
	moved_bytes = 0;
	for (size_t i = 0; i < n; i++) {
		if (moved_bytes >= WAMD_RELAY_MEDIA_MAX) {
			/* one file's worth of copying per call: the loop goes on, the rest next tick */
			k->relay_due = true;
			break;
		}
		struct wamd_tenant *t = wamd_cluster_by_id(d, v[i].instance_id);
		if (!t)
			continue; /* held, not loaded yet: the next call */
		rc = move_one(t, &v[i]);
		if (rc != 0 && rc != WA_ENOTFOUND) {
			LOGW("instance %s: relayed send %s not taken: %s", t->name, v[i].key_id, wa_errname(rc));
			k->relay_due = true;
		}
	}
	wa_store_relay_free(v, n);
}

struct got {
	struct wamd_cluster *k;
	json_t *recheck; /* instance ids, rechecked after the read (a recheck reads the store) */
};

static void on_notify(void *arg, const char *channel, const char *payload, bool self)
{
	struct got *g = arg;
	if (!strcmp(channel, CH_RELAY)) {
		g->k->relay_due = true;
		return;
	}
	if (!self && !strcmp(channel, CH_PACE)) {
		pace_got(payload);
		return;
	}
	if (!self && !strcmp(channel, CH_STREAMS)) {
		streams_got(g->k, payload);
		return;
	}
	if (!self && !strcmp(channel, CH_AUTH)) {
		if (!g->recheck)
			g->recheck = json_array();
		if (g->recheck)
			json_array_append_new(g->recheck, json_string(payload));
		return;
	}
	if (self || strcmp(channel, CH_EVENTS) != 0)
		return;
	const char *nl = strchr(payload, '\n');
	char id[64];
	if (!nl || nl == payload || (size_t)(nl - payload) >= sizeof id)
		return;
	snprintf(id, sizeof id, "%.*s", (int)(nl - payload), payload);
	wamd_stream_relayed(g->k->d, id, nl + 1);
}

void wamd_cluster_relay_poll(struct wamd_cluster *k)
{
	struct got g = { k, NULL };
	int n = wa_store_cluster_notifications(k->d->store, on_notify, &g);
	size_t i;
	json_t *v;
	json_array_foreach(g.recheck, i, v) {
		if (json_string_value(v))
			wamd_stream_recheck_id(k->d, json_string_value(v));
	}
	json_decref(g.recheck);
	wamd_cluster_streams_changed(k->d); /* told again while streams are open here */
	if (n < 0) {
		LOGW("cluster: reading notifications failed: %s", wa_errname(n));
		unwatch(k); /* the timer polls on; wamd_dbwatch.c stops a node whose connection is lost */
		return;
	}
	wamd_pace_shared_settle(k->d); /* once for the sends the other nodes counted */
	if (k->relay_due && !k->draining)
		move_relayed(k);
}
