/* Unit tests for the transport timers: the min-heap (src/transport/theap.c)
 * against a brute-force model over random arm/re-arm/cancel sequences, and
 * the lws driver's timers (ws.c) on a real lws_context: firing order, re-arm
 * and free from inside a callback, cancel, and the context's scheduler
 * going away with its last timer. */
#include <libwebsockets.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "transport/theap.h"
#include "transport/ws.h"

#define NODES 64

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

/* Model: armed flag, due and arming sequence per node; pop = smallest (due, seq). */
static void test_heap_model(void)
{
	wa_theap h;
	wa_theap_init(&h);
	wa_theap_node nodes[NODES];
	bool armed[NODES] = {0};
	int64_t due[NODES];
	uint64_t seq[NODES], next_seq = 0;
	for (int i = 0; i < NODES; i++)
		wa_theap_node_init(&nodes[i]);
	CHECK(wa_theap_reserve(&h, NODES) == 0);
	CHECK(wa_theap_top(&h) == NULL);
	int mismatches = 0;
	for (int step = 0; step < 200000; step++) {
		int i = (int)(rnd() % NODES);
		uint32_t op = rnd() % 10;
		if (op < 6) {
			int64_t d = (int64_t)(rnd() % 50); /* small range: many ties */
			if (wa_theap_set(&h, &nodes[i], d) != 0)
				mismatches++;
			armed[i] = true;
			due[i] = d;
			seq[i] = next_seq++;
		} else if (op < 8) {
			wa_theap_remove(&h, &nodes[i]);
			armed[i] = false;
		} else {
			/* pop the top and compare with the model's minimum */
			int best = -1;
			for (int k = 0; k < NODES; k++)
				if (armed[k] && (best < 0 || due[k] < due[best] ||
						 (due[k] == due[best] && seq[k] < seq[best])))
					best = k;
			wa_theap_node *top = wa_theap_top(&h);
			if (best < 0) {
				if (top)
					mismatches++;
				continue;
			}
			if (top != &nodes[best])
				mismatches++;
			wa_theap_remove(&h, &nodes[best]);
			armed[best] = false;
		}
		size_t n_armed = 0;
		for (int k = 0; k < NODES; k++) {
			n_armed += armed[k];
			if (wa_theap_armed(&nodes[k]) != armed[k])
				mismatches++;
		}
		if (n_armed != h.n)
			mismatches++;
	}
	CHECK_EQ_INT(mismatches, 0);
	/* full heap without room: refused, nothing changed */
	wa_theap small;
	wa_theap_init(&small);
	wa_theap_node a, b;
	wa_theap_node_init(&a);
	wa_theap_node_init(&b);
	CHECK(wa_theap_set(&small, &a, 1) == WA_ENOMEM);
	CHECK(!wa_theap_armed(&a));
	CHECK(wa_theap_reserve(&small, 1) == 0);
	CHECK(wa_theap_set(&small, &a, 5) == 0);
	size_t cap = small.cap;
	while (small.n < small.cap) {
		/* fill the remaining reserved room with copies of b-like nodes */
		wa_theap_node *x = malloc(sizeof *x);
		wa_theap_node_init(x);
		CHECK(wa_theap_set(&small, x, 9) == 0);
	}
	CHECK(wa_theap_set(&small, &b, 1) == WA_ENOMEM);
	CHECK(small.cap == cap && wa_theap_top(&small) == &a);
	/* re-arming an armed node needs no room */
	CHECK(wa_theap_set(&small, &a, 100) == 0);
	CHECK(wa_theap_top(&small) != &a);
	wa_theap_node *extra[64];
	size_t n_extra = 0;
	for (size_t k = 0; k < small.n && n_extra < 64; k++)
		if (small.v[k] != &a)
			extra[n_extra++] = small.v[k];
	wa_theap_fini(&small);
	CHECK(!wa_theap_armed(&a));
	for (size_t k = 0; k < n_extra; k++)
		free(extra[k]);
	wa_theap_fini(&h);
}

/* ---- the lws driver's timers on a real context ---- */

static const wa_tr_driver *drv = &wa_tr_lws_driver;
static int fired[16], n_fired;
static void *tm[16];
static int rearm_left = 3;

static void on_timer(void *user)
{
	int id = (int)(intptr_t)user;
	if (n_fired < 16)
		fired[n_fired++] = id;
	if (id == 2 && rearm_left-- > 0)
		drv->timer_set(tm[2], 0); /* re-arm itself from its own callback */
	if (id == 3) {
		drv->timer_free(tm[3]); /* free itself from its own callback */
		tm[3] = NULL;
		drv->timer_cancel(tm[4]); /* and cancel another one */
	}
}

static void tick(lws_sorted_usec_list_t *sul)
{
	(void)sul;
}

/* lws runs ripe timers before it polls, then sleeps until its next timer:
 * a 10 ms tick keeps each lws_service call short */
static void run_until(struct lws_context *ctx, int want, int ms)
{
	static lws_sorted_usec_list_t tick_sul;
	int64_t end = (int64_t)lws_now_usecs() + (int64_t)ms * 1000;
	while (n_fired < want && (int64_t)lws_now_usecs() < end) {
		lws_sul_schedule(ctx, 0, &tick_sul, tick, 10 * LWS_US_PER_MS);
		lws_service(ctx, 0);
	}
	lws_sul_cancel(&tick_sul);
}

static void test_lws_timers(void)
{
	struct lws_context_creation_info ci;
	memset(&ci, 0, sizeof ci);
	ci.port = CONTEXT_PORT_NO_LISTEN;
	lws_set_log_level(LLL_ERR, NULL);
	struct lws_context *ctx = lws_create_context(&ci);
	CHECK(ctx != NULL);
	if (!ctx)
		return;
	for (int i = 0; i < 6; i++)
		CHECK(drv->timer_new(ctx, on_timer, (void *)(intptr_t)i, &tm[i]) == 0);
	/* armed out of order; 1 re-armed later, 5 armed then cancelled */
	drv->timer_set(tm[0], 60);
	drv->timer_set(tm[1], 10);
	drv->timer_set(tm[3], 30);
	drv->timer_set(tm[4], 80);
	drv->timer_set(tm[5], 20);
	drv->timer_cancel(tm[5]);
	drv->timer_set(tm[1], 100);
	drv->timer_set(tm[2], 40);
	/* expected: 3 (30 ms; frees itself, cancels 4), 2 (40 ms) and its three
	 * 0 ms re-arms, 0 (60 ms), 1 (100 ms) */
	run_until(ctx, 7, 3000);
	int want[] = { 3, 2, 2, 2, 2, 0, 1 };
	CHECK_EQ_INT(n_fired, 7);
	for (int i = 0; i < 7 && i < n_fired; i++)
		CHECK_EQ_INT(fired[i], want[i]);
	/* nothing else fires: 4 and 5 were cancelled */
	run_until(ctx, 8, 150);
	CHECK_EQ_INT(n_fired, 7);
	/* a re-armed timer after everything fired still works */
	drv->timer_set(tm[4], 5);
	run_until(ctx, 8, 2000);
	CHECK_EQ_INT(n_fired, 8);
	CHECK_EQ_INT(fired[7], 4);
	for (int i = 0; i < 6; i++)
		drv->timer_free(tm[i]);
	/* the scheduler went with the last timer: a new one starts afresh */
	void *again;
	CHECK(drv->timer_new(ctx, on_timer, (void *)(intptr_t)9, &again) == 0);
	drv->timer_set(again, 1);
	run_until(ctx, 9, 2000);
	CHECK_EQ_INT(n_fired, 9);
	CHECK_EQ_INT(fired[8], 9);
	drv->timer_free(again);
	drv->timer_free(NULL);
	lws_context_destroy(ctx);
}

int main(void)
{
	test_heap_model();
	test_lws_timers();
	return check_exit("transport_timers");
}
