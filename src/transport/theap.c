/* src/transport/theap.c: binary min-heap of timer nodes (see theap.h). */
#include "transport/theap.h"

#include <stdlib.h>

static bool before(const wa_theap_node *a, const wa_theap_node *b)
{
	return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void place(wa_theap *h, size_t i, wa_theap_node *x)
{
	h->v[i] = x;
	x->idx = i;
}

static void sift_up(wa_theap *h, size_t i)
{
	wa_theap_node *x = h->v[i];
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!before(x, h->v[p]))
			break;
		place(h, i, h->v[p]);
		i = p;
	}
	place(h, i, x);
}

static void sift_down(wa_theap *h, size_t i)
{
	wa_theap_node *x = h->v[i];
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		const wa_theap_node *best = x;
		if (l < h->n && before(h->v[l], best)) {
			m = l;
			best = h->v[l];
		}
		if (l + 1 < h->n && before(h->v[l + 1], best))
			m = l + 1;
		if (m == i)
			break;
		place(h, i, h->v[m]);
		i = m;
	}
	place(h, i, x);
}

void wa_theap_init(wa_theap *h)
{
	h->v = NULL;
	h->n = h->cap = 0;
	h->seq = 0;
}

void wa_theap_fini(wa_theap *h)
{
	for (size_t i = 0; i < h->n; i++)
		h->v[i]->idx = WA_THEAP_NONE;
	free(h->v);
	wa_theap_init(h);
}

void wa_theap_node_init(wa_theap_node *x)
{
	x->due = 0;
	x->seq = 0;
	x->idx = WA_THEAP_NONE;
}

int wa_theap_reserve(wa_theap *h, size_t cap)
{
	if (cap <= h->cap)
		return 0;
	size_t nc = h->cap ? h->cap : 16;
	while (nc < cap) {
		if (nc > SIZE_MAX / 2 / sizeof *h->v)
			return WA_ENOMEM;
		nc *= 2;
	}
	wa_theap_node **v = realloc(h->v, nc * sizeof *v);
	if (!v)
		return WA_ENOMEM;
	h->v = v;
	h->cap = nc;
	return 0;
}

bool wa_theap_armed(const wa_theap_node *x)
{
	return x->idx != WA_THEAP_NONE;
}

int wa_theap_set(wa_theap *h, wa_theap_node *x, int64_t due)
{
	if (!wa_theap_armed(x)) {
		if (h->n == h->cap)
			return WA_ENOMEM;
		x->due = due;
		x->seq = h->seq++;
		place(h, h->n++, x);
		sift_up(h, x->idx);
		return 0;
	}
	bool earlier = due < x->due;
	x->due = due;
	x->seq = h->seq++;
	if (earlier)
		sift_up(h, x->idx);
	else
		sift_down(h, x->idx);
	return 0;
}

void wa_theap_remove(wa_theap *h, wa_theap_node *x)
{
	if (!wa_theap_armed(x))
		return;
	size_t i = x->idx;
	x->idx = WA_THEAP_NONE;
	wa_theap_node *last = h->v[--h->n];
	if (i == h->n)
		return;
	place(h, i, last);
	if (i > 0 && before(last, h->v[(i - 1) / 2]))
		sift_up(h, i);
	else
		sift_down(h, i);
}

wa_theap_node *wa_theap_top(const wa_theap *h)
{
	return h->n ? h->v[0] : NULL;
}
