/* A request's answer: the JSON body and status a route (or the HTTP layer
 * itself, for a 413) hands over; wamd_http.c writes it out from its
 * writeable callback. Below both the HTTP layer and the routes, so the
 * routes answer without calling up into wamd_http.c. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wamd.h"

static const char *status_text(int s)
{
	switch (s) {
	case 200: return "OK";
	case 201: return "Created";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 411: return "Length Required";
	case 413: return "Payload Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Error";
	}
}

/* An answer given while the store's loop-turn group is open may report
 * rows that are not durable yet (a 201 for an outbox row): it is written
 * after the group commits, and replaced by a 500 if the group is lost. */
static void held_done(void *user, int rc)
{
	struct wamd *d = user;
	struct wamd_conn *c = d->held;
	d->held = NULL;
	d->held_armed = false;
	while (c) {
		struct wamd_conn *next = c->held_next;
		c->held_next = NULL;
		c->resp_held = false;
		if (rc != 0 && c->status < 400) {
			LOGE("store commit failed (%s): answering 500 for a request it held", wa_errname(rc));
			if (c->resp_file)
				close(c->resp_fd);
			free(c->resp);
			c->resp = NULL;
			c->resp_file = false;
			c->resp_ready = false;
			wamd_reply_error(c, 500, json_pack("[s]", "the store did not commit the request"));
		} else if (c->wsi) {
			lws_callback_on_writable(c->wsi);
		}
		c = next;
	}
}

/* the answer is ready: write it now, or after the turn's commit */
static void ready(struct wamd_conn *c)
{
	c->resp_ready = true;
	if (!c->wsi)
		return;
	struct wamd *d = c->d;
	if (!d || !wa_store_turn_pending(d->store)) {
		lws_callback_on_writable(c->wsi);
		return;
	}
	c->resp_held = true;
	c->held_next = d->held;
	d->held = c;
	if (!d->held_armed) {
		d->held_armed = true;
		wa_store_after_commit(d->store, held_done, d);
	}
}

void wamd_reply_unhold(struct wamd_conn *c)
{
	if (!c->resp_held || !c->d)
		return;
	for (struct wamd_conn **p = &c->d->held; *p; p = &(*p)->held_next) {
		if (*p == c) {
			*p = c->held_next;
			break;
		}
	}
	c->held_next = NULL;
	c->resp_held = false;
}

void wamd_reply_json(struct wamd_conn *c, int status, json_t *body)
{
	if (c->resp_ready) {
		json_decref(body);
		return;
	}
	c->status = status;
	c->resp = json_dumps(body ? body : json_null(), JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(body);
	c->resp_len = c->resp ? strlen(c->resp) : 0;
	c->resp_sent = 0;
	ready(c);
}

void wamd_reply_raw(struct wamd_conn *c, int status, const char *type, char *body, size_t len)
{
	if (c->resp_ready) {
		free(body);
		return;
	}
	c->status = status;
	c->resp_type = type;
	c->resp = body;
	c->resp_len = body ? len : 0;
	c->resp_sent = 0;
	ready(c);
}

void wamd_reply_file(struct wamd_conn *c, int status, int fd, uint64_t off, uint64_t len, const char *ctype,
		     const char *content_range)
{
	if (c->resp_ready) {
		close(fd);
		return;
	}
	c->status = status;
	c->resp_file = true;
	c->resp_fd = fd;
	c->resp_off = off;
	c->resp_len = (size_t)len;
	c->resp_sent = 0;
	snprintf(c->resp_ctype, sizeof c->resp_ctype, "%s", ctype ? ctype : "application/octet-stream");
	snprintf(c->resp_range, sizeof c->resp_range, "%s", content_range ? content_range : "");
	ready(c);
}

void wamd_reply_error(struct wamd_conn *c, int status, json_t *message)
{
	wamd_reply_json(c, status,
			json_pack("{s:i, s:s, s:{s:o}}", "status", status, "error", status_text(status), "response",
				  "message", message ? message : json_array()));
}
