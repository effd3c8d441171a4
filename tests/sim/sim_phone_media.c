/* The simulated phone's media (messaging.md §7). Sending: the file of a
 * /_sim/phone/send "media" object is encrypted under a fresh media key with
 * libwa's cipher, stored on wasim's media host (what the real phone's
 * upload amounts to) and sent as the kind's message with every field a
 * client reads (url, direct path, media key and timestamp, both hashes,
 * length, and the kind's own: caption, file name, ptt, seconds, waveform,
 * size, animated flag, thumbnail). Receiving: every media message the
 * phone decrypts (a peer's, or a companion's device-sent copy) is fetched
 * from the media host and checked as a client downloads it, in one pass
 * as libwa does: length, fileEncSha256 and MAC, then padding, fileSha256
 * and the length; the record gets "media" with the plaintext's SHA-256,
 * or the reason it could not. The blob is read from its file in 64 KiB
 * pieces. The phone runs on wasim's loop: a blob over
 * SIM_PHONE_MEDIA_INLINE (or --phone-media-inline) is checked 4 MiB per
 * loop turn, its record marked "pending" until the verdict, so a 1 GiB
 * document does not stall everyone else. */
#include "sim_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "media/cipher.h"
#include "media/keys.h"
#include "message.pb-c.h"
#include "util/codec.h"
#include "util/seams.h"

#define SIM_PHONE_MEDIA_MAX WA_MEDIA_DEFAULT_MAX_LEN /* what the phone downloads: 2 GiB */
#define SIM_PHONE_MEDIA_INLINE ((uint64_t)64 << 20) /* checked at once up to this */
#define SIM_PHONE_MEDIA_SLICE ((uint64_t)4 << 20)   /* bigger: this much per loop turn */
#define SIM_PHONE_MEDIA_IO 65536

/* ---- what a media message looks like, kind by kind ---- */

struct media_view {
	const char *kind; /* image video ptt audio document sticker */
	enum wa_media_type type;
	const char *url, *direct_path, *mimetype, *caption, *file_name;
	const ProtobufCBinaryData *media_key, *file_sha256, *file_enc_sha256;
	bool has_length;
	uint64_t file_length;
};

static bool view_of(const Wa__Message *m, struct media_view *v)
{
	memset(v, 0, sizeof(*v));
	if (!m)
		return false;
#define COMMON(x)                                                                     \
	do {                                                                          \
		v->url = (x)->url;                                                    \
		v->direct_path = (x)->direct_path;                                    \
		v->mimetype = (x)->mimetype;                                          \
		v->media_key = (x)->has_media_key ? &(x)->media_key : NULL;           \
		v->file_sha256 = (x)->has_file_sha256 ? &(x)->file_sha256 : NULL;     \
		v->file_enc_sha256 = (x)->has_file_enc_sha256 ? &(x)->file_enc_sha256 : NULL; \
		v->has_length = (x)->has_file_length;                                 \
		v->file_length = (x)->file_length;                                    \
	} while (0)
	if (m->image_message) {
		COMMON(m->image_message);
		v->kind = "image", v->type = WA_MEDIA_IMAGE, v->caption = m->image_message->caption;
	} else if (m->video_message) {
		COMMON(m->video_message);
		v->kind = "video", v->type = WA_MEDIA_VIDEO, v->caption = m->video_message->caption;
	} else if (m->audio_message) {
		COMMON(m->audio_message);
		v->kind = m->audio_message->ptt ? "ptt" : "audio", v->type = WA_MEDIA_AUDIO;
	} else if (m->document_message) {
		COMMON(m->document_message);
		v->kind = "document", v->type = WA_MEDIA_DOCUMENT, v->caption = m->document_message->caption;
		v->file_name = m->document_message->file_name;
	} else if (m->sticker_message) {
		COMMON(m->sticker_message);
		v->kind = "sticker", v->type = WA_MEDIA_IMAGE;
	} else {
		return false;
	}
#undef COMMON
	return true;
}

static void set_hex(json_t *o, const char *k, const uint8_t *p, size_t n)
{
	char *h = wa_hex_encode(p, n);
	if (h)
		json_object_set_new(o, k, json_string(h));
	free(h);
}

/* ---- receiving ---- */

static int read_full(int fd, uint8_t *b, size_t cap, size_t *n)
{
	*n = 0;
	while (*n < cap) {
		ssize_t r = read(fd, b + *n, cap - *n);
		if (r < 0)
			return WA_EIO;
		if (r == 0)
			break;
		*n += (size_t)r;
	}
	return 0;
}

/* One download being checked: the blob read from its file in
 * SIM_PHONE_MEDIA_IO pieces through libwa's one-pass decryptor, the
 * plaintext thrown away; only the final call's verdict (length,
 * fileEncSha256 and MAC, then padding and fileSha256) counts. */
struct phone_check {
	struct sim *sim;
	int fd;
	wa_media_dec *dec;
	uint8_t *in, *out;
	uint8_t file_sha256[32], file_enc_sha256[32];
	uint64_t file_length;
	json_t *media; /* the record's "media" object (a reference) */
	char why[160];
};

static void check_free(struct phone_check *c)
{
	wa_media_dec_free(c->dec);
	free(c->in);
	free(c->out);
	if (c->fd >= 0)
		close(c->fd);
	json_decref(c->media);
	free(c);
}

/* Opens the blob and sets up the decryptor: NULL, or why not. */
static const char *check_begin(struct sim *sim, const struct media_view *v, struct phone_check *c)
{
	wa_media_keys keys;
	if (!v->media_key || v->media_key->len != WA_MEDIA_KEY_LEN)
		return "no 32-byte mediaKey";
	if (!v->file_sha256 || v->file_sha256->len != 32 || !v->file_enc_sha256 || v->file_enc_sha256->len != 32)
		return "fileSha256 or fileEncSha256 missing";
	if (!v->has_length)
		return "no fileLength";
	if (v->file_length > SIM_PHONE_MEDIA_MAX)
		return "larger than the phone downloads (2 GiB)";
	memcpy(c->file_sha256, v->file_sha256->data, 32);
	memcpy(c->file_enc_sha256, v->file_enc_sha256->data, 32);
	c->file_length = v->file_length;
	int st = sim_media_open(sim, v->direct_path && v->direct_path[0] ? v->direct_path : v->url, &c->fd);
	if (st) {
		snprintf(c->why, sizeof c->why, "the media host answered %d", st);
		return c->why;
	}
	c->in = malloc(SIM_PHONE_MEDIA_IO);
	c->out = malloc(WA_MEDIA_UPDATE_OUT(SIM_PHONE_MEDIA_IO));
	if (!c->in || !c->out || wa_media_keys_derive(&keys, v->media_key->data, v->type) != 0)
		return "out of memory or I/O";
	int rc = wa_media_dec_new(&c->dec, &keys, SIM_PHONE_MEDIA_MAX);
	wa_media_keys_clear(&keys);
	return rc ? "out of memory or I/O" : NULL;
}

/* Feeds up to budget bytes: 0 = more to read, 1 = read to the end (the
 * verdict is in c->media), < 0 = failed (also recorded). */
static int check_step(struct phone_check *c, uint64_t budget)
{
	size_t n, o;
	uint64_t fed = 0;
	int rc = 0;
	wa_media_result res;
	while (fed < budget && (rc = read_full(c->fd, c->in, SIM_PHONE_MEDIA_IO, &n)) == 0 && n > 0) {
		rc = wa_media_dec_stream_update(c->dec, c->out, WA_MEDIA_UPDATE_OUT(SIM_PHONE_MEDIA_IO), &o, c->in, n);
		if (rc)
			break;
		fed += n;
	}
	if (rc == 0 && fed >= budget)
		return 0;
	if (rc == 0)
		rc = wa_media_dec_stream_final(c->dec, c->file_enc_sha256, c->out, WA_MEDIA_UPDATE_OUT(SIM_PHONE_MEDIA_IO),
			&o, c->file_sha256, &res);
	const char *err = NULL;
	if (rc) {
		snprintf(c->why, sizeof c->why, "blob check failed: %s", wa_strerror(rc));
		err = c->why;
	} else if (res.file_length != c->file_length) {
		snprintf(c->why, sizeof c->why, "fileLength %llu but %llu bytes", (unsigned long long)c->file_length,
			(unsigned long long)res.file_length);
		err = c->why;
	}
	json_object_del(c->media, "pending");
	json_object_set_new(c->media, "verified", json_boolean(!err));
	if (err)
		json_object_set_new(c->media, "error", json_string(err));
	else
		set_hex(c->media, "sha256", res.file_sha256, sizeof(res.file_sha256));
	return err ? -1 : 1;
}

/* A big blob, a slice per loop turn so the rest of wasim goes on. */
static void check_slice(struct sim *sim, void *arg)
{
	struct phone_check *c = arg;
	uint64_t slice = SIM_PHONE_MEDIA_SLICE;
	if (sim->phone_media_inline_max && sim->phone_media_inline_max < slice)
		slice = sim->phone_media_inline_max; /* a test's small threshold: small slices too */
	if (sim_stopping(sim) || check_step(c, slice) != 0 || sim_defer(sim, 0, check_slice, c) != 0)
		check_free(c);
}

void sim_phone_media_check(struct sim *sim, const Wa__Message *m, json_t *rec)
{
	struct media_view v;
	if (!rec || !view_of(m, &v))
		return;
	json_t *o = json_object();
	json_object_set_new(o, "kind", json_string(v.kind));
	if (v.mimetype)
		json_object_set_new(o, "mimetype", json_string(v.mimetype));
	if (v.has_length)
		json_object_set_new(o, "file_length", json_integer((json_int_t)v.file_length));
	if (v.caption)
		json_object_set_new(o, "caption", json_string(v.caption));
	if (v.file_name)
		json_object_set_new(o, "file_name", json_string(v.file_name));
	if (v.direct_path)
		json_object_set_new(o, "direct_path", json_string(v.direct_path));
	if (m->audio_message) {
		json_object_set_new(o, "seconds", json_integer(m->audio_message->seconds));
		json_object_set_new(o, "waveform_len", json_integer((json_int_t)m->audio_message->waveform.len));
	}
	if (m->sticker_message)
		json_object_set_new(o, "animated", json_boolean(m->sticker_message->is_animated));
	json_object_set_new(rec, "media", o);
	struct phone_check *c = calloc(1, sizeof(*c));
	if (!c) {
		json_object_set_new(o, "verified", json_false());
		json_object_set_new(o, "error", json_string("out of memory"));
		return;
	}
	c->sim = sim;
	c->fd = -1;
	c->media = json_incref(o);
	const char *err = check_begin(sim, &v, c);
	uint64_t inline_max = sim->phone_media_inline_max ? sim->phone_media_inline_max : SIM_PHONE_MEDIA_INLINE;
	if (err) {
		json_object_set_new(o, "verified", json_false());
		json_object_set_new(o, "error", json_string(err));
	} else if (v.file_length > inline_max) {
		json_object_set_new(o, "pending", json_true());
		if (sim_defer(sim, 0, check_slice, c) == 0)
			return;
		(void)check_step(c, UINT64_MAX); /* no loop (the dispatch fuzz target): at once */
	} else
		(void)check_step(c, UINT64_MAX);
	check_free(c);
}

/* ---- sending ---- */

static int get_b64(json_t *o, const char *k, uint8_t **out, size_t *len)
{
	const char *s = json_string_value(json_object_get(o, k));
	*out = NULL;
	*len = 0;
	if (!json_object_get(o, k))
		return 0;
	if (!s)
		return WA_EINVAL;
	return wa_b64_decode(s, strlen(s), out, len) == 0 ? 0 : WA_EINVAL;
}

static uint32_t get_u32(json_t *o, const char *k)
{
	json_int_t v = json_integer_value(json_object_get(o, k));
	return v > 0 && v <= 0x7fffffff ? (uint32_t)v : 0;
}

int sim_phone_media_send(struct sim *sim, struct sim_account *a, struct sim_account *peer, bool lid, json_t *media,
	char *id_out, size_t id_cap, const char **why)
{
	static const struct {
		const char *kind, *mime;
		enum wa_media_type type;
	} kinds[] = {
		{ "image", "image/jpeg", WA_MEDIA_IMAGE }, { "video", "video/mp4", WA_MEDIA_VIDEO },
		{ "ptt", "audio/ogg; codecs=opus", WA_MEDIA_AUDIO }, { "audio", "audio/mpeg", WA_MEDIA_AUDIO },
		{ "document", "application/octet-stream", WA_MEDIA_DOCUMENT }, { "sticker", "image/webp", WA_MEDIA_IMAGE },
	};
	const char *kind = json_string_value(json_object_get(media, "kind"));
	size_t k = 0;
	while (kind && k < sizeof(kinds) / sizeof(*kinds) && strcmp(kinds[k].kind, kind) != 0)
		k++;
	*why = "media needs kind (image|video|ptt|audio|document|sticker) and data (base64)";
	if (!kind || k == sizeof(kinds) / sizeof(*kinds))
		return WA_EINVAL;
	uint8_t *data = NULL, *thumb = NULL, *wave = NULL, *blob = NULL, mk[WA_MEDIA_KEY_LEN];
	size_t data_len, thumb_len, wave_len, blob_len = 0;
	int rc;
	if (get_b64(media, "data", &data, &data_len) || !data || get_b64(media, "thumbnail", &thumb, &thumb_len) ||
	    get_b64(media, "waveform", &wave, &wave_len)) {
		rc = WA_EINVAL;
		goto out;
	}
	const char *mime = json_string_value(json_object_get(media, "mimetype"));
	const char *caption = json_string_value(json_object_get(media, "caption"));
	const char *file_name = json_string_value(json_object_get(media, "file_name"));
	if (!mime)
		mime = kinds[k].mime;
	/* the upload: a fresh key, the blob on the media host */
	wa_media_keys keys;
	wa_media_result res;
	char direct[160], url[256];
	wa_rand_bytes(mk, sizeof(mk));
	rc = wa_media_keys_derive(&keys, mk, kinds[k].type);
	if (rc == 0)
		rc = wa_media_encrypt(&blob, &blob_len, &res, &keys, data, data_len);
	wa_media_keys_clear(&keys);
	if (rc == 0)
		rc = sim_media_store(sim, blob, blob_len, direct, sizeof(direct));
	if (rc) {
		*why = "cannot encrypt or store the file";
		goto out;
	}
	sim_media_url(sim, direct, url, sizeof(url));
	ProtobufCBinaryData bk = { sizeof(mk), mk }, bsha = { 32, res.file_sha256 }, besha = { 32, res.file_enc_sha256 };
	ProtobufCBinaryData bthumb = { thumb_len, thumb }, bwave = { wave_len, wave };
	int64_t ts = sim_now();
	uint32_t w = get_u32(media, "width"), h = get_u32(media, "height"), secs = get_u32(media, "seconds");
	Wa__Message msg = WA__MESSAGE__INIT;
	Wa__Message__ImageMessage im = WA__MESSAGE__IMAGE_MESSAGE__INIT;
	Wa__Message__VideoMessage vm = WA__MESSAGE__VIDEO_MESSAGE__INIT;
	Wa__Message__AudioMessage am = WA__MESSAGE__AUDIO_MESSAGE__INIT;
	Wa__Message__DocumentMessage dm = WA__MESSAGE__DOCUMENT_MESSAGE__INIT;
	Wa__Message__StickerMessage sm = WA__MESSAGE__STICKER_MESSAGE__INIT;
#define FILL(x)                                                                                    \
	do {                                                                                       \
		(x).url = url, (x).direct_path = direct, (x).mimetype = (char *)mime;              \
		(x).has_media_key = 1, (x).media_key = bk;                                         \
		(x).has_file_sha256 = 1, (x).file_sha256 = bsha;                                   \
		(x).has_file_enc_sha256 = 1, (x).file_enc_sha256 = besha;                          \
		(x).has_file_length = 1, (x).file_length = res.file_length;                        \
		(x).has_media_key_timestamp = 1, (x).media_key_timestamp = ts;                     \
	} while (0)
	const char *mediatype = kind;
	switch (k) {
	case 0:
		FILL(im);
		im.caption = (char *)caption;
		im.has_width = w != 0, im.width = w, im.has_height = h != 0, im.height = h;
		im.has_jpeg_thumbnail = thumb != NULL, im.jpeg_thumbnail = bthumb;
		msg.image_message = &im;
		break;
	case 1:
		FILL(vm);
		vm.caption = (char *)caption;
		vm.has_width = w != 0, vm.width = w, vm.has_height = h != 0, vm.height = h;
		vm.has_seconds = 1, vm.seconds = secs;
		vm.has_jpeg_thumbnail = thumb != NULL, vm.jpeg_thumbnail = bthumb;
		msg.video_message = &vm;
		break;
	case 2:
	case 3:
		FILL(am);
		am.has_ptt = 1, am.ptt = k == 2;
		am.has_seconds = 1, am.seconds = secs;
		am.has_waveform = wave != NULL, am.waveform = bwave;
		msg.audio_message = &am;
		break;
	case 4:
		FILL(dm);
		if (!file_name)
			file_name = "file";
		dm.file_name = (char *)file_name, dm.title = (char *)file_name, dm.caption = (char *)caption;
		dm.has_page_count = get_u32(media, "page_count") != 0, dm.page_count = get_u32(media, "page_count");
		dm.has_jpeg_thumbnail = thumb != NULL, dm.jpeg_thumbnail = bthumb;
		msg.document_message = &dm;
		break;
	default:
		FILL(sm);
		sm.has_width = w != 0, sm.width = w, sm.has_height = h != 0, sm.height = h;
		sm.has_is_animated = 1, sm.is_animated = json_is_true(json_object_get(media, "animated"));
		msg.sticker_message = &sm;
		break;
	}
#undef FILL
	json_t *rec = NULL;
	rc = sim_phone_send_msg(sim, a, peer, lid, &msg, mediatype, id_out, id_cap, &rec);
	if (rc == 0 && rec) {
		json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:s}", "kind", kind, "mimetype", mime, "file_length",
			(json_int_t)res.file_length, "direct_path", direct, "url", url);
		if (o) {
			set_hex(o, "sha256", res.file_sha256, sizeof(res.file_sha256));
			set_hex(o, "enc_sha256", res.file_enc_sha256, sizeof(res.file_enc_sha256));
			/* what the receiver's message must carry, for tests to compare */
			set_hex(o, "media_key", mk, sizeof(mk));
			json_object_set_new(o, "media_key_timestamp", json_integer(ts));
			json_object_set_new(rec, "media", o);
		}
	}
	if (rc)
		*why = NULL;
out:
	wa_memzero(mk, sizeof(mk));
	free(data);
	free(thumb);
	free(wave);
	free(blob);
	return rc;
}
