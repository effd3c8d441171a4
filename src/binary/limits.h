/* Every size, count and depth limit of the binary node codec, in one place.
 * The decoder enforces all of them on untrusted input; the encoder and the
 * node builders enforce the same ones so that decode(encode(n)) always works. */
#ifndef WA_BINARY_LIMITS_H
#define WA_BINARY_LIMITS_H

enum wa_bin_limits {
	/* A decoded (or inflated) stanza body. The noise frame length is 3 bytes,
	 * so nothing bigger can arrive; zlib output is capped at the same size. */
	WA_BIN_MAX_STANZA = 16 * 1024 * 1024,
	/* Node nesting: the root is depth 1 (as whatsapp-rust's decoder). */
	WA_BIN_MAX_DEPTH = 128,
	/* Attributes per node. Real stanzas carry fewer than 20; the wire allows
	 * 32767, but duplicate detection is quadratic, so keep it small. */
	WA_BIN_MAX_ATTRS = 256,
	/* Children per node: the largest LIST_16 size. */
	WA_BIN_MAX_CHILDREN = 65535,
	/* Nodes in one decoded tree (each costs ~100 bytes of heap while the
	 * wire spends 3 bytes on it, so this bounds the amplification). */
	WA_BIN_MAX_NODES = 262144,
	/* One string (tag, attribute key/value, JID part, text content). */
	WA_BIN_MAX_STRING = 1024 * 1024,
	/* Heap spent on strings and byte payloads in one decoded tree. Tokens
	 * expand 1-2 wire bytes into up to ~60, so this caps the blow-up. */
	WA_BIN_MAX_DECODED = 64 * 1024 * 1024,
	/* Packed (nibble/hex) strings: 127 characters (7-bit length). */
	WA_BIN_MAX_PACKED = 127,
	/* wa_jid's fixed buffers (the codec itself handles JID parts of any
	 * length up to WA_BIN_MAX_STRING; only the value type is capped). Real
	 * users are at most ~25 characters, servers at most 14. */
	WA_JID_USER_MAX = 128,
	WA_JID_SERVER_MAX = 32,
	/* "integrator-user_agent:device@server" with both parts at their maximum. */
	WA_JID_TEXT_MAX = WA_JID_USER_MAX + WA_JID_SERVER_MAX + 20,
};

#endif
