/* Received Message -> what WA_EV_MESSAGE carries: the Baileys-style JSON of
 * the Message (the daemon never parses protobuf), its content type name as
 * Baileys' getContentType gives it, and the body text. The JSON is produced
 * by walking protobuf-c's descriptors, so every field our schema declares is
 * rendered the way protobufjs' toJSON writes it (lowerCamel names, bytes as
 * base64, enums by name, 64-bit integers as decimal strings). What depends
 * on the kind (messageType, text, whether it is emitted) comes from the
 * kinds table (kinds.h). */
#include <ctype.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "message.pb-c.h"
#include "pb.h"
#include "session/kinds.h"
#include "util/buf.h"
#include "util/codec.h"
#include "util/jsonstr.h"

#define JSON_MAX_DEPTH 64

static void camel(const char *in, char *out, size_t cap)
{
	size_t o = 0;
	bool up = false;
	for (const char *p = in; *p && o + 1 < cap; p++) {
		if (*p == '_') {
			up = true;
			continue;
		}
		out[o++] = up ? (char)toupper((unsigned char)*p) : *p;
		up = false;
	}
	out[o] = '\0';
}

static json_t *msg_to_json(const ProtobufCMessage *m, int depth);

static json_t *value_to_json(const ProtobufCFieldDescriptor *f, const void *p, int depth)
{
	char buf[32];
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return json_integer(*(const int32_t *)p);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return json_integer(*(const uint32_t *)p);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		snprintf(buf, sizeof buf, "%lld", (long long)*(const int64_t *)p);
		return json_string(buf);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		snprintf(buf, sizeof buf, "%llu", (unsigned long long)*(const uint64_t *)p);
		return json_string(buf);
	case PROTOBUF_C_TYPE_FLOAT:
		return json_real(*(const float *)p);
	case PROTOBUF_C_TYPE_DOUBLE:
		return json_real(*(const double *)p);
	case PROTOBUF_C_TYPE_BOOL:
		return json_boolean(*(const protobuf_c_boolean *)p);
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumValue *ev =
			protobuf_c_enum_descriptor_get_value(f->descriptor, *(const int *)p);
		if (ev)
			return json_string(ev->name);
		return json_integer(*(const int *)p);
	}
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;
		if (!s)
			return json_null();
		/* a peer's string may not be UTF-8: render it as null, not fail */
		json_t *j = json_stringn(s, strlen(s));
		return j ? j : json_null();
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = p;
		char *e = wa_b64_encode(b->data, b->len);
		if (!e)
			return NULL;
		json_t *j = json_string(e);
		free(e);
		return j;
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		return msg_to_json(*(ProtobufCMessage *const *)p, depth + 1);
	}
	return json_null();
}

static size_t type_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32: case PROTOBUF_C_TYPE_ENUM:
		return 4;
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
		return 8;
	case PROTOBUF_C_TYPE_FLOAT:
		return 4;
	case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	}
	return 0;
}

static json_t *msg_to_json(const ProtobufCMessage *m, int depth)
{
	if (!m || depth > JSON_MAX_DEPTH)
		return json_null();
	const ProtobufCMessageDescriptor *d = m->descriptor;
	json_t *o = json_object();
	if (!o)
		return NULL;
	const char *base = (const char *)m;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const void *p = base + f->offset;
		char name[96];
		camel(f->name, name, sizeof name);
		json_t *v = NULL;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + f->quantifier_offset);
			if (n == 0)
				continue;
			const char *arr = *(char *const *)p;
			v = json_array();
			size_t sz = type_size(f);
			for (size_t k = 0; v && k < n; k++) {
				json_t *e = value_to_json(f, arr + k * sz, depth);
				if (!e || json_array_append_new(v, e) != 0) {
					json_decref(v);
					v = NULL;
				}
			}
		} else {
			bool present;
			if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE)
				present = *(void *const *)p != NULL;
			else if (f->quantifier_offset)
				present = *(const protobuf_c_boolean *)(base + f->quantifier_offset);
			else
				present = true;
			if (!present)
				continue;
			v = value_to_json(f, p, depth);
		}
		if (!v || json_object_set_new(o, name, v) != 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

/* ---- the same JSON written straight into a buffer ----
 * Every message's JSON went through a jansson tree and its dump, the
 * largest cost of a history import after SQLite. This writes what
 * json_dumps(msg_to_json(m), JSON_COMPACT) writes: strings with jansson's
 * checks and escapes (jsonstr.h), integers as jansson prints them. A float or double leaves the whole
 * message to the tree (W_TREE): jansson's number format is its own. */
#define W_TREE 1

static void w_lit(wa_writer *w, const char *s)
{
	(void)wa_wr_bytes(w, s, strlen(s));
}

static int w_str(wa_writer *w, const char *s)
{
	if (wa_json_str(w, s) != 0)
		w_lit(w, "null"); /* not UTF-8: as value_to_json renders it */
	return 0;
}

static int w_msg(wa_writer *w, const ProtobufCMessage *m, int depth);

static int w_value(wa_writer *w, const ProtobufCFieldDescriptor *f, const void *p, int depth)
{
	char buf[48];
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		snprintf(buf, sizeof buf, "%d", (int)*(const int32_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		snprintf(buf, sizeof buf, "%u", (unsigned)*(const uint32_t *)p);
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		snprintf(buf, sizeof buf, "\"%lld\"", (long long)*(const int64_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		snprintf(buf, sizeof buf, "\"%llu\"", (unsigned long long)*(const uint64_t *)p);
		break;
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_DOUBLE:
		return W_TREE;
	case PROTOBUF_C_TYPE_BOOL:
		snprintf(buf, sizeof buf, "%s", *(const protobuf_c_boolean *)p ? "true" : "false");
		break;
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, *(const int *)p);
		if (ev)
			return w_str(w, ev->name);
		snprintf(buf, sizeof buf, "%d", *(const int *)p);
		break;
	}
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;
		if (!s) {
			w_lit(w, "null");
			return 0;
		}
		return w_str(w, s);
	}
	case PROTOBUF_C_TYPE_BYTES: {
		/* base64 needs no escape */
		const ProtobufCBinaryData *b = p;
		char *e = wa_b64_encode(b->data, b->len);
		if (!e)
			return WA_ENOMEM;
		w_lit(w, "\"");
		w_lit(w, e);
		w_lit(w, "\"");
		free(e);
		return 0;
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		return w_msg(w, *(ProtobufCMessage *const *)p, depth + 1);
	default:
		snprintf(buf, sizeof buf, "null");
	}
	w_lit(w, buf);
	return 0;
}

static int w_msg(wa_writer *w, const ProtobufCMessage *m, int depth)
{
	if (!m || depth > JSON_MAX_DEPTH) {
		w_lit(w, "null");
		return 0;
	}
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const char *base = (const char *)m;
	bool first = true;
	w_lit(w, "{");
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const void *p = base + f->offset;
		size_t n = 1;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			n = *(const size_t *)(base + f->quantifier_offset);
			if (n == 0)
				continue;
		} else if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE) {
			if (*(void *const *)p == NULL)
				continue;
		} else if (f->quantifier_offset && !*(const protobuf_c_boolean *)(base + f->quantifier_offset)) {
			continue;
		}
		char name[96];
		camel(f->name, name, sizeof name);
		w_lit(w, first ? "\"" : ",\"");
		w_lit(w, name);
		w_lit(w, "\":");
		first = false;
		int rc = 0;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			const char *arr = *(char *const *)p;
			size_t sz = type_size(f);
			w_lit(w, "[");
			for (size_t k = 0; rc == 0 && k < n; k++) {
				if (k)
					w_lit(w, ",");
				rc = w_value(w, f, arr + k * sz, depth);
			}
			w_lit(w, "]");
		} else {
			rc = w_value(w, f, p, depth);
		}
		if (rc)
			return rc;
	}
	w_lit(w, "}");
	return 0;
}

/* msg_to_json and json_dumps, the way the writer above replaces them */
static int tree_json(const void *pb_message, char **out)
{
	json_t *j = msg_to_json(pb_message, 0);
	if (!j)
		return WA_ENOMEM;
	char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (!s)
		return WA_ENOMEM;
	*out = s;
	return 0;
}

int wa_msg_pb_to_json_tree(const void *pb_message, char **out)
{
	if (!pb_message || !out)
		return WA_EINVAL;
	return tree_json(pb_message, out);
}

int wa_msg_pb_to_json(const void *pb_message, char **out)
{
	if (!pb_message || !out)
		return WA_EINVAL;
	wa_writer w;
	wa_writer_init(&w, SIZE_MAX);
	int rc = w_msg(&w, pb_message, 0);
	if (rc == W_TREE) {
		wa_writer_clear(&w, false);
		return tree_json(pb_message, out);
	}
	if (rc == 0)
		(void)wa_wr_bytes(&w, "", 1);
	if (rc == 0 && wa_wr_error(&w))
		rc = WA_ENOMEM;
	if (rc) {
		wa_writer_clear(&w, false);
		return rc;
	}
	size_t len;
	*out = (char *)wa_writer_steal(&w, &len);
	return 0;
}

void wa_msg_view_clear(wa_msg_view *v)
{
	if (!v)
		return;
	free(v->dsm_dest);
	free(v->message_type);
	free(v->text);
	free(v->json);
	memset(v, 0, sizeof *v);
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

bool wa_msg_is_history_sync(const uint8_t *pt, size_t len)
{
	ProtobufCMessage *pb = NULL;
	if (!pt || wa_pb_unpack(&pb, &wa__message__descriptor, pt, len, WA_SIG_MAX_PLAINTEXT) != 0)
		return false;
	const Wa__Message *m = (const Wa__Message *)pb;
	if (m->device_sent_message && m->device_sent_message->message)
		m = m->device_sent_message->message;
	bool hs = m->protocol_message && m->protocol_message->history_sync_notification;
	protobuf_c_message_free_unpacked(pb, NULL);
	return hs;
}

/* A Message without any content our schema knows: the known fields as
 * usual, plus its unknown ones raw, so a future kind reaches the embedder
 * instead of being dropped. */
static int unknown_json(const Wa__Message *m, char **out)
{
	json_t *j = msg_to_json(&m->base, 0), *arr = json_array();
	for (unsigned i = 0; j && arr && i < m->base.n_unknown_fields; i++) {
		const ProtobufCMessageUnknownField *u = &m->base.unknown_fields[i];
		/* protobuf-c keeps a length-delimited field's length prefix: skip it */
		size_t skip = 0;
		if (u->wire_type == PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED)
			while (skip < u->len && skip < 10 && (u->data[skip++] & 0x80))
				;
		char *d = wa_b64_encode(u->data + skip, u->len - skip);
		json_t *e = d ? json_pack("{s:I, s:i, s:s}", "field", (json_int_t)u->tag, "wireType",
					  (int)u->wire_type, "data", d) : NULL;
		free(d);
		if (!e || json_array_append_new(arr, e) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	if (!j || !arr || json_object_set_new(j, "unknownFields", arr) != 0) {
		json_decref(j);
		return WA_ENOMEM;
	}
	char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (!s)
		return WA_ENOMEM;
	*out = s;
	return 0;
}

int wa_msg_view_parse(const uint8_t *pt, size_t len, wa_msg_view *out)
{
	if (!out || (!pt && len))
		return WA_EINVAL;
	ProtobufCMessage *pb = NULL;
	int rc = wa_pb_unpack(&pb, &wa__message__descriptor, pt, len, WA_SIG_MAX_PLAINTEXT);
	if (rc != 0)
		return rc;
	rc = wa_msg_view_of((const Wa__Message *)pb, out);
	protobuf_c_message_free_unpacked(pb, NULL);
	return rc;
}

int wa_msg_view_of(const Wa__Message *m, wa_msg_view *out)
{
	if (!m || !out)
		return WA_EINVAL;
	wa_msg_view v = {0};
	int rc = WA_ENOMEM;
	if (m->device_sent_message && m->device_sent_message->message) {
		if (m->device_sent_message->destination_jid &&
		    !(v.dsm_dest = strdup(m->device_sent_message->destination_jid)))
			goto out;
		m = m->device_sent_message->message;
	}
	const char *ct = wa_msg_content_field(m);
	if (ct) {
		const wa_msg_kind *k = wa_msg_kind_of_field(ct);
		char name[96];
		if (k->message_type)
			snprintf(name, sizeof name, "%s", k->message_type);
		else
			camel(ct, name, sizeof name);
		if (!(v.message_type = strdup(name)))
			goto out;
	}
	else if (m->base.n_unknown_fields && !(v.message_type = strdup("unknown")))
		goto out;
	v.emit = wa_msg_kind_emitted(m);
	const char *t = wa_msg_kind_text(m);
	if (t && !(v.text = dup_or_null(t)))
		goto out;
	v.is_reaction = m->reaction_message != NULL;
	v.is_protocol = m->protocol_message != NULL;
	v.has_skdm = m->sender_key_distribution_message != NULL;
	if ((rc = ct ? wa_msg_pb_to_json(m, &v.json) : unknown_json(m, &v.json)) != 0)
		goto out;
	*out = v;
	memset(&v, 0, sizeof v);
	rc = 0;
out:
	wa_msg_view_clear(&v);
	return rc;
}
