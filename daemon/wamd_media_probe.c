/* Media metadata for sends, off the event loop. FFmpeg (ffprobe for
 * dimensions and durations, ffmpeg for the JPEG thumbnail, the voice-note
 * conversion to OGG/Opus and the decoded samples of the waveform) runs as
 * child processes with a CPU-time and address-space limit, from a small
 * pool of worker threads (media_probe_workers), so that a slow file (a long
 * video) holds up one worker, not every other send; a chat's probes still
 * run one at a time, in order, so its sends keep their order. A finished
 * probe goes back to the loop through lws_cancel_service
 * (wamd_probe_deliver), as name lookups do. Files are hostile input: they
 * are only ever parsed by the children, except a WebP header's first 30
 * bytes (wamd_probe_webp), which FFmpeg 5 cannot read for animated WebP.
 * A PDF's first page and page count come from poppler's pdftoppm and
 * pdfinfo, under the same limits. Without these tools the send goes on
 * without what they would have computed. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wamd.h"
#include "wamd_media_probe.h"

#define CHILD_SECONDS 30             /* CPU and wall-clock limit per child */
#define CHILD_AS (1024ull << 20)     /* address-space limit per child */
#define PROBE_JSON_MAX 65536

struct wamd_probe {
	struct wamd_probe *next;
	char path[1200];
	char order[WAMD_PROBE_ORDER_MAX]; /* probes with the same key run one at a time, in order */
	pid_t child;                      /* its running child (under P.lock), 0: none */
	enum wa_media_kind kind;
	bool voice;
	wamd_probe_cb cb;
	void *arg;
	struct wamd_probe_result r;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct wamd_probe *todo, *done;
	struct wamd_probe *running[WAMD_PROBE_WORKERS_MAX]; /* per worker; children killed at shutdown */
	pthread_t thread[WAMD_PROBE_WORKERS_MAX];
	unsigned n_threads;
	bool stop;
	struct lws_context *ctx;
} P = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static __thread struct wamd_probe *cur; /* the probe this worker runs */

/* ---- pure parts ---- */

static uint32_t le24(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
}

bool wamd_probe_webp(const uint8_t *p, size_t n, bool *animated, uint32_t *w, uint32_t *h)
{
	*animated = false;
	*w = *h = 0;
	if (n < 30 || memcmp(p, "RIFF", 4) != 0 || memcmp(p + 8, "WEBP", 4) != 0)
		return false;
	if (memcmp(p + 12, "VP8X", 4) == 0) {
		*animated = (p[20] & 0x02) != 0;
		*w = le24(p + 24) + 1;
		*h = le24(p + 27) + 1;
	} else if (memcmp(p + 12, "VP8L", 4) == 0 && p[20] == 0x2f) {
		uint32_t b = (uint32_t)p[21] | (uint32_t)p[22] << 8 | (uint32_t)p[23] << 16 | (uint32_t)p[24] << 24;
		*w = (b & 0x3fff) + 1;
		*h = ((b >> 14) & 0x3fff) + 1;
	} else if (memcmp(p + 12, "VP8 ", 4) == 0 && p[23] == 0x9d && p[24] == 0x01 && p[25] == 0x2a) {
		*w = ((uint32_t)p[26] | (uint32_t)p[27] << 8) & 0x3fff;
		*h = ((uint32_t)p[28] | (uint32_t)p[29] << 8) & 0x3fff;
	}
	return true;
}

static uint32_t dim(json_t *v)
{
	json_int_t x = json_is_integer(v) ? json_integer_value(v) : 0;
	return x > 0 && x <= 65535 ? (uint32_t)x : 0;
}

void wamd_probe_parse_ffprobe(const char *js, size_t len, struct wamd_probe_result *r)
{
	json_t *o = json_loadb(js, len, 0, NULL);
	json_t *streams = json_object_get(o, "streams");
	for (size_t i = 0; i < json_array_size(streams); i++) {
		json_t *s = json_array_get(streams, i);
		const char *t = json_string_value(json_object_get(s, "codec_type"));
		if (t && strcmp(t, "video") == 0 && !r->width) {
			uint32_t w = dim(json_object_get(s, "width")), h = dim(json_object_get(s, "height"));
			if (w && h) {
				r->width = w;
				r->height = h;
			}
		}
	}
	const char *d = json_string_value(json_object_get(json_object_get(o, "format"), "duration"));
	if (d) {
		char *e;
		double s = strtod(d, &e);
		/* whole seconds, truncated as Baileys' uint32 field does */
		if (e != d && isfinite(s) && s >= 1 && s < 86400.0 * 7)
			r->seconds = (uint32_t)s;
	}
	json_decref(o);
}

void wamd_wave_init(struct wamd_wave *w, uint64_t total)
{
	memset(w, 0, sizeof *w);
	w->n = total;
	w->per_block = total / WAMD_PROBE_WAVE;
}

void wamd_wave_add(struct wamd_wave *w, const float *x, size_t n)
{
	for (size_t k = 0; k < n && w->per_block; k++, w->i++) {
		uint64_t b = w->i / w->per_block;
		if (b >= WAMD_PROBE_WAVE)
			return;
		float v = x[k];
		if (isfinite(v))
			w->sum[b] += fabs((double)v);
	}
}

bool wamd_wave_final(const struct wamd_wave *w, uint8_t out[WAMD_PROBE_WAVE])
{
	double max = 0;
	if (!w->per_block)
		return false;
	for (size_t b = 0; b < WAMD_PROBE_WAVE; b++)
		if (w->sum[b] / (double)w->per_block > max)
			max = w->sum[b] / (double)w->per_block;
	if (!(max > 0))
		return false;
	for (size_t b = 0; b < WAMD_PROBE_WAVE; b++) {
		double v = floor(100.0 * (w->sum[b] / (double)w->per_block) / max);
		out[b] = (uint8_t)(v < 0 ? 0 : v > 100 ? 100 : v);
	}
	return true;
}

/* ---- child processes (worker thread) ---- */

typedef int (*out_fn)(void *ud, const uint8_t *p, size_t n);

/* Runs argv with stdout to on_out; 0 when it exited 0 in time. */
static int run_child(char *const argv[], out_fn on_out, void *ud)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) != 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		struct rlimit cpu = {CHILD_SECONDS, CHILD_SECONDS + 1}, as = {CHILD_AS, CHILD_AS};
		setrlimit(RLIMIT_CPU, &cpu);
		setrlimit(RLIMIT_AS, &as);
		int nul = open("/dev/null", O_RDWR);
		if (nul < 0 || dup2(nul, 0) < 0 || dup2(pfd[1], 1) < 0 || dup2(nul, 2) < 0)
			_exit(127);
		closefrom(3);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	pthread_mutex_lock(&P.lock);
	cur->child = pid;
	if (P.stop)
		kill(pid, SIGKILL);
	pthread_mutex_unlock(&P.lock);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	bool killed = false, failed = false;
	uint8_t buf[65536];
	for (;;) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long left = CHILD_SECONDS * 1000L - ((now.tv_sec - t0.tv_sec) * 1000L + (now.tv_nsec - t0.tv_nsec) / 1000000L);
		struct pollfd q = {.fd = pfd[0], .events = POLLIN};
		int pr = left > 0 ? poll(&q, 1, (int)left) : 0;
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0) {
			kill(pid, SIGKILL);
			killed = true;
			break;
		}
		ssize_t n = read(pfd[0], buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (!failed && on_out && on_out(ud, buf, (size_t)n) != 0) {
			kill(pid, SIGKILL); /* the caller has seen enough */
			failed = true;
			break;
		}
	}
	close(pfd[0]);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	pthread_mutex_lock(&P.lock);
	cur->child = 0;
	pthread_mutex_unlock(&P.lock);
	return !killed && !failed && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : WIFEXITED(st) && WEXITSTATUS(st) == 127 ? -127 : -1;
}

struct membuf {
	uint8_t *p;
	size_t n, cap;
};

static int to_mem(void *ud, const uint8_t *p, size_t n)
{
	struct membuf *m = ud;
	if (n > m->cap - m->n)
		return -1;
	memcpy(m->p + m->n, p, n);
	m->n += n;
	return 0;
}

/* f32le samples: counted (w NULL), then summed; a float may straddle reads */
struct samples {
	struct wamd_wave *w;
	uint64_t count;
	uint8_t carry[4];
	size_t carry_n;
};

static int to_samples(void *ud, const uint8_t *p, size_t n)
{
	struct samples *s = ud;
	float f[1024];
	while (n) {
		size_t k = 0;
		while (n && k < 1024) {
			size_t take = 4 - s->carry_n < n ? 4 - s->carry_n : n;
			memcpy(s->carry + s->carry_n, p, take);
			s->carry_n += take;
			p += take;
			n -= take;
			if (s->carry_n == 4) {
				memcpy(&f[k++], s->carry, 4);
				s->carry_n = 0;
			}
		}
		s->count += k;
		if (s->w)
			wamd_wave_add(s->w, f, k);
	}
	return 0;
}

static void warn_add(struct wamd_probe_result *r, const char *what)
{
	size_t l = strlen(r->warn);
	snprintf(r->warn + l, sizeof r->warn - l, "%s%s", l ? ", " : "", what);
}

unsigned wamd_probe_pdf_pages(const char *out, size_t len)
{
	/* pdfinfo's "Pages:          12" line */
	for (size_t i = 0; i + 6 < len; i++) {
		if ((i == 0 || out[i - 1] == '\n') && memcmp(out + i, "Pages:", 6) == 0) {
			unsigned long v = 0;
			size_t k = i + 6;
			while (k < len && out[k] == ' ')
				k++;
			size_t d0 = k;
			while (k < len && out[k] >= '0' && out[k] <= '9' && k - d0 < 7)
				v = v * 10 + (unsigned long)(out[k++] - '0');
			return k > d0 && (k == len || out[k] == '\n') ? (unsigned)v : 0;
		}
	}
	return 0;
}

/* A document's first page (PDF, by poppler's pdftoppm, and its page count
 * by pdfinfo) or first frame (a picture or video file, by FFmpeg) as the
 * thumbnail; anything else has none. */
static void probe_document(struct wamd_probe *q)
{
	struct wamd_probe_result *r = &q->r;
	uint8_t magic[5];
	int fd = open(q->path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, magic, sizeof magic) : -1;
	if (fd >= 0)
		close(fd);
	struct membuf t = {.p = r->thumb, .cap = sizeof r->thumb};
	int rc;
	if (n == 5 && memcmp(magic, "%PDF-", 5) == 0) {
		char *const th[] = {"pdftoppm", "-f", "1", "-l", "1", "-singlefile", "-scale-to-x", "32", "-scale-to-y",
			"-1", "-jpeg", "-jpegopt", "quality=50", q->path, NULL};
		rc = run_child(th, to_mem, &t);
		char info[4096];
		struct membuf m = {.p = (uint8_t *)info, .cap = sizeof info};
		char *const pi[] = {"pdfinfo", q->path, NULL};
		if (rc != -127 && run_child(pi, to_mem, &m) == 0)
			r->pages = wamd_probe_pdf_pages(info, m.n);
		if (rc == -127)
			warn_add(r, "no pdftoppm (poppler-utils): no jpegThumbnail or page count");
	} else {
		char *const th[] = {"ffmpeg", "-nostdin", "-v", "error", "-i", q->path, "-frames:v", "1", "-vf",
			"scale=32:-1", "-pix_fmt", "yuvj420p", "-q:v", "10", "-f", "mjpeg", "pipe:1", NULL};
		rc = run_child(th, to_mem, &t);
	}
	if (rc == 0 && t.n > 4 && r->thumb[0] == 0xff && r->thumb[1] == 0xd8)
		r->thumb_len = t.n;
}

static void probe_run(struct wamd_probe *q)
{
	struct wamd_probe_result *r = &q->r;
	char *path = q->path;
	bool audio = q->kind == WA_MEDIA_KIND_AUDIO;
	bool visual = q->kind == WA_MEDIA_KIND_IMAGE || q->kind == WA_MEDIA_KIND_VIDEO;
	if (q->voice) {
		char tmp[1220];
		snprintf(tmp, sizeof tmp, "%s.ogg", path);
		char *const conv[] = {"ffmpeg", "-nostdin", "-v", "error", "-y", "-i", path, "-vn", "-map_metadata", "-1",
			"-ac", "1", "-ar", "48000", "-c:a", "libopus", "-b:a", "48k", "-application", "voip", "-f", "ogg", tmp,
			NULL};
		int rc = run_child(conv, NULL, NULL);
		if (rc == 0 && rename(tmp, path) == 0) {
			r->converted = true;
		} else {
			unlink(tmp);
			if (rc == -127)
				warn_add(r, "no ffmpeg: voice note sent unconverted");
			else {
				snprintf(r->err, sizeof r->err, "the audio could not be converted to a voice note");
				return;
			}
		}
	}
	if (q->kind == WA_MEDIA_KIND_STICKER) {
		uint8_t h[30];
		bool webp = false;
		for (int pass = 0; pass < 2 && !webp; pass++) {
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			ssize_t n = fd >= 0 ? read(fd, h, sizeof h) : -1;
			if (fd >= 0)
				close(fd);
			webp = n == (ssize_t)sizeof h && wamd_probe_webp(h, sizeof h, &r->animated, &r->width, &r->height);
			if (webp || pass)
				break;
			/* another picture: a WebP, as Evolution does, scaled down to fit
			 * WhatsApp's 512x512 (never up) */
			char tmp[1220];
			snprintf(tmp, sizeof tmp, "%s.webp", path);
			char *const conv[] = {"ffmpeg", "-nostdin", "-v", "error", "-y", "-i", path, "-frames:v", "1", "-vf",
				"scale='min(512,iw)':'min(512,ih)':force_original_aspect_ratio=decrease", "-c:v", "libwebp", "-f", "webp", tmp, NULL};
			int rc = run_child(conv, NULL, NULL);
			if (rc == 0 && rename(tmp, path) == 0) {
				r->converted = true;
			} else {
				unlink(tmp);
				warn_add(r, rc == -127 ? "no ffmpeg: sticker sent unconverted" : "sticker is not a picture: sent as it is");
				break;
			}
		}
		return;
	}
	if (q->kind == WA_MEDIA_KIND_DOCUMENT) {
		probe_document(q);
		return;
	}
	if (!audio && !visual)
		return;
	char *const probe[] = {"ffprobe", "-v", "error", "-of", "json", "-show_entries",
		"format=duration:stream=codec_type,width,height", path, NULL};
	struct membuf m = {.p = malloc(PROBE_JSON_MAX), .cap = PROBE_JSON_MAX};
	int rc = m.p ? run_child(probe, to_mem, &m) : -1;
	if (rc == -127) {
		free(m.p);
		warn_add(r, visual ? "no ffprobe/ffmpeg: no width, height, seconds or jpegThumbnail"
				   : "no ffprobe/ffmpeg: no seconds or waveform");
		return;
	}
	if (rc == 0)
		wamd_probe_parse_ffprobe((const char *)m.p, m.n, r);
	free(m.p);
	if (q->kind == WA_MEDIA_KIND_IMAGE)
		r->seconds = 0;
	if (visual) {
		/* Baileys: 32 pixels wide, the height to scale, JPEG about quality 50 */
		char *const th[] = {"ffmpeg", "-nostdin", "-v", "error", "-i", path, "-frames:v", "1", "-vf",
			"scale=32:-1", "-pix_fmt", "yuvj420p", "-q:v", "10", "-f", "mjpeg", "pipe:1", NULL};
		struct membuf t = {.p = r->thumb, .cap = sizeof r->thumb};
		if (run_child(th, to_mem, &t) == 0 && t.n > 4 && r->thumb[0] == 0xff && r->thumb[1] == 0xd8)
			r->thumb_len = t.n;
		else
			warn_add(r, "no jpegThumbnail (not a picture FFmpeg can read)");
		if (!r->width)
			warn_add(r, "no width/height");
	}
	if (audio && q->voice) {
		char *const pcm[] = {"ffmpeg", "-nostdin", "-v", "error", "-i", path, "-vn", "-ac", "1", "-f", "f32le",
			"pipe:1", NULL};
		struct wamd_wave w;
		struct samples s = {0};
		if (run_child(pcm, to_samples, &s) == 0 && s.count >= WAMD_PROBE_WAVE) {
			wamd_wave_init(&w, s.count);
			struct samples s2 = {.w = &w};
			if (run_child(pcm, to_samples, &s2) == 0 && s2.count == s.count)
				r->has_waveform = wamd_wave_final(&w, r->waveform);
		}
		if (!r->has_waveform)
			warn_add(r, "no waveform (not audio FFmpeg can decode)");
	}
	if ((audio || q->kind == WA_MEDIA_KIND_VIDEO) && !r->seconds)
		warn_add(r, "no seconds");
}

/* The first queued probe whose order key no worker runs (under P.lock).
 * An earlier probe with the same key is blocked by the same running one,
 * so a key's probes start in the order they came. */
static struct wamd_probe **next_eligible(void)
{
	for (struct wamd_probe **pp = &P.todo; *pp; pp = &(*pp)->next) {
		bool busy = false;
		for (unsigned i = 0; i < P.n_threads && !busy; i++)
			busy = P.running[i] && !strcmp(P.running[i]->order, (*pp)->order);
		if (!busy)
			return pp;
	}
	return NULL;
}

static void *worker(void *arg)
{
	unsigned me = (unsigned)(uintptr_t)arg;
	pthread_mutex_lock(&P.lock);
	for (;;) {
		struct wamd_probe **pp = NULL;
		while (!P.stop && !(pp = next_eligible()))
			pthread_cond_wait(&P.cond, &P.lock);
		if (P.stop)
			break;
		struct wamd_probe *q = *pp;
		*pp = q->next;
		P.running[me] = q;
		cur = q;
		pthread_mutex_unlock(&P.lock);
		probe_run(q);
		pthread_mutex_lock(&P.lock);
		P.running[me] = NULL;
		cur = NULL;
		q->next = P.done;
		P.done = q;
		if (P.ctx)
			lws_cancel_service(P.ctx);
		pthread_cond_broadcast(&P.cond); /* a probe its key held back may start now */
	}
	pthread_mutex_unlock(&P.lock);
	return NULL;
}

struct wamd_probe *wamd_probe_start(struct wamd *d, const char *path, const char *order, enum wa_media_kind kind,
	bool voice, wamd_probe_cb cb, void *arg)
{
	if (strlen(path) >= sizeof ((struct wamd_probe *)0)->path)
		return NULL;
	struct wamd_probe *q = calloc(1, sizeof *q);
	if (!q)
		return NULL;
	strcpy(q->path, path);
	snprintf(q->order, sizeof q->order, "%s", order ? order : "");
	q->kind = kind;
	q->voice = voice;
	q->cb = cb;
	q->arg = arg;
	pthread_mutex_lock(&P.lock);
	P.ctx = d->ctx;
	long want = d->cfg.media_probe_workers;
	if (want < 1)
		want = 1;
	if (want > WAMD_PROBE_WORKERS_MAX)
		want = WAMD_PROBE_WORKERS_MAX;
	while (!P.stop && P.n_threads < (unsigned)want &&
	       pthread_create(&P.thread[P.n_threads], NULL, worker, (void *)(uintptr_t)P.n_threads) == 0)
		P.n_threads++;
	if (!P.n_threads || P.stop) {
		pthread_mutex_unlock(&P.lock);
		free(q);
		return NULL;
	}
	/* first in, first out (next_eligible keeps a chat's order) */
	struct wamd_probe **pp = &P.todo;
	while (*pp)
		pp = &(*pp)->next;
	*pp = q;
	pthread_cond_broadcast(&P.cond);
	pthread_mutex_unlock(&P.lock);
	return q;
}

void wamd_probe_deliver(void)
{
	pthread_mutex_lock(&P.lock);
	struct wamd_probe *list = P.done, *rev = NULL;
	P.done = NULL;
	pthread_mutex_unlock(&P.lock);
	while (list) { /* oldest first */
		struct wamd_probe *q = list;
		list = q->next;
		q->next = rev;
		rev = q;
	}
	while (rev) {
		struct wamd_probe *q = rev;
		rev = q->next;
		q->cb(q->arg, &q->r);
		free(q);
	}
}

void wamd_probe_shutdown(void)
{
	pthread_mutex_lock(&P.lock);
	P.stop = true;
	P.ctx = NULL;
	unsigned n = P.n_threads;
	for (unsigned i = 0; i < n; i++)
		if (P.running[i] && P.running[i]->child > 0)
			kill(P.running[i]->child, SIGKILL);
	pthread_cond_broadcast(&P.cond);
	pthread_mutex_unlock(&P.lock);
	for (unsigned i = 0; i < n; i++)
		pthread_join(P.thread[i], NULL);
	P.n_threads = 0;
	/* the rest end now, so that their owners free what they hold */
	for (int k = 0; k < 2; k++) {
		struct wamd_probe **l = k ? &P.done : &P.todo;
		while (*l) {
			struct wamd_probe *q = *l;
			*l = q->next;
			q->r.stopping = true;
			q->cb(q->arg, &q->r);
			free(q);
		}
	}
}
