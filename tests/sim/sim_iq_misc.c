/* wasim: the small post-login iqs both clients send (messaging.md §11):
 * A/B props, blocklist, privacy settings and tokens, media_conn (app
 * state is sim_appstate.c), and the
 * <ib> stanzas clients send (unified_session, offline_batch...), which
 * need no answer. */
#include "sim_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simcore.h" /* the media (TLS) port for media_conn hosts */

static int iq_abt(struct sim *sim, struct sim_conn *c, const wa_node *iq, void *user)
{
	(void)sim;
	(void)user;
	return sim_iq_result(c, iq, sim_node("props", "protocol", "1", "hash", "wasim-1", NULL));
}

static int iq_blocklist(struct sim *sim, struct sim_conn *c, const wa_node *iq, void *user)
{
	(void)sim;
	(void)user;
	const char *type = wa_node_attr(iq, "type");
	if (type && strcmp(type, "set") == 0)
		return sim_iq_result(c, iq, NULL);
	wa_node *l = sim_node("list", NULL);
	if (l)
		wa_node_set_list(l);
	return sim_iq_result(c, iq, l);
}

/* Baileys picks read vs read-self from readreceipts. */
static int iq_privacy(struct sim *sim, struct sim_conn *c, const wa_node *iq, void *user)
{
	static const char *const cats[][2] = {
		{ "readreceipts", "all" }, { "last", "all" }, { "online", "all" }, { "profile", "all" },
		{ "status", "all" }, { "groupadd", "all" }, { "calladd", "all" }, { "messages", "all" },
	};
	const char *type = wa_node_attr(iq, "type");
	(void)sim;
	(void)user;
	if (type && strcmp(type, "set") == 0 && wa_node_child(iq, "tokens"))
		return sim_tctoken_issue(sim, c, iq);
	if (type && strcmp(type, "set") == 0)
		return sim_iq_result(c, iq, NULL); /* category changes: accepted */
	wa_node *p = sim_node("privacy", NULL);
	for (size_t i = 0; p && i < sizeof(cats) / sizeof(cats[0]); i++)
		p = sim_node_add(p, sim_node("category", "name", cats[i][0], "value", cats[i][1], NULL));
	if (!p)
		return sim_iq_error(c, iq, 500, "internal-error");
	return sim_iq_result(c, iq, p);
}

static int iq_media_conn(struct sim *sim, struct sim_conn *c, const wa_node *iq, void *user)
{
	char host[64];
	(void)user;
	/* clients always use https: without --tls-port the plain port is the
	 * best we can name (media then fails, as it would) */
	int port = sim_core(sim)->tls_port > 0 ? sim_core(sim)->tls_port : sim_core(sim)->port;
	snprintf(host, sizeof(host), "127.0.0.1:%d", port);
	wa_node *mc = sim_node("media_conn", "auth", "wasim-media-auth", "ttl", "300", "auth_ttl", "21600",
		"max_buckets", "12", NULL);
	mc = sim_node_add(mc, sim_node("host", "hostname", host, "maxContentLengthBytes", "104857600", NULL));
	if (!mc)
		return sim_iq_error(c, iq, 500, "internal-error");
	return sim_iq_result(c, iq, mc);
}

/* <ib><offline_batch count>: the next part of a batched backlog
 * (SIM_REAL_OFFLINE); every other <ib> needs no answer */
static int handle_ib(struct sim *sim, struct sim_conn *c, const wa_node *n, void *user)
{
	const wa_node *b = wa_node_child(n, "offline_batch");
	const char *cnt = b ? wa_node_attr(b, "count") : NULL;
	long v = cnt ? strtol(cnt, NULL, 10) : 0;
	(void)user;
	if (v > 0 && v <= SIM_QUEUE_MAX)
		sim_msg_offline_batch(sim, c, (unsigned)v);
	return 0;
}

int sim_iq_misc_init(struct sim *sim)
{
	int rc = 0;
	rc = rc ? rc : sim_iq_register(sim, "abt", NULL, iq_abt, NULL);
	rc = rc ? rc : sim_iq_register(sim, "blocklist", NULL, iq_blocklist, NULL);
	rc = rc ? rc : sim_iq_register(sim, "privacy", NULL, iq_privacy, NULL);
	rc = rc ? rc : sim_iq_register(sim, "w:m", NULL, iq_media_conn, NULL);
	rc = rc ? rc : sim_handler_register(sim, "ib", handle_ib, NULL);
	return rc ? rc : sim_profile_init(sim); /* sim_profile.c */
}
