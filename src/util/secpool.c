/* Slots for secrets packed into sodium_malloc'd slabs (secpool.h says why). */
#include "util/secpool.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* 64 KiB of slots per slab (sodium adds its canary and guard pages around
 * it), at most 64 so that a word maps which are taken. */
#define SLAB_BYTES 65520u
#define SLAB_MAX_SLOTS 64u

struct wa_secslab {
	struct wa_secslab *next;
	uint8_t *mem;     /* sodium_malloc'd: n_slots * stride bytes */
	uint64_t taken;   /* bit i: slot i handed out */
	unsigned n_slots;
};

static size_t stride_of(const wa_secpool *pool)
{
	return (pool->size + 15u) & ~(size_t)15u;
}

static unsigned slots_per_slab(const wa_secpool *pool)
{
	size_t n = SLAB_BYTES / stride_of(pool);
	return n > SLAB_MAX_SLOTS ? SLAB_MAX_SLOTS : (unsigned)n;
}

static uint64_t full_mask(unsigned n)
{
	return n >= 64 ? UINT64_MAX : (((uint64_t)1 << n) - 1);
}

void *wa_secpool_alloc(wa_secpool *pool)
{
	if (!pool || pool->size == 0 || pool->size > WA_SECPOOL_MAX_SLOT)
		return NULL;
	size_t stride = stride_of(pool);
	void *p = NULL;
	pthread_mutex_lock(&pool->mu);
	/* oldest slab first: the newest ones stay the emptiest, to go first */
	struct wa_secslab **tail = &pool->slabs, *sl;
	while ((sl = *tail) != NULL && sl->taken == full_mask(sl->n_slots))
		tail = &sl->next;
	if (!sl) {
		sl = calloc(1, sizeof *sl);
		if (sl) {
			sl->n_slots = slots_per_slab(pool);
			sl->mem = sodium_malloc(sl->n_slots * stride);
			if (!sl->mem) {
				free(sl);
				sl = NULL;
			} else {
				*tail = sl; /* the end: every slab before it is full */
				pool->n_slabs++;
			}
		}
	}
	if (sl) {
		unsigned i = (unsigned)__builtin_ctzll(~sl->taken);
		sl->taken |= (uint64_t)1 << i;
		p = sl->mem + (size_t)i * stride;
		memset(p, 0, stride);
	}
	pthread_mutex_unlock(&pool->mu);
	return p;
}

void wa_secpool_free(wa_secpool *pool, void *p)
{
	if (!pool || !p)
		return;
	size_t stride = stride_of(pool);
	pthread_mutex_lock(&pool->mu);
	struct wa_secslab **link = &pool->slabs;
	for (struct wa_secslab *sl; (sl = *link) != NULL; link = &sl->next) {
		uint8_t *b = p;
		if (b < sl->mem || b >= sl->mem + (size_t)sl->n_slots * stride)
			continue;
		size_t i = (size_t)(b - sl->mem) / stride;
		if (sl->mem + i * stride != b || !(sl->taken & ((uint64_t)1 << i)))
			abort(); /* not a slot of ours, or freed twice */
		sodium_memzero(b, stride);
		sl->taken &= ~((uint64_t)1 << i);
		if (sl->taken == 0) {
			*link = sl->next;
			pool->n_slabs--;
			sodium_free(sl->mem);
			free(sl);
		}
		pthread_mutex_unlock(&pool->mu);
		return;
	}
	abort(); /* a pointer this pool never handed out */
}

size_t wa_secpool_slabs(wa_secpool *pool)
{
	pthread_mutex_lock(&pool->mu);
	size_t n = pool->n_slabs;
	pthread_mutex_unlock(&pool->mu);
	return n;
}
