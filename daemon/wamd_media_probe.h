/* What a media file to send shows in WhatsApp (wamd_media_probe.c): its
 * dimensions, duration, JPEG thumbnail, page count and voice-note waveform,
 * found by FFmpeg (poppler for PDFs) run as child processes on a small
 * pool of worker threads, never in the loop. */
#ifndef WAMD_MEDIA_PROBE_H
#define WAMD_MEDIA_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wa/session.h"

struct wamd;

#define WAMD_PROBE_THUMB_MAX 16384 /* a 32-pixel-wide JPEG is ~1 KiB */
#define WAMD_PROBE_WAVE 64         /* WhatsApp's waveform samples */
#define WAMD_PROBE_WORKERS_MAX 16  /* media_probe_workers is clamped to 1..this */
#define WAMD_PROBE_ORDER_MAX 256

struct wamd_probe_result {
	uint32_t width, height, seconds;   /* 0: unknown */
	uint8_t thumb[WAMD_PROBE_THUMB_MAX];
	size_t thumb_len;                  /* 0: none */
	uint8_t waveform[WAMD_PROBE_WAVE];
	bool has_waveform;
	uint32_t pages;                    /* document: a PDF's page count, 0: unknown */
	bool animated;                     /* sticker: an animated WebP */
	bool converted;                    /* the file is now OGG/Opus (voice note) or WebP (sticker) */
	char warn[160];                    /* what could not be computed, or "" */
	char err[160];                     /* the file cannot be sent as asked, or "" */
	bool stopping;                     /* wamd is stopping: nothing was probed, send nothing */
};

/* Runs on the loop thread; r is valid during the call only. */
typedef void (*wamd_probe_cb)(void *arg, const struct wamd_probe_result *r);

struct wamd_probe;
/* Probes the staged file at path for kind on one of d->cfg.media_probe_workers
 * threads. order: probes with the same key (a chat) run one at a time in the
 * order they were started, others in parallel. voice: convert it to a mono
 * OGG/Opus voice note in place first (an error when it is not audio). The
 * result arrives through cb (never from inside this call; the caller's
 * connection may be gone by then); NULL when no worker could start (send
 * without metadata). */
struct wamd_probe *wamd_probe_start(struct wamd *d, const char *path, const char *order, enum wa_media_kind kind,
	bool voice, wamd_probe_cb cb, void *arg);
/* On LWS_CALLBACK_EVENT_WAIT_CANCELLED: runs the finished probes' cbs. */
void wamd_probe_deliver(void);
/* Stops the workers (killing their children); the probes left get their cb with
 * r->stopping set. */
void wamd_probe_shutdown(void);

/* Pure parts, fuzzed: the WebP header (animated, canvas size; false when
 * it is not WebP), ffprobe's JSON answer, and the waveform of n mono
 * float samples in Baileys' manner (64 block means of |x|, scaled so the
 * largest is 100, floored). */
unsigned wamd_probe_pdf_pages(const char *pdfinfo_out, size_t len);
bool wamd_probe_webp(const uint8_t *p, size_t n, bool *animated, uint32_t *w, uint32_t *h);
void wamd_probe_parse_ffprobe(const char *json, size_t len, struct wamd_probe_result *r);
struct wamd_wave {
	uint64_t n, per_block, i;
	double sum[WAMD_PROBE_WAVE];
};
void wamd_wave_init(struct wamd_wave *w, uint64_t total_samples);
void wamd_wave_add(struct wamd_wave *w, const float *x, size_t n);
bool wamd_wave_final(const struct wamd_wave *w, uint8_t out[WAMD_PROBE_WAVE]);

#endif
