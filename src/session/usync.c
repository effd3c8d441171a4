/* usync queries (messaging.md §1): the device list of users (with their
 * LIDs) before a send, and the contact lookup behind
 * wa_session_check_numbers. Builders give the iq; the parser reads the
 * result the way Baileys does (a non-zero device without a numeric
 * key-index >= 1 is dropped, as Baileys' extractDeviceJids drops it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session/msg.h"

static int add(wa_node *parent, const char *tag, wa_node **out)
{
	return wa_node_add_new(parent, tag, out);
}

static int usync_iq(const char *iq_id, const char *sid, const char *context, wa_node **iq_out,
	wa_node **query_out, wa_node **list_out)
{
	wa_node *iq = NULL, *us, *q, *l;
	int rc = wa_node_new(&iq, "iq");
	if (rc == 0)
		rc = wa_node_set_attr(iq, "id", iq_id);
	if (rc == 0)
		rc = wa_node_set_attr(iq, "to", "s.whatsapp.net");
	if (rc == 0)
		rc = wa_node_set_attr(iq, "type", "get");
	if (rc == 0)
		rc = wa_node_set_attr(iq, "xmlns", "usync");
	if (rc == 0)
		rc = add(iq, "usync", &us);
	if (rc == 0)
		rc = wa_node_set_attr(us, "context", context);
	if (rc == 0)
		rc = wa_node_set_attr(us, "mode", "query");
	if (rc == 0)
		rc = wa_node_set_attr(us, "sid", sid);
	if (rc == 0)
		rc = wa_node_set_attr(us, "last", "true");
	if (rc == 0)
		rc = wa_node_set_attr(us, "index", "0");
	if (rc == 0)
		rc = add(us, "query", &q);
	if (rc == 0)
		rc = add(us, "list", &l);
	if (rc != 0) {
		wa_node_free(iq);
		return rc;
	}
	*iq_out = iq;
	*query_out = q;
	*list_out = l;
	return 0;
}

int wa_usync_build_devices(const char *iq_id, const char *sid, const char *const *users, size_t n,
	wa_node **out)
{
	if (!iq_id || !sid || !users || n == 0 || !out)
		return WA_EINVAL;
	wa_node *iq, *q, *l, *c;
	int rc = usync_iq(iq_id, sid, "message", &iq, &q, &l);
	if (rc != 0)
		return rc;
	rc = add(q, "devices", &c);
	if (rc == 0)
		rc = wa_node_set_attr(c, "version", "2");
	if (rc == 0)
		rc = add(q, "lid", &c);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = add(l, "user", &c);
		if (rc == 0)
			rc = wa_node_set_attr(c, "jid", users[i]);
	}
	if (rc != 0) {
		wa_node_free(iq);
		return rc;
	}
	*out = iq;
	return 0;
}

int wa_usync_build_contacts(const char *iq_id, const char *sid, const char *const *phones, size_t n,
	wa_node **out)
{
	if (!iq_id || !sid || !phones || n == 0 || !out)
		return WA_EINVAL;
	wa_node *iq, *q, *l, *c, *u;
	int rc = usync_iq(iq_id, sid, "interactive", &iq, &q, &l);
	if (rc != 0)
		return rc;
	rc = add(q, "contact", &c);
	if (rc == 0)
		rc = add(q, "lid", &c);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		/* "+55 (11) 99999-0000", "5511999990000", "5511999990000@s.whatsapp.net" */
		char num[40];
		size_t dl = 0, plen = strcspn(phones[i], "@:");
		num[dl++] = '+';
		for (size_t k = 0; k < plen && rc == 0; k++) {
			char ch = phones[i][k];
			if (ch >= '0' && ch <= '9') {
				if (dl + 1 >= sizeof num)
					rc = WA_EINVAL;
				else
					num[dl++] = ch;
			} else if (!strchr("+ -()", ch)) {
				rc = WA_EINVAL;
			}
		}
		num[dl] = '\0';
		if (rc == 0 && dl < 2)
			rc = WA_EINVAL;
		if (rc != 0)
			break;
		rc = add(l, "user", &u);
		if (rc == 0)
			rc = add(u, "contact", &c);
		if (rc == 0)
			rc = wa_node_set_string(c, num);
	}
	if (rc != 0) {
		wa_node_free(iq);
		return rc;
	}
	*out = iq;
	return 0;
}

static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	if (!s || !*s || strlen(s) > 10)
		return false;
	unsigned long v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

static void parse_devices(const wa_node *devs, wa_usync_user *u)
{
	const wa_node *dl = wa_node_child(devs, "device-list");
	u->has_devices = true;
	if (!dl)
		return;
	for (size_t i = 0; i < wa_node_n_children(dl) && u->n_devices < WA_USYNC_MAX_DEVICES; i++) {
		const wa_node *d = wa_node_child_at(dl, i);
		if (strcmp(wa_node_tag(d), "device") != 0)
			continue;
		unsigned long id, ki;
		if (!parse_uint(wa_node_attr(d, "id"), 255, &id))
			continue;
		const char *hosted = wa_node_attr(d, "is_hosted");
		if (hosted && strcmp(hosted, "true") == 0)
			continue;
		if (id != 0 && (!parse_uint(wa_node_attr(d, "key-index"), 0xFFFFFFFFul, &ki) || ki == 0))
			continue;
		bool dup = false;
		for (size_t k = 0; k < u->n_devices; k++)
			dup |= u->devices[k] == id;
		if (!dup)
			u->devices[u->n_devices++] = (uint16_t)id;
	}
}

static bool copy_jid(char *dst, const char *src)
{
	wa_jid j;
	if (!src || strlen(src) >= WA_STORE_JID_MAX || wa_jid_parse(&j, src) != 0)
		return false;
	memcpy(dst, src, strlen(src) + 1);
	return true;
}

int wa_usync_parse(const wa_node *iq, wa_usync_user **users_out, size_t *n_out)
{
	if (!iq || !users_out || !n_out)
		return WA_EINVAL;
	const char *type = wa_node_attr(iq, "type");
	if (!type || strcmp(type, "result") != 0)
		return WA_EPROTO;
	const wa_node *us = wa_node_child(iq, "usync");
	const wa_node *list = us ? wa_node_child(us, "list") : NULL;
	size_t cap = list ? wa_node_n_children(list) : 0;
	if (cap > WA_USYNC_MAX_USERS)
		cap = WA_USYNC_MAX_USERS;
	wa_usync_user *arr = calloc(cap ? cap : 1, sizeof *arr);
	if (!arr)
		return WA_ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < cap; i++) {
		const wa_node *un = wa_node_child_at(list, i);
		if (strcmp(wa_node_tag(un), "user") != 0)
			continue;
		wa_usync_user *u = &arr[n];
		memset(u, 0, sizeof *u);
		u->contact = -1;
		if (!copy_jid(u->jid, wa_node_attr(un, "jid")))
			continue;
		const wa_node *d = wa_node_child(un, "devices");
		if (d && !wa_node_child(d, "error"))
			parse_devices(d, u);
		const wa_node *l = wa_node_child(un, "lid");
		if (l && !copy_jid(u->lid, wa_node_attr(l, "val")))
			u->lid[0] = '\0';
		const wa_node *c = wa_node_child(un, "contact");
		if (c) {
			const char *ct = wa_node_attr(c, "type");
			u->contact = ct && strcmp(ct, "in") == 0;
		}
		n++;
	}
	*users_out = arr;
	*n_out = n;
	return 0;
}
