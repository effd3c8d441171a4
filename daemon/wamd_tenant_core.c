/* Tenants: the in-memory registry of instances and their persisted
 * metadata document (load, create, save, tokens, remove). What the
 * engine's events do to a tenant is in wamd_events_<family>.c; the engine
 * itself is reached only through wamd_engine.c. */
#include <stdlib.h>
#include <string.h>

#include "wamd.h"
#include "wamd_cluster.h"
#include "wamd_events.h"

static char *dupn(const char *s)
{
	return s ? strdup(s) : NULL;
}

void wamd_tenant_set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = dupn(v);
}

struct wamd_tenant *wamd_tenant_find(struct wamd *d, const char *name)
{
	for (struct wamd_tenant *t = d->tenants; t; t = t->next)
		if (!t->removed && !strcmp(t->name, name))
			return t;
	return NULL;
}

static bool unhex(const char *hx, uint8_t *out, size_t n)
{
	if (!hx || strlen(hx) != 2 * n)
		return false;
	for (size_t j = 0; j < n; j++) {
		unsigned b;
		if (sscanf(hx + 2 * j, "%2x", &b) != 1)
			return false;
		out[j] = (uint8_t)b;
	}
	return true;
}

/* Sized to the stored tokens (most instances have one or none): a fixed
 * array of WAMD_TOKEN_MAX was 1 KiB of every idle instance. Out of memory
 * leaves no token usable (refused, never a wrong match). */
void wamd_tenant_reload_tokens(struct wamd_tenant *t)
{
	t->n_tokens = 0;
	json_t *arr = json_object_get(t->doc, "tokens");
	size_t want = json_array_size(arr) < WAMD_TOKEN_MAX ? json_array_size(arr) : WAMD_TOKEN_MAX;
	free(t->tokens);
	t->tokens = want ? malloc(want * sizeof *t->tokens) : NULL;
	if (!t->tokens)
		return;
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		if (t->n_tokens >= want)
			break;
		struct wamd_token *k = &t->tokens[t->n_tokens];
		if (!unhex(json_string_value(json_object_get(v, "sha256")), k->sha256, 32))
			continue;
		/* rows stored before salts have none: plain SHA-256 */
		json_t *salt = json_object_get(v, "salt");
		k->salt_len = 0;
		if (salt) {
			if (!unhex(json_string_value(salt), k->salt, WAMD_TOKEN_SALT))
				continue;
			k->salt_len = WAMD_TOKEN_SALT;
		}
		k->scopes = wamd_scopes_parse(json_object_get(v, "scopes"));
		if (k->scopes)
			t->n_tokens++;
	}
}

int wamd_tenant_save(struct wamd_tenant *t)
{
	char ts[32];
	wamd_iso_time(wamd_now_ms(), ts);
	json_object_set_new(t->doc, "updatedAt", json_string(ts));
	char *s = json_dumps(t->doc, JSON_COMPACT);
	if (!s)
		return WA_ENOMEM;
	int rc = wa_store_meta_put(t->d->store, t->id, s, strlen(s));
	explicit_bzero(s, strlen(s));
	free(s);
	if (rc != 0)
		LOGE("instance %s: saving metadata failed: %s", t->name, wa_errname(rc));
	return rc;
}

/* appends at *tail (the list's end: load_all passes it along so loading N
 * instances does not walk the list N times), or at the end found by a walk */
static struct wamd_tenant *tenant_alloc(struct wamd *d, int64_t id, const char *name, json_t *doc,
					struct wamd_tenant ***tail)
{
	size_t nl = strnlen(name, WA_STORE_NAME_MAX - 1);
	struct wamd_tenant *t = calloc(1, sizeof *t + nl + 1);
	if (!t)
		return NULL;
	t->d = d;
	t->id = id;
	memcpy(t->name, name, nl);
	t->doc = doc;
	t->state = WA_CONN_DISCONNECTED;
	for (int i = 0; i < WAMD_TARGETS; i++) {
		t->lanes[i].t = t;
		t->lanes[i].target = i;
	}
	const char *oj = json_string_value(json_object_get(doc, "ownerJid"));
	t->own_jid = dupn(oj);
	t->profile_name = dupn(json_string_value(json_object_get(doc, "profileName")));
	wamd_tenant_reload_tokens(t);
	/* append: keeps list order = creation order */
	struct wamd_tenant **pp = tail ? *tail : &d->tenants;
	while (*pp)
		pp = &(*pp)->next;
	*pp = t;
	if (tail)
		*tail = &t->next;
	return t;
}

/* Loads the stored instances want() accepts (NULL: all), each appended
 * and passed to loaded() (NULL: none). */
static int load_some(struct wamd *d, bool (*want)(void *arg, int64_t id),
		     void (*loaded)(void *arg, struct wamd_tenant *t), void *arg)
{
	wa_store_instance_info *list = NULL;
	size_t n = 0;
	int rc = wa_store_instance_list(d->store, &list, &n);
	if (rc != 0)
		return rc;
	struct wamd_tenant **tail = &d->tenants;
	for (size_t i = 0; i < n; i++) {
		if (want && !want(arg, list[i].id))
			continue;
		char *doc = NULL;
		size_t len = 0;
		json_t *j = NULL;
		rc = wa_store_meta_get(d->store, list[i].id, &doc, &len);
		if (rc == 0) {
			j = json_loadb(doc, len, 0, NULL);
			wa_store_free(doc, len);
		}
		if (!j || !json_is_object(j)) {
			/* an instance created by another tool: give it a document */
			json_decref(j);
			j = json_object();
			char u[37];
			if (wamd_random_uuid(u) == 0)
				json_object_set_new(j, "id", json_string(u));
			json_object_set_new(j, "integration", json_string("WHATSAPP-BAILEYS"));
			json_object_set_new(j, "tokens", json_array());
		}
		struct wamd_tenant *t = tenant_alloc(d, list[i].id, list[i].name, j, &tail);
		if (!t) {
			json_decref(j);
			free(list);
			return WA_ENOMEM;
		}
		if (loaded)
			loaded(arg, t);
	}
	free(list);
	return 0;
}

int wamd_tenant_load_all(struct wamd *d)
{
	return load_some(d, NULL, NULL, NULL);
}

int wamd_tenant_load_some(struct wamd *d, bool (*want)(void *arg, int64_t id),
			  void (*loaded)(void *arg, struct wamd_tenant *t), void *arg)
{
	return load_some(d, want, loaded, arg);
}

int wamd_tenant_create(struct wamd *d, const char *name, json_t *doc, struct wamd_tenant **out)
{
	int64_t id;
	int rc = wa_store_begin(d->store);
	if (rc != 0)
		return rc;
	rc = wa_store_instance_create(d->store, name, &id);
	int64_t epoch = 0;
	if (rc == 0 && d->cluster_claim)
		rc = d->cluster_claim(d, id, &epoch); /* cluster: the creating node owns it */
	if (rc == 0) {
		char *s = json_dumps(doc, JSON_COMPACT);
		rc = s ? wa_store_meta_put(d->store, id, s, strlen(s)) : WA_ENOMEM;
		if (s) {
			explicit_bzero(s, strlen(s));
			free(s);
		}
	}
	if (rc != 0) {
		wa_store_rollback(d->store);
		return rc;
	}
	rc = wa_store_commit(d->store);
	if (rc != 0)
		return rc;
	struct wamd_tenant *t = tenant_alloc(d, id, name, json_incref(doc), NULL);
	if (!t) {
		json_decref(doc);
		return WA_ENOMEM;
	}
	t->lease_epoch = epoch;
	*out = t;
	return 0;
}

static void tenant_free(struct wamd_tenant *t)
{
	/* its events that wait for the loop turn's commit go out first */
	if (wa_store_turn_pending(t->d->store))
		(void)wa_store_turn_flush(t->d->store);
	for (int i = 0; i < WAMD_TARGETS; i++)
		wamd_webhook_lane_cancel(&t->lanes[i]);
	json_decref(t->doc);
	free(t->tokens);
	free(t->qr);
	free(t->pairing_code);
	free(t->own_jid);
	free(t->own_lid);
	free(t->profile_name);
	free(t->pending_phone);
	free(t->conn_error);
	lws_sul_cancel(&t->qr_limit_sul);
	wamd_lat_tenant_free(t);
	if (t->d->pace_tenant_gone)
		t->d->pace_tenant_gone(t);
	free(t);
}

/* Takes a stopped tenant out of the list and frees it; its streams and
 * waiters are told why. */
static void tenant_unlink(struct wamd_tenant *t, const char *why)
{
	struct wamd *d = t->d;
	for (struct wamd_tenant **pp = &d->tenants; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	t->removed = true;
	wamd_stream_recheck(t, true, why);
	wamd_waiters_changed(t);
	tenant_free(t);
}

void wamd_tenant_remove(struct wamd_tenant *t)
{
	struct wamd *d = t->d;
	wamd_tenant_stop(t);
	if (d->boot_next == t) /* start-up walks the list (wamd_boot.c) */
		d->boot_next = t->next;
	int rc = wa_store_instance_delete(d->store, t->id);
	if (rc != 0)
		LOGE("instance %s: delete from store failed: %s", t->name, wa_errname(rc));
	tenant_unlink(t, "instance deleted");
}

void wamd_tenant_detach(struct wamd_tenant *t)
{
	struct wamd *d = t->d;
	wamd_tenant_stop(t);
	t->boot_pending = false;
	if (d->boot_next == t)
		d->boot_next = t->next;
	tenant_unlink(t, "instance moved to another cluster node");
}

struct wamd_tenant *wamd_tenant_peek(struct wamd *d, int64_t id, const char *name)
{
	char *raw = NULL;
	size_t len = 0;
	json_t *doc = NULL;
	if (wa_store_meta_get(d->store, id, &raw, &len) == 0) {
		doc = json_loadb(raw, len, 0, NULL);
		wa_store_free(raw, len);
	}
	if (!json_is_object(doc)) {
		json_decref(doc);
		doc = json_object();
	}
	/* on a list of its own: never in d->tenants */
	struct wamd_tenant *alone = NULL, **tail = &alone;
	struct wamd_tenant *t = doc ? tenant_alloc(d, id, name, doc, &tail) : NULL;
	if (!t)
		json_decref(doc);
	else
		t->peeked = true;
	return t;
}

void wamd_tenant_peek_free(struct wamd_tenant *t)
{
	if (t)
		tenant_free(t);
}

void wamd_tenants_free(struct wamd *d)
{
	while (d->tenants) {
		struct wamd_tenant *t = d->tenants;
		d->tenants = t->next;
		wamd_tenant_stop(t);
		tenant_free(t);
	}
}

const char *wamd_tenant_state_str(const struct wamd_tenant *t)
{
	switch (t->state) {
	case WA_CONN_READY:
		return "open";
	case WA_CONN_WAITING:
	case WA_CONN_CONNECTING:
	case WA_CONN_HANDSHAKING:
	case WA_CONN_PAIRING:
	case WA_CONN_AUTHENTICATING:
		return "connecting";
	default:
		return t->boot_pending ? "connecting" : "close";
	}
}

const char *wamd_instance_uuid(struct wamd_tenant *t)
{
	const char *u = json_string_value(json_object_get(t->doc, "id"));
	return u ? u : "";
}
