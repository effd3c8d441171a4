/* The binary node tree: a tag, an ordered list of string attributes and one
 * content (none, a list of child nodes, raw bytes, or a string). Decoded
 * stanzas and stanzas we build are both wa_node trees; encode.h/decode.h turn
 * them into wire bytes and back. Part of src/binary (layer 3).
 *
 * Strings are NUL-terminated UTF-8 without embedded NUL bytes, at most
 * WA_BIN_MAX_STRING bytes; builders copy them and reject anything else.
 * JIDs are plain attribute strings in their text form ("1555:2@s.whatsapp.net");
 * the encoder decides which strings go on the wire as JIDs (see jid.h).
 *
 * Ownership: a node owns its strings, bytes and children. Pointers returned by
 * accessors are borrowed and stay valid until that node is changed or freed.
 * Not thread-safe; a tree belongs to one loop. */
#ifndef WA_BINARY_NODE_H
#define WA_BINARY_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wa/wa.h"

typedef struct wa_node wa_node;

enum wa_node_content {
	WA_NODE_NONE = 0,   /* no content */
	WA_NODE_LIST = 1,   /* child nodes (possibly zero of them) */
	WA_NODE_BYTES = 2,  /* raw bytes: always BINARY_n on the wire */
	WA_NODE_STRING = 3, /* text: token, packed, JID or raw on the wire */
};

/* A new node with no attributes and no content. tag must be a non-empty
 * valid string. Errors: WA_EMALFORMED (empty / not UTF-8), WA_ETOOBIG, WA_ENOMEM. */
int wa_node_new(wa_node **out, const char *tag) WA_MUST_CHECK;
/* Frees n and its whole subtree (iteratively: any depth is fine). NULL is a no-op. */
void wa_node_free(wa_node *n);

const char *wa_node_tag(const wa_node *n);

/* Attributes, in insertion order. */
size_t wa_node_n_attrs(const wa_node *n);
const char *wa_node_attr_key(const wa_node *n, size_t i);   /* NULL if i is out of range */
const char *wa_node_attr_value(const wa_node *n, size_t i); /* NULL if i is out of range */
/* The value of attribute key, or NULL when absent. */
const char *wa_node_attr(const wa_node *n, const char *key);
/* Replaces the value of key in place, or appends key=value. Errors:
 * WA_EMALFORMED (bad string), WA_ETOOBIG (string or WA_BIN_MAX_ATTRS), WA_ENOMEM. */
int wa_node_set_attr(wa_node *n, const char *key, const char *value) WA_MUST_CHECK;
/* Removes key if present; returns WA_ENOTFOUND otherwise. */
int wa_node_del_attr(wa_node *n, const char *key);

/* Content. */
enum wa_node_content wa_node_content_kind(const wa_node *n);
size_t wa_node_n_children(const wa_node *n);               /* 0 unless LIST */
wa_node *wa_node_child_at(const wa_node *n, size_t i);     /* NULL if out of range */
/* The first child whose tag is tag, or NULL. */
wa_node *wa_node_child(const wa_node *n, const char *tag);
/* BYTES content, or NULL (len untouched) when the content is not bytes. */
const uint8_t *wa_node_bytes(const wa_node *n, size_t *len);
/* STRING content, or NULL when the content is not a string. */
const char *wa_node_string(const wa_node *n);
/* The content as bytes whether it arrived as BYTES or as a STRING (a peer may
 * send byte-valued content such as "1" as a token). Returns 0, or WA_ETYPE
 * when the content is none or a list. */
int wa_node_content_bytes(const wa_node *n, const uint8_t **p, size_t *len) WA_MUST_CHECK;

/* Each setter replaces the previous content (freeing old children). */
void wa_node_clear_content(wa_node *n);
/* An empty child list (encodes as LIST_EMPTY, distinct from no content). */
void wa_node_set_list(wa_node *n);
int wa_node_set_bytes(wa_node *n, const void *p, size_t len) WA_MUST_CHECK;  /* copies */
int wa_node_set_string(wa_node *n, const char *s) WA_MUST_CHECK;            /* copies */
/* Appends child (the content becomes a LIST if it was none). On success the
 * parent owns child; on failure the caller still does. Errors: WA_ETYPE (the
 * content is bytes or a string), WA_EINVAL (child is n), WA_ETOOBIG, WA_ENOMEM. */
int wa_node_add_child(wa_node *n, wa_node *child) WA_MUST_CHECK;

/* Creates a child with tag and appends it to n; *out is the new child
 * (owned by n). Errors as wa_node_new and wa_node_add_child. */
int wa_node_add_new(wa_node *n, const char *tag, wa_node **out) WA_MUST_CHECK;

/* Exact structural equality: tags, attributes (same order), content kind and value. */
bool wa_node_equal(const wa_node *a, const wa_node *b);
/* Equality as far as the wire preserves it: like wa_node_equal, except that
 * STRING and BYTES content compare by their bytes. (A raw-encoded string comes
 * back as BYTES, as Baileys' decoder also returns a Buffer, and "" travels as
 * an empty BINARY_8.) Every other property survives encode -> decode. */
bool wa_node_equal_wire(const wa_node *a, const wa_node *b);

/* Checks that s[0..len) is valid UTF-8 (no overlongs, surrogates or values
 * above U+10FFFF) with no NUL byte. */
bool wa_bin_valid_string(const char *s, size_t len);

#endif
