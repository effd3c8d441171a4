/* Evolution's profile reads: chat/fetchProfilePictureUrl ({"number"} ->
 * {"wuid", "profilePictureUrl"}, null when none is set, hidden or the
 * server did not say, as Evolution answers). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wamd_routes.h"

struct pticket {
	struct wamd_ticket tk; /* first: the HTTP layer clears tk.c when the client goes */
	char jid[WA_STORE_JID_MAX];
	void (*then)(void *ctx, int err, const char *url); /* wamd_picture_fetch's */
	void *ctx;
};

void wamd_picture_done(void *ticket, int err, const char *url)
{
	struct pticket *p = ticket;
	struct wamd_conn *c = p->tk.c;
	if (p->then)
		p->then(p->ctx, err, url);
	else if (c) {
		c->ticket = NULL;
		wamd_reply_json(c, 200, json_pack("{s:s,s:o}", "wuid", p->jid, "profilePictureUrl",
			err == 0 && url ? json_string(url) : json_null()));
	}
	free(p);
}

int wamd_picture_fetch(struct wamd_tenant *t, const char *jid, void (*then)(void *ctx, int err, const char *url),
	void *ctx)
{
	struct pticket *p = calloc(1, sizeof *p);
	if (!p)
		return WA_ENOMEM;
	snprintf(p->jid, sizeof p->jid, "%s", jid);
	p->then = then;
	p->ctx = ctx;
	int rc = wamd_tenant_profile_picture(t, p->jid, p);
	if (rc != 0)
		free(p);
	return rc;
}

void wamd_h_fetch_profile_picture(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	const char *number = jstr(body, "number");
	if (!number) {
		bad_request(c, "instance requires property \"number\"");
		return;
	}
	struct pticket *p = calloc(1, sizeof *p);
	if (!p) {
		wamd_reply_error(c, 500, json_string("out of memory"));
		return;
	}
	if (wamd_normalize_number(number, p->jid, sizeof p->jid) != 0) {
		free(p);
		bad_request(c, "invalid number");
		return;
	}
	p->tk.c = c;
	c->ticket = &p->tk;
	int rc = wamd_tenant_profile_picture(t, p->jid, p);
	if (rc != 0) {
		c->ticket = NULL;
		free(p);
		if (rc == WA_ESTATE)
			wamd_reply_error(c, 500, json_pack("[s]", "Connection Closed"));
		else
			wamd_reply_error(c, 400, json_pack("[s]", wa_strerror(rc)));
	}
}
