/* Tag bytes of the binary node format (transport-and-pairing.md §3.2), shared
 * by the encoder and the decoder. Bytes 0x01..0xEB are single-byte tokens. */
#ifndef WA_BINARY_TAGS_H
#define WA_BINARY_TAGS_H

enum wa_bin_tag {
	TAG_LIST_EMPTY = 0x00,
	TAG_DICTIONARY_0 = 0xEC,
	TAG_DICTIONARY_3 = 0xEF,
	TAG_RESERVED_FIRST = 0xF0,
	TAG_RESERVED_LAST = 0xF4,
	TAG_INTEROP_JID = 0xF5,
	TAG_FB_JID = 0xF6,
	TAG_AD_JID = 0xF7,
	TAG_LIST_8 = 0xF8,
	TAG_LIST_16 = 0xF9,
	TAG_JID_PAIR = 0xFA,
	TAG_HEX_8 = 0xFB,
	TAG_BINARY_8 = 0xFC,
	TAG_BINARY_20 = 0xFD,
	TAG_BINARY_32 = 0xFE,
	TAG_NIBBLE_8 = 0xFF,
};

#endif
