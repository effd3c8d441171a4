/* wasim per-device delivery queue: encoded stanzas kept until the device
 * acks or receipts them (see sim_queue.h). */
#include "sim_queue.h"

#include <stdlib.h>
#include <string.h>

#include "binary/decode.h"
#include "binary/encode.h"
#include "binary/limits.h"
#include "util/buf.h"

static void item_free(sim_qitem *it)
{
	if (!it)
		return;
	free(it->bytes);
	free(it);
}

int sim_queue_push(sim_queue *q, const wa_node *n)
{
	const char *id = wa_node_attr(n, "id");
	const char *tag = wa_node_tag(n);
	wa_writer wr;
	sim_qitem *it;
	if (!id || strlen(id) >= sizeof(it->id) || strlen(tag) >= sizeof(it->cls))
		return WA_EINVAL;
	it = calloc(1, sizeof(*it));
	if (!it)
		return WA_ENOMEM;
	wa_writer_init(&wr, WA_BIN_MAX_STANZA);
	int rc = wa_bin_encode_body(&wr, n);
	if (rc) {
		wa_writer_clear(&wr, false);
		free(it);
		return rc;
	}
	it->bytes = wa_writer_steal(&wr, &it->len);
	if (!it->bytes) {
		free(it);
		return WA_ENOMEM;
	}
	strcpy(it->cls, tag);
	strcpy(it->id, id);
	if (q->n >= SIM_QUEUE_MAX) {
		sim_qitem *old = q->head;
		q->head = old->next;
		if (!q->head)
			q->tail = NULL;
		item_free(old);
		q->n--;
	}
	if (q->tail)
		q->tail->next = it;
	else
		q->head = it;
	q->tail = it;
	q->n++;
	return 0;
}

bool sim_queue_remove(sim_queue *q, const char *cls, const char *id)
{
	sim_qitem *prev = NULL;
	for (sim_qitem *it = q->head; it; prev = it, it = it->next) {
		if (strcmp(it->id, id) != 0 || (cls && strcmp(it->cls, cls) != 0))
			continue;
		if (prev)
			prev->next = it->next;
		else
			q->head = it->next;
		if (q->tail == it)
			q->tail = prev;
		q->n--;
		item_free(it);
		return true;
	}
	return false;
}

int sim_queue_item_node(const sim_qitem *it, wa_node **out)
{
	return wa_bin_decode_body(it->bytes, it->len, out);
}

void sim_queue_clear(sim_queue *q)
{
	sim_qitem *it = q->head;
	while (it) {
		sim_qitem *next = it->next;
		item_free(it);
		it = next;
	}
	memset(q, 0, sizeof(*q));
}
