/* A group's picture: the iq to the server with the group as target (as
 * Baileys' updateProfilePicture and whatsmeow's SetGroupPhoto send it).
 * Members learn of a change by <notification type="picture">, which this
 * library does not report yet. */
#include "session/groups.h"

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
