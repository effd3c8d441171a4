/* Evolution's mention fields of a send (sendText, and sendMedia's caption):
 * `mentioned` (numbers or JIDs) and, in a group, `mentionsEveryOne`
 * (every member the group cache knows), as contextInfo.mentionedJid. In
 * cluster mode a send for another node's instance leaves mentionsEveryOne
 * to that node, which has the group cache (wamd_cluster_relay.c). */
#include <stdlib.h>
#include <string.h>

#include "wamd_routes.h"

bool wamd_mentions_of(struct wamd_conn *c, struct wamd_tenant *t, json_t *body, const char *jid,
		      char (**out)[WA_STORE_JID_MAX], size_t *n_out)
{
	*out = NULL;
	*n_out = 0;
	json_t *ment = json_object_get(body, "mentioned");
	size_t nm = json_is_array(ment) ? json_array_size(ment) : 0;
	char (*every)[WA_STORE_JID_MAX] = NULL;
	size_t ne = 0;
	if (!t->peeked && json_is_true(json_object_get(body, "mentionsEveryOne")) && strstr(jid, "@g.us")) {
		int grc = wamd_tenant_group_members(t, jid, &every, &ne);
		if (grc != 0)
			LOGW("instance %s: mentionsEveryOne: members of %s unknown (%s)", t->name, jid, wa_errname(grc));
	}
	if (nm + ne == 0)
		return true;
	char (*mj)[WA_STORE_JID_MAX] = calloc(nm + ne, sizeof *mj);
	if (!mj) {
		free(every);
		wamd_reply_error(c, 500, json_string("out of memory"));
		return false;
	}
	for (size_t i = 0; i < ne; i++)
		memcpy(mj[nm + i], every[i], sizeof *mj);
	free(every);
	for (size_t i = 0; i < nm; i++) {
		const char *v = json_string_value(json_array_get(ment, i));
		if (!v || wamd_normalize_number(v, mj[i], sizeof mj[i]) != 0) {
			free(mj);
			bad_request(c, "mentioned must be a list of numbers");
			return false;
		}
	}
	*out = mj;
	*n_out = nm + ne;
	return true;
}

bool wamd_mentions_everyone_later(const struct wamd_tenant *t, json_t *body, const char *jid)
{
	return t->peeked && json_is_true(json_object_get(body, "mentionsEveryOne")) && strstr(jid, "@g.us");
}

int wamd_mentions_everyone_add(struct wamd_tenant *t, json_t *p, const char *jid)
{
	if (!json_is_true(json_object_get(p, "everyOne")))
		return 0;
	json_object_del(p, "everyOne");
	char (*every)[WA_STORE_JID_MAX] = NULL;
	size_t ne = 0;
	int rc = wamd_tenant_group_members(t, jid, &every, &ne);
	if (rc != 0) {
		/* as a local send whose group is not cached: without them */
		LOGW("instance %s: mentionsEveryOne: members of %s unknown (%s)", t->name, jid, wa_errname(rc));
		return 0;
	}
	json_t *m = json_object_get(p, "mentions");
	if (!json_is_array(m)) {
		m = json_array();
		json_object_set_new(p, "mentions", m);
	}
	/* the route's order: the group's members after the named ones */
	for (size_t i = 0; m && i < ne; i++)
		json_array_append_new(m, json_string(every[i]));
	free(every);
	return m ? 0 : WA_ENOMEM;
}
