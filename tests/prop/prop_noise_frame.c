/* Property test for the frame decoder: a stream of random frames (with a
 * random intro, sometimes with an ED routing prefix) decodes to exactly the
 * frames that were encoded, whether it arrives whole, split in two at every
 * offset, or in random chunks. Seeded: WA_SEED=<n> reproduces a run; the
 * seed is printed at the start and on failure. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "noise/frame.h"

static uint64_t rng_state;
static uint64_t rnd(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}
static size_t rnd_below(size_t n) { return n ? (size_t)(rnd() % n) : 0; }

static uint64_t seed;
static int failures;

#define FAIL(...) do { \
	fprintf(stderr, "prop_noise_frame (WA_SEED=%" PRIu64 "): ", seed); \
	fprintf(stderr, __VA_ARGS__); \
	fputc('\n', stderr); \
	failures++; \
	} while (0)

struct stream {
	wa_writer wire;    /* what goes over the socket */
	wa_writer frames;  /* expected: len24 || payload, concatenated */
	int n_frames;
	size_t routing_len;
};

static void make_stream(struct stream *s, bool server)
{
	wa_writer_init(&s->wire, 1u << 26);
	wa_writer_init(&s->frames, 1u << 26);
	s->n_frames = 0;
	s->routing_len = 0;
	if (server) {
		uint8_t routing[64];
		if (rnd_below(3) == 0) {
			s->routing_len = 1 + rnd_below(sizeof routing);
			for (size_t i = 0; i < s->routing_len; i++)
				routing[i] = (uint8_t)rnd();
		}
		if (wa_frame_write_intro(&s->wire, routing, s->routing_len) != 0)
			abort();
	}
	int n = 1 + (int)rnd_below(12);
	uint8_t *p = malloc(70000);
	for (int i = 0; i < n; i++) {
		size_t len;
		switch (rnd_below(8)) {
		case 0: len = 0; break;
		case 1: len = 60000 + rnd_below(10000); break;
		case 2: len = 1 + rnd_below(3); break;
		default: len = rnd_below(600); break;
		}
		for (size_t j = 0; j < len; j++)
			p[j] = (uint8_t)rnd();
		if (wa_frame_write(&s->wire, p, len) != 0 || wa_frame_write(&s->frames, p, len) != 0)
			abort();
		s->n_frames++;
	}
	free(p);
}

static void free_stream(struct stream *s)
{
	wa_writer_clear(&s->wire, false);
	wa_writer_clear(&s->frames, false);
}

/* Feeds the chunks [cuts[i], cuts[i+1]) and compares the output. */
static void run(const struct stream *s, bool server, const size_t *cuts, size_t n_cuts, const char *what)
{
	wa_frame_dec *d = NULL;
	if (wa_frame_dec_new(&d, server ? WA_FRAME_SERVER : WA_FRAME_CLIENT, WA_NOISE_MAX_FRAME) != 0)
		abort();
	wa_writer got;
	wa_writer_init(&got, 1u << 26);
	int n = 0;
	for (size_t c = 0; c + 1 < n_cuts; c++) {
		const uint8_t *in = s->wire.p + cuts[c];
		size_t len = cuts[c + 1] - cuts[c];
		while (len) {
			size_t used = 0;
			const uint8_t *f;
			size_t fl;
			int rc = wa_frame_decode(d, in, len, &used, &f, &fl);
			if (rc < 0 || used > len || (rc == 0 && used != len)) {
				FAIL("%s: decode rc=%d used=%zu len=%zu", what, rc, used, len);
				goto out;
			}
			in += used;
			len -= used;
			if (rc == 1) {
				n++;
				if (wa_frame_write(&got, f, fl) != 0)
					abort();
			}
		}
	}
	if (n != s->n_frames || got.len != s->frames.len || memcmp(got.p, s->frames.p, got.len) != 0)
		FAIL("%s: got %d frames (%zu bytes), want %d (%zu bytes)", what, n, got.len,
			s->n_frames, s->frames.len);
	if (server && wa_frame_dec_routing_len(d) != s->routing_len)
		FAIL("%s: routing length %zu, want %zu", what, wa_frame_dec_routing_len(d), s->routing_len);
out:
	wa_writer_clear(&got, false);
	wa_frame_dec_free(d);
}

int main(void)
{
	const char *env = getenv("WA_SEED");
	seed = env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL);
	rng_state = seed;
	printf("prop_noise_frame: WA_SEED=%" PRIu64 "\n", seed);

	for (int iter = 0; iter < 40 && failures == 0; iter++) {
		bool server = rnd() & 1;
		struct stream s;
		make_stream(&s, server);
		size_t L = s.wire.len;
		size_t cuts[4096];
		/* whole */
		cuts[0] = 0;
		cuts[1] = L;
		run(&s, server, cuts, 2, "whole");
		/* two chunks at every offset (small streams) or at random offsets */
		size_t tries = L <= 3000 ? L + 1 : 300;
		for (size_t k = 0; k < tries && failures == 0; k++) {
			size_t at = L <= 3000 ? k : rnd_below(L + 1);
			size_t c3[3] = { 0, at, L };
			run(&s, server, c3, 3, "split-in-two");
		}
		/* random chunkings: mostly tiny chunks, some big */
		for (int r = 0; r < 20 && failures == 0; r++) {
			size_t nc = 0, pos = 0;
			cuts[nc++] = 0;
			size_t maxchunk = (rnd() & 1) ? 8 : 5000;
			while (pos < L && nc < 4095) {
				pos += 1 + rnd_below(maxchunk);
				if (pos > L || nc == 4094)
					pos = L;
				cuts[nc++] = pos;
			}
			run(&s, server, cuts, nc, "random-chunks");
		}
		free_stream(&s);
	}
	if (failures) {
		fprintf(stderr, "prop_noise_frame: FAILED, reproduce with WA_SEED=%" PRIu64 "\n", seed);
		return 1;
	}
	printf("prop_noise_frame: all properties held\n");
	return 0;
}
