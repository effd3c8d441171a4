/* JSON -> protobuf (msg.h): the inverse of wa_msg_pb_to_json, for a message
 * the daemon holds as Baileys' JSON (a quoted message embedded whole in a
 * reply). Walks protobuf-c's descriptors and writes the wire format
 * directly: lowerCamel (or snake) names, bytes as base64, enums by name or
 * number, 64-bit integers as decimal strings or numbers. Keys the schema
 * lacks and nulls are skipped, as protobufjs' fromObject does; a value of
 * the wrong JSON type is WA_EINVAL. The result is checked by wa_pb_unpack
 * wherever it is used. */
#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "pb.h"
#include "session/msg.h"
#include "util/codec.h"

#define IN_MAX_DEPTH 32

struct wbuf {
	uint8_t *p;
	size_t len, cap, max;
};

static int put(struct wbuf *b, const void *p, size_t n)
{
	if (b->len + n > b->max)
		return WA_ETOOBIG;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *q = realloc(b->p, cap);
		if (!q)
			return WA_ENOMEM;
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

static int varint(struct wbuf *b, uint64_t v)
{
	uint8_t t[10];
	size_t n = 0;
	do {
		t[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	return put(b, t, n);
}

static int tag(struct wbuf *b, uint32_t id, unsigned wt)
{
	return varint(b, ((uint64_t)id << 3) | wt);
}

/* a JSON integer, or a decimal string (protobufjs writes longs so) */
static int int_of(const json_t *v, bool sign, int64_t *s, uint64_t *u)
{
	if (json_is_integer(v)) {
		*s = json_integer_value(v);
		*u = (uint64_t)*s;
		return sign || *s >= 0 ? 0 : WA_EINVAL;
	}
	const char *str = json_string_value(v);
	char *end = NULL;
	if (!str || !*str)
		return WA_EINVAL;
	if (sign) {
		*s = strtoll(str, &end, 10);
		*u = (uint64_t)*s;
	} else {
		if (*str == '-')
			return WA_EINVAL;
		*u = strtoull(str, &end, 10);
		*s = (int64_t)*u;
	}
	return *end ? WA_EINVAL : 0;
}

static int encode_msg(struct wbuf *b, const ProtobufCMessageDescriptor *d, const json_t *o, int depth);

static int encode_value(struct wbuf *b, const ProtobufCFieldDescriptor *f, const json_t *v, int depth)
{
	int64_t s = 0;
	uint64_t u = 0;
	int rc;
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_INT64:
		if ((rc = int_of(v, true, &s, &u)))
			return rc;
		return (rc = tag(b, f->id, 0)) ? rc : varint(b, (uint64_t)s);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_UINT64:
		if ((rc = int_of(v, false, &s, &u)))
			return rc;
		return (rc = tag(b, f->id, 0)) ? rc : varint(b, u);
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SINT64:
		if ((rc = int_of(v, true, &s, &u)))
			return rc;
		return (rc = tag(b, f->id, 0)) ? rc : varint(b, ((uint64_t)s << 1) ^ (uint64_t)(s >> 63));
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_SFIXED32: {
		if ((rc = int_of(v, f->type == PROTOBUF_C_TYPE_SFIXED32, &s, &u)))
			return rc;
		uint8_t t[4] = { (uint8_t)u, (uint8_t)(u >> 8), (uint8_t)(u >> 16), (uint8_t)(u >> 24) };
		return (rc = tag(b, f->id, 5)) ? rc : put(b, t, 4);
	}
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_SFIXED64: {
		if ((rc = int_of(v, f->type == PROTOBUF_C_TYPE_SFIXED64, &s, &u)))
			return rc;
		uint8_t t[8];
		for (int i = 0; i < 8; i++)
			t[i] = (uint8_t)(u >> (8 * i));
		return (rc = tag(b, f->id, 1)) ? rc : put(b, t, 8);
	}
	case PROTOBUF_C_TYPE_FLOAT: {
		if (!json_is_number(v))
			return WA_EINVAL;
		float x = (float)json_number_value(v);
		uint32_t w;
		memcpy(&w, &x, 4);
		uint8_t t[4] = { (uint8_t)w, (uint8_t)(w >> 8), (uint8_t)(w >> 16), (uint8_t)(w >> 24) };
		return (rc = tag(b, f->id, 5)) ? rc : put(b, t, 4);
	}
	case PROTOBUF_C_TYPE_DOUBLE: {
		if (!json_is_number(v))
			return WA_EINVAL;
		double x = json_number_value(v);
		uint64_t w;
		memcpy(&w, &x, 8);
		uint8_t t[8];
		for (int i = 0; i < 8; i++)
			t[i] = (uint8_t)(w >> (8 * i));
		return (rc = tag(b, f->id, 1)) ? rc : put(b, t, 8);
	}
	case PROTOBUF_C_TYPE_BOOL:
		if (!json_is_boolean(v))
			return WA_EINVAL;
		return (rc = tag(b, f->id, 0)) ? rc : varint(b, json_is_true(v) ? 1 : 0);
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumValue *ev = json_is_string(v) ?
			protobuf_c_enum_descriptor_get_value_by_name(f->descriptor, json_string_value(v)) :
			json_is_integer(v) ? protobuf_c_enum_descriptor_get_value(f->descriptor, (int)json_integer_value(v)) : NULL;
		if (!ev)
			return WA_EINVAL;
		return (rc = tag(b, f->id, 0)) ? rc : varint(b, (uint64_t)(int64_t)ev->value);
	}
	case PROTOBUF_C_TYPE_STRING: {
		const char *str = json_string_value(v);
		if (!str)
			return WA_EINVAL;
		size_t n = json_string_length(v);
		if ((rc = tag(b, f->id, 2)) || (rc = varint(b, n)))
			return rc;
		return put(b, str, n);
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const char *str = json_string_value(v);
		uint8_t *raw = NULL;
		size_t n = 0;
		if (!str || wa_b64_decode(str, strlen(str), &raw, &n) != 0)
			return WA_EINVAL;
		rc = tag(b, f->id, 2);
		if (rc == 0)
			rc = varint(b, n);
		if (rc == 0 && n)
			rc = put(b, raw, n);
		free(raw);
		return rc;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		if (!json_is_object(v))
			return WA_EINVAL;
		struct wbuf sub = { .max = b->max };
		rc = encode_msg(&sub, f->descriptor, v, depth + 1);
		if (rc == 0)
			rc = tag(b, f->id, 2);
		if (rc == 0)
			rc = varint(b, sub.len);
		if (rc == 0 && sub.len)
			rc = put(b, sub.p, sub.len);
		free(sub.p);
		return rc;
	}
	}
	return WA_EINVAL;
}

/* lowerCamel key of a snake_case field name, or the name itself */
static bool name_is(const char *field, const char *key)
{
	if (strcmp(field, key) == 0)
		return true;
	for (;; field++, key++) {
		if (*field == '_') {
			field++;
			if (toupper((unsigned char)*field) != *key)
				return false;
		} else if (*field != *key) {
			return false;
		}
		if (!*field)
			return true;
	}
}

static int encode_msg(struct wbuf *b, const ProtobufCMessageDescriptor *d, const json_t *o, int depth)
{
	if (depth > IN_MAX_DEPTH)
		return WA_EDEPTH;
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)o, key, v) {
		const ProtobufCFieldDescriptor *f = NULL;
		for (unsigned i = 0; i < d->n_fields && !f; i++)
			if (name_is(d->fields[i].name, key))
				f = &d->fields[i];
		if (!f || json_is_null(v))
			continue;
		int rc = 0;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t i;
			json_t *e;
			if (!json_is_array(v))
				return WA_EINVAL;
			json_array_foreach(v, i, e) {
				if ((rc = encode_value(b, f, e, depth)))
					return rc;
			}
		} else if ((rc = encode_value(b, f, v, depth))) {
			return rc;
		}
	}
	return 0;
}

int wa_msg_pb_from_json(const ProtobufCMessageDescriptor *d, const char *json, size_t max, uint8_t **out,
	size_t *out_len)
{
	if (!d || !json || !out || !out_len)
		return WA_EINVAL;
	json_t *o = json_loads(json, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(o)) {
		json_decref(o);
		return WA_EINVAL;
	}
	struct wbuf b = { .max = max };
	int rc = encode_msg(&b, d, o, 1);
	json_decref(o);
	if (rc == 0 && !b.p && !(b.p = malloc(1)))
		rc = WA_ENOMEM;
	if (rc) {
		free(b.p);
		return rc;
	}
	*out = b.p;
	*out_len = b.len;
	return 0;
}
