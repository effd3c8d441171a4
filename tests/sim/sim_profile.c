/* wasim: the profile iqs clients send after login, with the answers the
 * real server gives an account that set nothing (whatsmeow and Baileys read
 * them so): profile picture (404 item-not-found: none set; setting one is
 * not simulated; a group's is sim_groups.c's), status privacy (contacts, the default), business profile
 * (none: not a business account), contact QR link (a stable code per
 * account, a new one on revoke) and push config (accepted). */
#include "sim_msg.h"

#include <stdio.h>
#include <string.h>

#include "util/seams.h"

static int iq_picture(struct sim *sim, struct sim_conn *c, const wa_node *iq, void *user)
{
	(void)user;
	int rc = sim_groups_picture_iq(sim, c, iq);
	if (rc != 1)
		return rc;
	const char *type = wa_node_attr(iq, "type");
	if (type && strcmp(type, "get") == 0)
		return sim_iq_error(c, iq, 404, "item-not-found");
	return sim_iq_error(c, iq, 501, "feature-not-implemented");
}

/* xmlns="status": get <privacy/> (whatsmeow's GetStatusPrivacy); set
 * <status>text</status> (the "about" text: accepted) */
static int iq_status(struct sim *sim, struct sim_conn *c, const wa_node *iq, void *user)
{
	(void)sim;
	(void)user;
	const char *type = wa_node_attr(iq, "type");
	if (type && strcmp(type, "set") == 0)
		return sim_iq_result(c, iq, NULL);
	if (!wa_node_child(iq, "privacy"))
		return sim_iq_error(c, iq, 400, "bad-request");
	wa_node *p = sim_node_add(sim_node("privacy", NULL),
		sim_node("list", "type", "contacts", "default", "true", NULL));
	return p ? sim_iq_result(c, iq, p) : sim_iq_error(c, iq, 500, "internal-error");
}

/* <business_profile v><profile jid/>...: no profile child (not a business) */
static int iq_biz(struct sim *sim, struct sim_conn *c, const wa_node *iq, void *user)
{
	(void)sim;
	(void)user;
	const wa_node *bp = wa_node_child(iq, "business_profile");
	if (!bp)
		return sim_iq_error(c, iq, 501, "feature-not-implemented");
	const char *v = wa_node_attr(bp, "v");
	wa_node *out = sim_node("business_profile", "v", v ? v : "244", NULL);
	return out ? sim_iq_result(c, iq, out) : sim_iq_error(c, iq, 500, "internal-error");
}

/* <qr type="contact" action="get|revoke"/> -> <qr type="contact" code/>: the
 * code derives from the account and a revoke counter */
static unsigned qr_revokes;

static int iq_qr(struct sim *sim, struct sim_conn *c, const wa_node *iq, void *user)
{
	(void)sim;
	(void)user;
	const wa_node *q = wa_node_child(iq, "qr");
	struct sim_device *d = sim_conn_device(c);
	const char *action = q ? wa_node_attr(q, "action") : NULL;
	const char *qt = q ? wa_node_attr(q, "type") : NULL;
	if (!d || !q || !qt || strcmp(qt, "contact") != 0)
		return sim_iq_error(c, iq, 400, "bad-request");
	if (action && strcmp(action, "revoke") == 0)
		qr_revokes++;
	char code[40];
	snprintf(code, sizeof code, "WASIM%sR%u", d->acct->phone, qr_revokes);
	wa_node *out = sim_node("qr", "type", "contact", "code", code, NULL);
	return out ? sim_iq_result(c, iq, out) : sim_iq_error(c, iq, 500, "internal-error");
}

static int iq_push(struct sim *sim, struct sim_conn *c, const wa_node *iq, void *user)
{
	(void)sim;
	(void)user;
	return sim_iq_result(c, iq, NULL);
}

int sim_profile_init(struct sim *sim)
{
	int rc = sim_iq_register(sim, "w:profile:picture", NULL, iq_picture, NULL);
	rc = rc ? rc : sim_iq_register(sim, "status", NULL, iq_status, NULL);
	rc = rc ? rc : sim_iq_register(sim, "w:biz", NULL, iq_biz, NULL);
	rc = rc ? rc : sim_iq_register(sim, "w:qr", NULL, iq_qr, NULL);
	return rc ? rc : sim_iq_register(sim, "urn:xmpp:whatsapp:push", NULL, iq_push, NULL);
}
