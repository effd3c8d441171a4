/* The group metadata cache: the server's <group> node as the store keeps
 * it (binary-encoded body), read back as wa_gmeta for sends and routes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binary/decode.h"
#include "binary/encode.h"
#include "session/groups.h"
#include "session/msgstate.h"
#include "store/store.h"

int wa_group_cached(wa_session *s, const char *group, wa_gmeta **out)
{
	uint8_t *b = NULL;
	size_t l = 0;
	wa_node *n = NULL;
	int rc = wa_store_gmeta_get(s->store, s->instance_id, group, &b, &l);
	if (rc == 0)
		rc = wa_bin_decode_body(b, l, &n);
	free(b);
	if (rc == 0)
		rc = wa_gmeta_parse(n, out);
	wa_node_free(n);
	return rc;
}

int wa_group_cached_members(wa_session *s, const char *group, char (**jids)[WA_STORE_JID_MAX], size_t *n)
{
	char g[WA_STORE_JID_MAX];
	if (!s || !jids || !n || !group || !wa_group_jid_norm(group, g))
		return WA_EINVAL;
	*jids = NULL;
	*n = 0;
	wa_gmeta *m = NULL;
	int rc = wa_group_cached(s, g, &m);
	if (rc != 0)
		return rc;
	char (*out)[WA_STORE_JID_MAX] = calloc(m->n ? m->n : 1, sizeof *out);
	if (!out) {
		wa_gmeta_free(m);
		return WA_ENOMEM;
	}
	size_t k = 0;
	bool lid = strcmp(m->mode, "lid") == 0;
	for (size_t i = 0; i < m->n; i++) {
		/* as the group names them (Baileys' participant ids): LIDs in a
		 * LID group, else the phone number when known */
		const char *j = lid && m->p[i].lid[0] ? m->p[i].lid : m->p[i].jid[0] ? m->p[i].jid : m->p[i].lid;
		if (j[0])
			snprintf(out[k++], sizeof *out, "%s", j);
	}
	wa_gmeta_free(m);
	*jids = out;
	*n = k;
	return 0;
}

int wa_group_cached_ephemeral(wa_session *s, const char *group, uint32_t *seconds)
{
	char g[WA_STORE_JID_MAX];
	if (!s || !seconds || !group || !wa_group_jid_norm(group, g))
		return WA_EINVAL;
	*seconds = 0;
	if (wa_gstate_ephemeral(s, g, seconds))
		return 0;
	wa_gmeta *m = NULL;
	int rc = wa_group_cached(s, g, &m);
	if (rc == 0)
		*seconds = m->ephemeral;
	wa_gmeta_free(m);
	return rc;
}

int wa_group_cache_put(wa_session *s, const wa_node *group)
{
	wa_gmeta *g = NULL;
	uint8_t *b = NULL;
	size_t l = 0;
	int rc = wa_gmeta_parse(group, &g);
	if (rc == 0)
		rc = wa_bin_encode(group, &b, &l);
	/* wa_bin_encode frames with a leading flags byte; the body follows */
	if (rc == 0)
		rc = wa_store_gmeta_put(s->store, s->instance_id, g->jid, b + 1, l - 1);
	if (g)
		wa_gstate_drop(s, g->jid); /* members, mode or timer may have changed */
	free(b);
	wa_gmeta_free(g);
	return rc;
}

void wa_group_cache_drop(wa_session *s, const char *group)
{
	wa_gstate_drop(s, group);
	ign(wa_store_gmeta_delete(s->store, s->instance_id, group));
}
