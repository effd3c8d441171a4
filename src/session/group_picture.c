/* A group's picture: the iq to the server with the group as target (as
 * Baileys' updateProfilePicture and whatsmeow's SetGroupPhoto send it).
 * Members learn of a change by <notification type="picture"> (<set id
 * author> or <delete author>), reported as a "picture" group event. */
#include <string.h>

#include "session/groups.h"
#include "session/msg.h"
#include "session/msgstate.h"

int wa_group_build_picture(const char *group, const uint8_t *jpeg, size_t len, wa_node **out)
{
	wa_node *iq = NULL, *p = NULL;
	if (!group || !out || (len && !jpeg) || len > WA_GROUP_PICTURE_MAX)
		return WA_EINVAL;
	int rc = wa_node_new(&iq, "iq");
	if (rc == 0)
		rc = wa_node_set_attr(iq, "xmlns", "w:profile:picture");
	if (rc == 0)
		rc = wa_node_set_attr(iq, "type", "set");
	if (rc == 0)
		rc = wa_node_set_attr(iq, "to", "s.whatsapp.net");
	if (rc == 0)
		rc = wa_node_set_attr(iq, "target", group);
	if (rc == 0 && len)
		rc = wa_node_add_new(iq, "picture", &p);
	if (rc == 0 && len)
		rc = wa_node_set_attr(p, "type", "image");
	if (rc == 0 && len)
		rc = wa_node_set_bytes(p, jpeg, len);
	if (rc != 0) {
		wa_node_free(iq);
		return rc;
	}
	*out = iq;
	return 0;
}

int wa_group_set_picture(wa_session *s, const char *group, const uint8_t *jpeg, size_t len, wa_group_done_fn fn,
	void *user)
{
	char g[WA_STORE_JID_MAX];
	wa_node *iq = NULL;
	if (!s || !fn || !wa_group_jid_norm(group, g))
		return WA_EINVAL;
	return wa_group_simple(s, iq, wa_group_build_picture(g, jpeg, len, &iq), fn, user);
}

void wa_msg_group_picture_notification(wa_session *s, const wa_node *n)
{
	char gj[WA_STORE_JID_MAX], au[WA_STORE_JID_MAX];
	if (!wa_group_jid_norm(wa_node_attr(n, "from"), gj))
		return;
	const wa_node *set = wa_node_child(n, "set"), *del = wa_node_child(n, "delete");
	const wa_node *ch = set ? set : del;
	if (!ch)
		return;
	bool has_author = wa_msg_user_of(wa_node_attr(ch, "author"), au, NULL);
	wa_gmeta *m = NULL;
	wa_group_info info;
	bool have = wa_group_cached(s, gj, &m) == 0 && wa_gmeta_info(m, &info) == 0;
	wa_event ev = {.type = WA_EV_GROUP};
	ev.u.group.jid = gj;
	ev.u.group.action = "picture";
	ev.u.group.author = has_author ? au : NULL;
	ev.u.group.info = have ? &info : NULL;
	ev.u.group.value = set ? wa_node_attr(set, "id") : NULL;
	wa_session_emit(s, &ev);
	wa_gmeta_free(m);
}
