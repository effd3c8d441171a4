/* src/util/secpool.h: fixed-size slots for secrets, many per locked slab.
 *
 * sodium_malloc gives every object guard pages, a header page and its own
 * mlocked page: at least 8 KiB of RSS and three memory mappings however
 * small the object (a session's credentials are 2 KiB; at 1,000 sessions
 * that was a fifth of wamd's memory, and the mappings count against
 * vm.max_map_count). A pool keeps what matters for keys at rest in memory
 * — not swapped (the slab is mlocked as far as RLIMIT_MEMLOCK allows, as
 * sodium_malloc does), scrubbed when freed, guard pages around each slab —
 * and packs the slots into slabs obtained from sodium_malloc. Slots of one
 * slab are not fenced from each other.
 *
 * Thread-safe. A slab is returned to the system when its last slot is freed. */
#ifndef WA_UTIL_SECPOOL_H
#define WA_UTIL_SECPOOL_H

#include <pthread.h>
#include <stddef.h>

struct wa_secslab;

typedef struct wa_secpool {
	size_t size; /* bytes per slot as asked; 0 < size <= WA_SECPOOL_MAX_SLOT */
	pthread_mutex_t mu;
	struct wa_secslab *slabs;
	size_t n_slabs;
} wa_secpool;

#define WA_SECPOOL_MAX_SLOT 16384
#define WA_SECPOOL_INIT(bytes) {.size = (bytes), .mu = PTHREAD_MUTEX_INITIALIZER}

/* A zeroed slot of pool->size bytes, NULL when out of memory. */
void *wa_secpool_alloc(wa_secpool *pool);
/* Scrubs and releases a slot from wa_secpool_alloc of the same pool. NULL ok. */
void wa_secpool_free(wa_secpool *pool, void *p);
/* Slabs held now (tests). */
size_t wa_secpool_slabs(wa_secpool *pool);

#endif
