/* wasim: the small post-login iqs both clients send (messaging.md §11):
 * A/B props, media_conn (app state is sim_appstate.c; blocklist and
 * privacy settings and tokens sim_profile.c), and the
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
	rc = rc ? rc : sim_iq_register(sim, "w:m", NULL, iq_media_conn, NULL);
	rc = rc ? rc : sim_handler_register(sim, "ib", handle_ib, NULL);
	return rc ? rc : sim_profile_init(sim); /* sim_profile.c */
}
