/* JSON <-> wa_node, for wamctl, test drivers and scenario files. The form
 * (documented in docs/wamctl-node.md):
 *   {"tag": "iq", "attrs": {"id": "1", "to": "@s.whatsapp.net"}, "content": ...}
 * "attrs" (an object of strings, in order) and "content" are optional;
 * content is an array of nodes, a JSON string (text content) or
 * {"base64": "..."} (raw bytes). Nothing else is accepted. JSON is API input:
 * the conversion checks every type, depth and size (limits.h). */
#ifndef WA_BINARY_NODE_JSON_H
#define WA_BINARY_NODE_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "wa/wa.h"
#include "binary/node.h"

/* JSON value -> new tree (free with wa_node_free); *out only on success.
 * why (optional, why_cap bytes) receives a one-line reason on error.
 * Errors: WA_ETYPE (a value of the wrong JSON type), WA_EMALFORMED (missing
 * or unknown member, empty tag, bad base64, string with NUL or not UTF-8),
 * WA_EEXIST (repeated attribute), WA_EDEPTH, WA_ETOOBIG, WA_ENOMEM. */
int wa_node_from_json(wa_node **out, const json_t *j, char *why, size_t why_cap) WA_MUST_CHECK;
/* The same from JSON text of len bytes (rejects duplicate object keys and
 * trailing text; WA_EMALFORMED on a JSON syntax error). */
int wa_node_from_json_text(wa_node **out, const char *text, size_t len, char *why, size_t why_cap) WA_MUST_CHECK;

/* Tree -> new JSON value (json_decref it). Errors: WA_EDEPTH, WA_ENOMEM. */
int wa_node_to_json(json_t **out, const wa_node *n) WA_MUST_CHECK;
/* Tree -> malloc'd NUL-terminated JSON text (free with free()), one line
 * unless pretty. Errors as wa_node_to_json. */
int wa_node_to_json_text(char **out, const wa_node *n, bool pretty) WA_MUST_CHECK;

#endif
