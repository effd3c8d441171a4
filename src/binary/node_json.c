/* JSON <-> wa_node conversion (see node_json.h). Recursion is bounded by
 * WA_BIN_MAX_DEPTH in both directions; jansson's own parser stops at 2048. */
#include "binary/node_json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binary/limits.h"
#include "util/codec.h"

struct jctx {
	char *why;
	size_t why_cap;
};

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int fail(struct jctx *c, int rc, const char *fmt, ...)
{
	/* keep the innermost (first) reason */
	if (c->why && c->why_cap && !c->why[0]) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->why, c->why_cap, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* A JSON string usable as a node string: no NUL inside (jansson can hold one). */
static int get_string(struct jctx *c, const json_t *j, const char *what, const char **out)
{
	if (!json_is_string(j))
		return fail(c, WA_ETYPE, "%s must be a string", what);
	const char *s = json_string_value(j);
	size_t len = json_string_length(j);
	if (strlen(s) != len)
		return fail(c, WA_EMALFORMED, "%s contains a NUL character", what);
	if (len > WA_BIN_MAX_STRING)
		return fail(c, WA_ETOOBIG, "%s is longer than %d bytes", what, WA_BIN_MAX_STRING);
	*out = s;
	return 0;
}

static int from_json(struct jctx *c, const json_t *j, int depth, wa_node **out);

static int set_content(struct jctx *c, wa_node *n, const json_t *content, int depth)
{
	int rc;
	if (json_is_string(content)) {
		const char *s;
		rc = get_string(c, content, "content", &s);
		if (rc == 0)
			rc = wa_node_set_string(n, s);
		return rc ? fail(c, rc, "content string rejected: %s", wa_strerror(rc)) : 0;
	}
	if (json_is_array(content)) {
		size_t count = json_array_size(content);
		if (count > WA_BIN_MAX_CHILDREN)
			return fail(c, WA_ETOOBIG, "more than %d children", WA_BIN_MAX_CHILDREN);
		wa_node_set_list(n);
		for (size_t i = 0; i < count; i++) {
			wa_node *child;
			rc = from_json(c, json_array_get(content, i), depth + 1, &child);
			if (rc)
				return rc;
			rc = wa_node_add_child(n, child);
			if (rc) {
				wa_node_free(child);
				return fail(c, rc, "cannot add child: %s", wa_strerror(rc));
			}
		}
		return 0;
	}
	if (json_is_object(content)) {
		const json_t *b64 = json_object_get(content, "base64");
		if (!b64 || json_object_size(content) != 1)
			return fail(c, WA_EMALFORMED, "content object must be exactly {\"base64\": \"...\"}");
		if (!json_is_string(b64))
			return fail(c, WA_ETYPE, "content.base64 must be a string");
		size_t slen = json_string_length(b64);
		if (slen > (size_t)WA_BIN_MAX_STANZA / 3 * 4 + 4)
			return fail(c, WA_ETOOBIG, "content.base64 is too long");
		uint8_t *bytes;
		size_t blen;
		rc = wa_b64_decode(json_string_value(b64), slen, &bytes, &blen);
		if (rc)
			return fail(c, rc, "content.base64 is not valid base64");
		rc = wa_node_set_bytes(n, bytes, blen);
		free(bytes);
		return rc ? fail(c, rc, "content bytes rejected: %s", wa_strerror(rc)) : 0;
	}
	return fail(c, WA_ETYPE, "content must be an array, a string or {\"base64\": ...}");
}

static int from_json(struct jctx *c, const json_t *j, int depth, wa_node **out)
{
	if (depth > WA_BIN_MAX_DEPTH)
		return fail(c, WA_EDEPTH, "nodes nested deeper than %d", WA_BIN_MAX_DEPTH);
	if (!json_is_object(j))
		return fail(c, WA_ETYPE, "a node must be a JSON object");
	for (void *it = json_object_iter((json_t *)j); it; it = json_object_iter_next((json_t *)j, it)) {
		const char *key = json_object_iter_key(it);
		size_t klen = json_object_iter_key_len(it);
		if (klen != strlen(key) ||
		    (strcmp(key, "tag") != 0 && strcmp(key, "attrs") != 0 && strcmp(key, "content") != 0))
			return fail(c, WA_EMALFORMED, "unknown member \"%.40s\" in a node", key);
	}
	const char *tag;
	const json_t *jt = json_object_get(j, "tag");
	if (!jt)
		return fail(c, WA_EMALFORMED, "node without \"tag\"");
	int rc = get_string(c, jt, "tag", &tag);
	if (rc)
		return rc;
	if (!tag[0])
		return fail(c, WA_EMALFORMED, "empty tag");
	wa_node *n;
	rc = wa_node_new(&n, tag);
	if (rc)
		return fail(c, rc, "tag \"%.40s\" rejected: %s", tag, wa_strerror(rc));

	const json_t *attrs = json_object_get(j, "attrs");
	if (attrs && !json_is_object(attrs)) {
		rc = fail(c, WA_ETYPE, "<%.40s>: attrs must be an object", tag);
		goto done;
	}
	if (attrs && json_object_size(attrs) > WA_BIN_MAX_ATTRS) {
		rc = fail(c, WA_ETOOBIG, "<%.40s>: more than %d attributes", tag, WA_BIN_MAX_ATTRS);
		goto done;
	}
	if (attrs) {
		/* jansson keeps object members in insertion order, so attributes
		 * keep the order they had in the text */
		for (void *it = json_object_iter((json_t *)attrs); it;
		     it = json_object_iter_next((json_t *)attrs, it)) {
			const char *key = json_object_iter_key(it);
			const json_t *val = json_object_iter_value(it);
			const char *v;
			if (json_object_iter_key_len(it) != strlen(key)) {
				rc = fail(c, WA_EMALFORMED, "<%.40s>: attribute name contains a NUL character", tag);
				goto done;
			}
			if (strlen(key) > WA_BIN_MAX_STRING) {
				rc = fail(c, WA_ETOOBIG, "<%.40s>: attribute name too long", tag);
				goto done;
			}
			rc = get_string(c, val, "attribute value", &v);
			if (rc)
				goto done;
			if (wa_node_attr(n, key)) {
				/* JSON objects built in code may repeat a key; never
				 * merge two attributes silently */
				rc = fail(c, WA_EEXIST, "<%.40s>: repeated attribute \"%.40s\"", tag, key);
				goto done;
			}
			rc = wa_node_set_attr(n, key, v);
			if (rc) {
				rc = fail(c, rc, "<%.40s>: attribute \"%.40s\" rejected: %s", tag, key,
					  wa_strerror(rc));
				goto done;
			}
		}
	}
	const json_t *content = json_object_get(j, "content");
	if (content)
		rc = set_content(c, n, content, depth);
done:
	if (rc) {
		wa_node_free(n);
		return rc;
	}
	*out = n;
	return 0;
}

int wa_node_from_json(wa_node **out, const json_t *j, char *why, size_t why_cap)
{
	struct jctx c = { why, why_cap };
	if (why && why_cap)
		why[0] = '\0';
	return from_json(&c, j, 1, out);
}

int wa_node_from_json_text(wa_node **out, const char *text, size_t len, char *why, size_t why_cap)
{
	struct jctx c = { why, why_cap };
	if (why && why_cap)
		why[0] = '\0';
	json_error_t err;
	json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
	if (!j)
		return fail(&c, WA_EMALFORMED, "JSON line %d column %d: %s", err.line, err.column, err.text);
	int rc = from_json(&c, j, 1, out);
	json_decref(j);
	return rc;
}

static int to_json(const wa_node *n, int depth, json_t **out)
{
	if (depth > WA_BIN_MAX_DEPTH)
		return WA_EDEPTH;
	json_t *o = json_object();
	json_t *attrs = NULL;
	int rc = WA_ENOMEM;
	if (!o || json_object_set_new(o, "tag", json_string(wa_node_tag(n))) != 0)
		goto done;
	if (wa_node_n_attrs(n)) {
		attrs = json_object();
		if (!attrs)
			goto done;
		for (size_t i = 0; i < wa_node_n_attrs(n); i++)
			if (json_object_set_new(attrs, wa_node_attr_key(n, i),
						json_string(wa_node_attr_value(n, i))) != 0)
				goto done;
		json_t *a = attrs;
		attrs = NULL; /* the _new setters take the reference even on failure */
		if (json_object_set_new(o, "attrs", a) != 0)
			goto done;
	}
	json_t *content = NULL;
	switch (wa_node_content_kind(n)) {
	case WA_NODE_NONE:
		break;
	case WA_NODE_STRING:
		content = json_string(wa_node_string(n));
		if (!content)
			goto done;
		break;
	case WA_NODE_BYTES: {
		size_t len;
		const uint8_t *p = wa_node_bytes(n, &len);
		char *b64 = wa_b64_encode(p, len);
		if (!b64)
			goto done;
		content = json_pack("{s:s}", "base64", b64);
		free(b64);
		if (!content)
			goto done;
		break;
	}
	case WA_NODE_LIST:
		content = json_array();
		if (!content)
			goto done;
		for (size_t i = 0; i < wa_node_n_children(n); i++) {
			json_t *child;
			int crc = to_json(wa_node_child_at(n, i), depth + 1, &child);
			if (crc == 0 && json_array_append_new(content, child) != 0)
				crc = WA_ENOMEM;
			if (crc) {
				json_decref(content);
				rc = crc;
				goto done;
			}
		}
		break;
	}
	if (content && json_object_set_new(o, "content", content) != 0)
		goto done;
	*out = o;
	return 0;
done:
	json_decref(attrs);
	json_decref(o);
	return rc;
}

int wa_node_to_json(json_t **out, const wa_node *n)
{
	return to_json(n, 1, out);
}

int wa_node_to_json_text(char **out, const wa_node *n, bool pretty)
{
	json_t *j;
	int rc = to_json(n, 1, &j);
	if (rc)
		return rc;
	char *s = json_dumps(j, pretty ? JSON_INDENT(2) : JSON_COMPACT);
	json_decref(j);
	if (!s)
		return WA_ENOMEM;
	*out = s;
	return 0;
}
