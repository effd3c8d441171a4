/* wa_node tree: construction, accessors, comparison and an iterative free
 * (a hostile or buggy tree of any depth must not exhaust the stack). */
#include "binary/node_priv.h"

#include <stdlib.h>
#include <string.h>

#include "binary/limits.h"

bool wa_bin_valid_string(const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0;
	while (i < len) {
		uint8_t c = p[i];
		if (c < 0x80) {
			if (c == 0)
				return false;
			i++;
			continue;
		}
		size_t n;
		uint32_t cp, min;
		if ((c & 0xE0) == 0xC0) {
			n = 2, cp = c & 0x1F, min = 0x80;
		} else if ((c & 0xF0) == 0xE0) {
			n = 3, cp = c & 0x0F, min = 0x800;
		} else if ((c & 0xF8) == 0xF0) {
			n = 4, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (n > len - i)
			return false;
		for (size_t k = 1; k < n; k++) {
			if ((p[i + k] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += n;
	}
	return true;
}

/* Validates and copies a caller's string. */
static int dup_string(const char *s, char **out, size_t *out_len)
{
	if (!s)
		return WA_EINVAL;
	size_t len = strnlen(s, (size_t)WA_BIN_MAX_STRING + 1);
	if (len > WA_BIN_MAX_STRING)
		return WA_ETOOBIG;
	if (!wa_bin_valid_string(s, len))
		return WA_EMALFORMED;
	char *p = malloc(len + 1);
	if (!p)
		return WA_ENOMEM;
	memcpy(p, s, len + 1);
	*out = p;
	*out_len = len;
	return 0;
}

int wa_node_new(wa_node **out, const char *tag)
{
	char *t;
	size_t tlen;
	int rc = dup_string(tag, &t, &tlen);
	if (rc)
		return rc;
	if (tlen == 0) {
		free(t);
		return WA_EMALFORMED;
	}
	wa_node *n = calloc(1, sizeof *n);
	if (!n) {
		free(t);
		return WA_ENOMEM;
	}
	n->tag = t;
	n->tag_len = tlen;
	*out = n;
	return 0;
}

/* Frees everything a node owns except its children (the caller has taken them). */
static void free_own(wa_node *n)
{
	for (size_t i = 0; i < n->n_attrs; i++) {
		free(n->attrs[i].key);
		free(n->attrs[i].value);
	}
	free(n->attrs);
	free(n->tag);
	switch (n->kind) {
	case WA_NODE_LIST:
		free(n->c.list.v);
		break;
	case WA_NODE_BYTES:
		free(n->c.bytes.p);
		break;
	case WA_NODE_STRING:
		free(n->c.str.s);
		break;
	case WA_NODE_NONE:
		break;
	}
	free(n);
}

void wa_node_free(wa_node *n)
{
	if (!n)
		return;
	/* A work list threaded through the nodes themselves: no recursion and no
	 * allocation, so freeing never fails and never runs out of stack. */
	n->free_next = NULL;
	wa_node *todo = n;
	while (todo) {
		wa_node *cur = todo;
		todo = cur->free_next;
		if (cur->kind == WA_NODE_LIST) {
			for (size_t i = 0; i < cur->c.list.n; i++) {
				wa_node *ch = cur->c.list.v[i];
				ch->free_next = todo;
				todo = ch;
			}
		}
		free_own(cur);
	}
}

const char *wa_node_tag(const wa_node *n) { return n->tag; }
size_t wa_node_n_attrs(const wa_node *n) { return n->n_attrs; }

const char *wa_node_attr_key(const wa_node *n, size_t i)
{
	return i < n->n_attrs ? n->attrs[i].key : NULL;
}

const char *wa_node_attr_value(const wa_node *n, size_t i)
{
	return i < n->n_attrs ? n->attrs[i].value : NULL;
}

static struct wa_node_attr *find_attr(const wa_node *n, const char *key)
{
	for (size_t i = 0; i < n->n_attrs; i++)
		if (strcmp(n->attrs[i].key, key) == 0)
			return &n->attrs[i];
	return NULL;
}

const char *wa_node_attr(const wa_node *n, const char *key)
{
	struct wa_node_attr *a = find_attr(n, key);
	return a ? a->value : NULL;
}

int wa_node_push_attr_owned(wa_node *n, char *key, size_t key_len, char *value, size_t value_len)
{
	if (n->n_attrs >= WA_BIN_MAX_ATTRS)
		return WA_ETOOBIG;
	if (n->n_attrs == n->attrs_cap) {
		size_t cap = n->attrs_cap ? n->attrs_cap * 2 : 4;
		struct wa_node_attr *v = realloc(n->attrs, cap * sizeof *v);
		if (!v)
			return WA_ENOMEM;
		n->attrs = v;
		n->attrs_cap = cap;
	}
	n->attrs[n->n_attrs++] = (struct wa_node_attr){ key, value, key_len, value_len };
	return 0;
}

int wa_node_set_attr(wa_node *n, const char *key, const char *value)
{
	if (!key)
		return WA_EINVAL;
	char *v;
	size_t vlen;
	int rc = dup_string(value, &v, &vlen);
	if (rc)
		return rc;
	struct wa_node_attr *a = find_attr(n, key);
	if (a) {
		free(a->value);
		a->value = v;
		a->value_len = vlen;
		return 0;
	}
	char *k;
	size_t klen;
	rc = dup_string(key, &k, &klen);
	if (rc) {
		free(v);
		return rc;
	}
	rc = wa_node_push_attr_owned(n, k, klen, v, vlen);
	if (rc) {
		free(k);
		free(v);
	}
	return rc;
}

int wa_node_del_attr(wa_node *n, const char *key)
{
	struct wa_node_attr *a = find_attr(n, key);
	if (!a)
		return WA_ENOTFOUND;
	size_t i = (size_t)(a - n->attrs);
	free(a->key);
	free(a->value);
	memmove(&n->attrs[i], &n->attrs[i + 1], (n->n_attrs - i - 1) * sizeof *a);
	n->n_attrs--;
	return 0;
}

enum wa_node_content wa_node_content_kind(const wa_node *n) { return n->kind; }

size_t wa_node_n_children(const wa_node *n)
{
	return n->kind == WA_NODE_LIST ? n->c.list.n : 0;
}

wa_node *wa_node_child_at(const wa_node *n, size_t i)
{
	return i < wa_node_n_children(n) ? n->c.list.v[i] : NULL;
}

wa_node *wa_node_child(const wa_node *n, const char *tag)
{
	for (size_t i = 0; i < wa_node_n_children(n); i++)
		if (strcmp(n->c.list.v[i]->tag, tag) == 0)
			return n->c.list.v[i];
	return NULL;
}

const uint8_t *wa_node_bytes(const wa_node *n, size_t *len)
{
	if (n->kind != WA_NODE_BYTES)
		return NULL;
	*len = n->c.bytes.len;
	/* never NULL for BYTES content, even when empty */
	return n->c.bytes.p ? n->c.bytes.p : (const uint8_t *)"";
}

const char *wa_node_string(const wa_node *n)
{
	return n->kind == WA_NODE_STRING ? n->c.str.s : NULL;
}

int wa_node_content_bytes(const wa_node *n, const uint8_t **p, size_t *len)
{
	if (n->kind == WA_NODE_BYTES) {
		*p = wa_node_bytes(n, len);
		return 0;
	}
	if (n->kind == WA_NODE_STRING) {
		*p = (const uint8_t *)n->c.str.s;
		*len = n->c.str.len;
		return 0;
	}
	return WA_ETYPE;
}

void wa_node_clear_content(wa_node *n)
{
	switch (n->kind) {
	case WA_NODE_LIST:
		for (size_t i = 0; i < n->c.list.n; i++)
			wa_node_free(n->c.list.v[i]);
		free(n->c.list.v);
		break;
	case WA_NODE_BYTES:
		free(n->c.bytes.p);
		break;
	case WA_NODE_STRING:
		free(n->c.str.s);
		break;
	case WA_NODE_NONE:
		break;
	}
	memset(&n->c, 0, sizeof n->c);
	n->kind = WA_NODE_NONE;
}

void wa_node_set_list(wa_node *n)
{
	wa_node_clear_content(n);
	n->kind = WA_NODE_LIST;
}

int wa_node_set_bytes(wa_node *n, const void *p, size_t len)
{
	if (len > WA_BIN_MAX_STANZA)
		return WA_ETOOBIG;
	if (len && !p)
		return WA_EINVAL;
	uint8_t *copy = NULL;
	if (len) {
		copy = malloc(len);
		if (!copy)
			return WA_ENOMEM;
		memcpy(copy, p, len);
	}
	wa_node_clear_content(n);
	n->kind = WA_NODE_BYTES;
	n->c.bytes.p = copy;
	n->c.bytes.len = len;
	return 0;
}

int wa_node_set_string(wa_node *n, const char *s)
{
	char *copy;
	size_t len;
	int rc = dup_string(s, &copy, &len);
	if (rc)
		return rc;
	wa_node_clear_content(n);
	n->kind = WA_NODE_STRING;
	n->c.str.s = copy;
	n->c.str.len = len;
	return 0;
}

int wa_node_add_child(wa_node *n, wa_node *child)
{
	if (!child || child == n)
		return WA_EINVAL;
	if (n->kind != WA_NODE_NONE && n->kind != WA_NODE_LIST)
		return WA_ETYPE;
	if (n->kind == WA_NODE_LIST && n->c.list.n >= WA_BIN_MAX_CHILDREN)
		return WA_ETOOBIG;
	if (n->kind == WA_NODE_NONE) {
		memset(&n->c, 0, sizeof n->c);
		n->kind = WA_NODE_LIST;
	}
	if (n->c.list.n == n->c.list.cap) {
		size_t cap = n->c.list.cap ? n->c.list.cap * 2 : 4;
		wa_node **v = realloc(n->c.list.v, cap * sizeof *v);
		if (!v)
			return WA_ENOMEM;
		n->c.list.v = v;
		n->c.list.cap = cap;
	}
	n->c.list.v[n->c.list.n++] = child;
	return 0;
}

int wa_node_add_new(wa_node *n, const char *tag, wa_node **out)
{
	wa_node *child;
	int rc = wa_node_new(&child, tag);
	if (rc)
		return rc;
	rc = wa_node_add_child(n, child);
	if (rc) {
		wa_node_free(child);
		return rc;
	}
	*out = child;
	return 0;
}

static bool content_bytes_equal(const wa_node *a, const wa_node *b)
{
	const uint8_t *pa, *pb;
	size_t la, lb;
	if (wa_node_content_bytes(a, &pa, &la) || wa_node_content_bytes(b, &pb, &lb))
		return false;
	return la == lb && (la == 0 || memcmp(pa, pb, la) == 0);
}

/* Recursion is bounded: trees deeper than the codec allows compare unequal. */
static bool equal_at(const wa_node *a, const wa_node *b, bool wire, int depth)
{
	if (depth > WA_BIN_MAX_DEPTH)
		return false;
	if (a->tag_len != b->tag_len || memcmp(a->tag, b->tag, a->tag_len) != 0)
		return false;
	if (a->n_attrs != b->n_attrs)
		return false;
	for (size_t i = 0; i < a->n_attrs; i++) {
		const struct wa_node_attr *x = &a->attrs[i], *y = &b->attrs[i];
		if (x->key_len != y->key_len || memcmp(x->key, y->key, x->key_len) != 0 ||
		    x->value_len != y->value_len || memcmp(x->value, y->value, x->value_len) != 0)
			return false;
	}
	bool a_data = a->kind == WA_NODE_BYTES || a->kind == WA_NODE_STRING;
	bool b_data = b->kind == WA_NODE_BYTES || b->kind == WA_NODE_STRING;
	if (wire && a_data && b_data)
		return content_bytes_equal(a, b);
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case WA_NODE_NONE:
		return true;
	case WA_NODE_BYTES:
	case WA_NODE_STRING:
		return content_bytes_equal(a, b);
	case WA_NODE_LIST:
		if (a->c.list.n != b->c.list.n)
			return false;
		for (size_t i = 0; i < a->c.list.n; i++)
			if (!equal_at(a->c.list.v[i], b->c.list.v[i], wire, depth + 1))
				return false;
		return true;
	}
	return false;
}

bool wa_node_equal(const wa_node *a, const wa_node *b) { return equal_at(a, b, false, 1); }
bool wa_node_equal_wire(const wa_node *a, const wa_node *b) { return equal_at(a, b, true, 1); }
