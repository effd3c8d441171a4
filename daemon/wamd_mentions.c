/* Evolution's mention fields of a send (sendText, and sendMedia's caption):
 * `mentioned` (numbers or JIDs) and, in a group, `mentionsEveryOne`
 * (every member the group cache knows), as contextInfo.mentionedJid. */
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
	if (json_is_true(json_object_get(body, "mentionsEveryOne")) && strstr(jid, "@g.us")) {
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
