/* Fuzz target over the media parsers of untrusted text: a received
 * message's url/directPath (where its blob may be fetched: the path must
 * stay a path, so no message can name the host), the Range header of GET
 * /wamd/media (the range must lie inside the file), and the URL and host
 * parsers a sendMedia URL goes through, a sticker's WebP header, ffprobe's
 * JSON answer, pdfinfo's page count and the waveform of samples. The first byte picks the parser;
 * the rest is split at the first NUL where two strings are needed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "session/media.h"
#include "wamd.h"
#include "wamd_media_probe.h"
#include "wamd_range.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 20000)
		return 0;
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	s[size] = '\0';
	switch (data[0] % 5) {
	case 0: {
		const char *dp = s + strlen(s) + (strlen(s) < size - 1 ? 1 : 0);
		char path[2049], host[256];
		bool url_only = false;
		if (wa_media_dl_where(s, *dp ? dp : NULL, path, sizeof path, host, sizeof host, &url_only) == 0) {
			/* a path on a host we choose: never "//host" nor a scheme */
			if (path[0] != '/' || path[1] == '/' || strpbrk(path, " \r\n\t"))
				abort();
			if (url_only && !host[0])
				abort();
		}
		break;
	}
	case 1: {
		/* the first 8 bytes are the file size */
		uint64_t total = 0;
		for (size_t i = 0; i < 8 && i + 1 < size; i++)
			total = total << 8 | data[1 + i];
		const char *h = size > 9 ? s + 8 : "";
		uint64_t off = 0, len = 0;
		if (wamd_range_parse(h, total, &off, &len) == 0 && (len == 0 || off >= total || len > total - off))
			abort();
		break;
	}
	case 3: {
		bool anim;
		uint32_t w, h;
		(void)wamd_probe_webp(data + 1, size - 1, &anim, &w, &h);
		if (wamd_probe_pdf_pages(s, size - 1) > 9999999)
			abort();
		struct wamd_probe_result *r = calloc(1, sizeof *r);
		if (r) {
			wamd_probe_parse_ffprobe(s, size - 1, r);
			if ((r->width == 0) != (r->height == 0) || r->width > 65535 || r->seconds >= 86400u * 7)
				abort();
			free(r);
		}
		/* the bytes as f32 samples: every sample within 0..100 */
		struct wamd_wave wv;
		size_t nf = (size - 1) / 4;
		float *f = malloc(nf ? nf * sizeof *f : 1);
		if (f) {
			memcpy(f, data + 1, nf * sizeof *f);
			wamd_wave_init(&wv, nf);
			wamd_wave_add(&wv, f, nf / 2);
			wamd_wave_add(&wv, f + nf / 2, nf - nf / 2);
			uint8_t out[WAMD_PROBE_WAVE];
			if (wamd_wave_final(&wv, out))
				for (size_t i = 0; i < sizeof out; i++)
					if (out[i] > 100)
						abort();
			free(f);
		}
		break;
	}
	default: {
		struct wamd_url u;
		struct wamd_host h;
		if (wamd_url_parse(s, &u) == 0 && wamd_host_parse(u.host, &h) == 0)
			(void)wamd_addr_classify_host(h.canon);
		break;
	}
	}
	free(s);
	return 0;
}
