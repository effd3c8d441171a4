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
	c->resp_ready = true;
	if (c->wsi)
		lws_callback_on_writable(c->wsi);
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
	c->resp_ready = true;
	if (c->wsi)
		lws_callback_on_writable(c->wsi);
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
	c->resp_ready = true;
	if (c->wsi)
		lws_callback_on_writable(c->wsi);
}

void wamd_reply_error(struct wamd_conn *c, int status, json_t *message)
{
	wamd_reply_json(c, status,
			json_pack("{s:i, s:s, s:{s:o}}", "status", status, "error", status_text(status), "response",
				  "message", message ? message : json_array()));
}
