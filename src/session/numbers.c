/* Number lookup (wa_session_check_numbers): a usync contact query for up
 * to WA_USYNC_MAX_USERS numbers; each answer says whether the number is on
 * WhatsApp, its JID and LID (a mapping we learn on the way). */
#include <stdlib.h>
#include <string.h>

#include "session/msgstate.h"

typedef struct numbers_req {
	wa_numbers_fn done;
	void *user;
	size_t n;
	char **queries;
} numbers_req;

static void numbers_free(numbers_req *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->queries[i]);
	free(r->queries);
	free(r);
}

static void on_numbers(wa_session *s, int err, const wa_node *resp, void *user)
{
	numbers_req *r = user;
	wa_usync_user *u = NULL;
	size_t nu = 0;
	wa_number_info *infos = calloc(r->n ? r->n : 1, sizeof *infos);
	if (!infos)
		err = WA_ENOMEM;
	if (err == 0)
		err = wa_usync_parse(resp, &u, &nu);
	if (err == 0) {
		for (size_t i = 0; i < r->n; i++) {
			infos[i].query = r->queries[i];
			const char *q = r->queries[i];
			char digits[40];
			size_t dn = 0;
			for (; *q && dn + 1 < sizeof digits; q++)
				if (*q >= '0' && *q <= '9')
					digits[dn++] = *q;
			digits[dn] = '\0';
			for (size_t k = 0; k < nu; k++) {
				wa_jid j;
				if (wa_jid_parse(&j, u[k].jid) != 0 || strcmp(j.user, digits) != 0)
					continue;
				infos[i].exists = u[k].contact == 1;
				infos[i].jid = infos[i].exists ? u[k].jid : NULL;
				infos[i].lid = u[k].lid[0] ? u[k].lid : NULL;
				if (u[k].lid[0] && infos[i].exists)
					wa_msg_learn_mapping(s, u[k].jid, u[k].lid);
			}
		}
	}
	r->done(s, err, err == 0 ? infos : NULL, err == 0 ? r->n : 0, r->user);
	free(infos);
	free(u);
	numbers_free(r);
}

int wa_session_check_numbers(wa_session *s, const char *const *numbers, size_t n, wa_numbers_fn done,
	void *user)
{
	if (!s || !numbers || n == 0 || n > WA_USYNC_MAX_USERS || !done)
		return WA_EINVAL;
	if (!ready(s))
		return WA_ESTATE;
	numbers_req *r = calloc(1, sizeof *r);
	if (!r || !(r->queries = calloc(n, sizeof *r->queries))) {
		free(r);
		return WA_ENOMEM;
	}
	r->done = done;
	r->user = user;
	for (size_t i = 0; i < n; i++) {
		if (!numbers[i] || !(r->queries[r->n] = strdup(numbers[i]))) {
			numbers_free(r);
			return numbers[i] ? WA_ENOMEM : WA_EINVAL;
		}
		r->n++;
	}
	char iq_id[WA_SESSION_ID_MAX];
	wa_session_new_id(s, iq_id);
	wa_node *iq = NULL;
	int rc = wa_usync_build_contacts(iq_id, iq_id, (const char *const *)r->queries, n, &iq);
	if (rc == 0)
		rc = wa_iq_send(s, iq, 0, on_numbers, r);
	wa_node_free(iq);
	if (rc != 0)
		numbers_free(r);
	return rc;
}
