/* Profile reads: a contact's (or our own) profile picture URL, asked with
 * <iq xmlns="w:profile:picture" type="get" target><picture type query="url"/>
 * (as Baileys' profilePictureUrl, without the privacy token it attaches
 * when the server's props ask for one). The server answers 404
 * item-not-found when none is set and 401 when the owner hides it. */
#include <stdlib.h>
#include <string.h>

#include "session/iq.h"
#include "session/msgstate.h"

struct pic_ctx {
	wa_picture_fn done;
	void *user;
};

static void on_picture(wa_session *s, int err, const wa_node *resp, void *user)
{
	struct pic_ctx *c = user;
	const char *url = NULL;
	int rc = err;
	if (err == 0) {
		const wa_node *p = resp ? wa_node_child(resp, "picture") : NULL;
		url = p ? wa_node_attr(p, "url") : NULL;
		rc = url ? 0 : WA_ENOTFOUND;
	} else if (err == WA_EPROTO) {
		const wa_node *e = resp ? wa_node_child(resp, "error") : NULL;
		const char *code = e ? wa_node_attr(e, "code") : NULL;
		if (code && (strcmp(code, "404") == 0 || strcmp(code, "401") == 0))
			rc = WA_ENOTFOUND;
	}
	c->done(s, rc, url, c->user);
	free(c);
}

int wa_session_profile_picture_url(wa_session *s, const char *jid, bool preview, wa_picture_fn done, void *user)
{
	wa_jid j;
	if (!s || !jid || !done || wa_jid_parse(&j, jid) != 0)
		return WA_EINVAL;
	if (!ready(s))
		return WA_ESTATE;
	struct pic_ctx *c = calloc(1, sizeof *c);
	if (!c)
		return WA_ENOMEM;
	c->done = done;
	c->user = user;
	wa_node *iq = NULL, *p = NULL;
	int rc = wa_node_new(&iq, "iq");
	rc = rc ? rc : wa_node_set_attr(iq, "to", "s.whatsapp.net");
	rc = rc ? rc : wa_node_set_attr(iq, "target", jid);
	rc = rc ? rc : wa_node_set_attr(iq, "type", "get");
	rc = rc ? rc : wa_node_set_attr(iq, "xmlns", "w:profile:picture");
	rc = rc ? rc : wa_node_add_new(iq, "picture", &p);
	rc = rc ? rc : wa_node_set_attr(p, "type", preview ? "preview" : "image");
	rc = rc ? rc : wa_node_set_attr(p, "query", "url");
	if (rc == 0)
		rc = wa_iq_send(s, iq, 0, on_picture, c);
	wa_node_free(iq);
	if (rc != 0)
		free(c);
	return rc;
}
