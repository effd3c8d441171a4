/* The wa_node struct, shared by node.c, encode.c and decode.c only. Other
 * modules use the accessors in node.h. */
#ifndef WA_BINARY_NODE_PRIV_H
#define WA_BINARY_NODE_PRIV_H

#include "binary/node.h"

struct wa_node_attr {
	char *key;
	char *value;
	size_t key_len;
	size_t value_len;
};

struct wa_node {
	char *tag;
	size_t tag_len;
	struct wa_node_attr *attrs;
	size_t n_attrs, attrs_cap;
	enum wa_node_content kind;
	union {
		struct {
			wa_node **v;
			size_t n, cap;
		} list;
		struct {
			uint8_t *p; /* NULL when len == 0 */
			size_t len;
		} bytes;
		struct {
			char *s;
			size_t len;
		} str;
	} c;
	wa_node *free_next; /* threads wa_node_free's work list; NULL otherwise */
};

/* Appends an attribute taking ownership of key and value (heap strings the
 * caller has validated) without looking for duplicates. */
int wa_node_push_attr_owned(wa_node *n, char *key, size_t key_len, char *value, size_t value_len) WA_MUST_CHECK;

#endif
