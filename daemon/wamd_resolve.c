/* Host name lookups off the event loop. getaddrinfo blocks (lws 4.1 calls
 * it inline on connect), so webhook hosts are resolved here by a few worker
 * threads; results go back to the loop through lws_cancel_service, whose
 * LWS_CALLBACK_EVENT_WAIT_CANCELLED runs wamd_resolve_deliver on the loop
 * thread. The caller then checks every address against the policy and
 * connects lws to the numeric address it checked, so a name cannot be
 * re-resolved elsewhere between the check and the connect.
 *
 * Only the loop thread touches cb/arg/cancelled; workers touch host, rc and
 * res of a request, and the queues under the lock. */
#include <netdb.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "wamd.h"
#include "wamd_resolve.h"

#define RESOLVE_THREADS 4

struct wamd_resolve {
	struct wamd_resolve *next;
	char host[256];
	int rc;                    /* getaddrinfo result */
	struct addrinfo *res;
	wamd_resolve_cb cb;
	void *arg;
	bool cancelled;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct wamd_resolve *todo, **todo_tail;
	struct wamd_resolve *done;
	pthread_t threads[RESOLVE_THREADS];
	int n_threads, idle;
	bool stop;
	struct lws_context *ctx;
} R = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static void *worker(void *unused)
{
	(void)unused;
	pthread_mutex_lock(&R.lock);
	for (;;) {
		while (!R.todo && !R.stop) {
			R.idle++;
			pthread_cond_wait(&R.cond, &R.lock);
			R.idle--;
		}
		if (R.stop)
			break;
		struct wamd_resolve *q = R.todo;
		R.todo = q->next;
		if (!R.todo)
			R.todo_tail = &R.todo;
		pthread_mutex_unlock(&R.lock);
		struct addrinfo hints;
		memset(&hints, 0, sizeof hints);
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		/* no AI_ADDRCONFIG: it drops every address on a host whose only
		 * interface is loopback; glibc's RFC 6724 sort already puts
		 * destinations without a usable source last */
		q->res = NULL;
		q->rc = getaddrinfo(q->host, NULL, &hints, &q->res);
		pthread_mutex_lock(&R.lock);
		q->next = R.done;
		R.done = q;
		if (R.ctx)
			lws_cancel_service(R.ctx);
	}
	pthread_mutex_unlock(&R.lock);
	return NULL;
}

struct wamd_resolve *wamd_resolve_start(struct wamd *d, const char *host, wamd_resolve_cb cb, void *arg)
{
	if (strlen(host) >= sizeof ((struct wamd_resolve *)0)->host)
		return NULL;
	struct wamd_resolve *q = calloc(1, sizeof *q);
	if (!q)
		return NULL;
	strcpy(q->host, host);
	q->cb = cb;
	q->arg = arg;
	pthread_mutex_lock(&R.lock);
	R.ctx = d->ctx;
	if (!R.todo_tail)
		R.todo_tail = &R.todo;
	*R.todo_tail = q;
	R.todo_tail = &q->next;
	bool ok = true;
	if (R.idle == 0 && R.n_threads < RESOLVE_THREADS) {
		if (pthread_create(&R.threads[R.n_threads], NULL, worker, NULL) == 0)
			R.n_threads++;
		else if (R.n_threads == 0)
			ok = false;
	}
	if (ok)
		pthread_cond_signal(&R.cond);
	else {
		/* no worker at all: take the request back */
		struct wamd_resolve **pp = &R.todo;
		while (*pp != q)
			pp = &(*pp)->next;
		*pp = NULL;
		R.todo_tail = pp;
	}
	pthread_mutex_unlock(&R.lock);
	if (!ok) {
		free(q);
		return NULL;
	}
	return q;
}

void wamd_resolve_cancel(struct wamd_resolve *q)
{
	if (q)
		q->cancelled = true; /* freed when the worker hands it back */
}

void wamd_resolve_deliver(void)
{
	pthread_mutex_lock(&R.lock);
	struct wamd_resolve *list = R.done;
	R.done = NULL;
	pthread_mutex_unlock(&R.lock);
	/* the list is newest first; order between lookups does not matter */
	while (list) {
		struct wamd_resolve *q = list;
		list = q->next;
		if (!q->cancelled)
			q->cb(q->arg, q->rc, q->res);
		if (q->res)
			freeaddrinfo(q->res);
		free(q);
	}
}

void wamd_resolve_shutdown(void)
{
	pthread_mutex_lock(&R.lock);
	R.stop = true;
	R.ctx = NULL;
	pthread_cond_broadcast(&R.cond);
	pthread_mutex_unlock(&R.lock);
	/* a lookup in progress finishes first (bounded by the resolver's own
	 * timeout); its result is dropped below */
	for (int i = 0; i < R.n_threads; i++)
		pthread_join(R.threads[i], NULL);
	R.n_threads = 0;
	struct wamd_resolve *lists[2] = { R.todo, R.done };
	for (int i = 0; i < 2; i++)
		while (lists[i]) {
			struct wamd_resolve *q = lists[i];
			lists[i] = q->next;
			if (q->res)
				freeaddrinfo(q->res);
			free(q);
		}
	R.todo = R.done = NULL;
	R.todo_tail = &R.todo;
}
