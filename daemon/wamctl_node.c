/* `wamctl node encode|decode`: JSON on stdin <-> WhatsApp binary node on
 * stdout, through the libwa codec. A debugging aid for captured frames and a
 * way to craft stanzas by hand; the JSON form is in docs/wamctl-node.md. */
#include "wamctl.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "binary/decode.h"
#include "binary/encode.h"
#include "binary/node_json.h"
#include "util/codec.h"

/* Reads all of stdin (at most WAMCTL_MAX_INPUT bytes), for the codecs below. */
int wamctl_read_stdin(uint8_t **out, size_t *out_len)
{
	size_t len = 0, cap = 0;
	uint8_t *buf = NULL;
	for (;;) {
		if (cap - len < 2) {
			if (cap >= WAMCTL_MAX_INPUT + 2) {
				free(buf);
				return WA_ETOOBIG;
			}
			size_t ncap = cap ? cap * 2 : 65536;
			if (ncap > WAMCTL_MAX_INPUT + 2)
				ncap = WAMCTL_MAX_INPUT + 2;
			uint8_t *nb = realloc(buf, ncap);
			if (!nb) {
				free(buf);
				return WA_ENOMEM;
			}
			buf = nb;
			cap = ncap;
		}
		ssize_t n = read(STDIN_FILENO, buf + len, cap - len - 1);
		if (n < 0) {
			free(buf);
			return WA_EIO;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > WAMCTL_MAX_INPUT) {
			free(buf);
			return WA_ETOOBIG;
		}
	}
	if (!buf) {
		buf = malloc(1);
		if (!buf)
			return WA_ENOMEM;
	}
	buf[len] = '\0';
	*out = buf;
	*out_len = len;
	return 0;
}

void wamctl_node_usage(FILE *f)
{
	fprintf(f,
		"usage: wamctl node encode [--hex]\n"
		"       wamctl node decode [--hex] [--pretty]\n"
		"\n"
		"encode  reads one JSON node from stdin and writes its binary form\n"
		"        (flags byte 00, then the node, exactly as Baileys encodes it)\n"
		"decode  reads a binary frame (flags byte first; zlib-inflated when\n"
		"        flags & 2) from stdin and writes the node as JSON\n"
		"\n"
		"  --hex     binary side as hex text instead of raw bytes\n"
		"            (decode ignores whitespace in its hex input)\n"
		"  --pretty  indent the JSON output\n"
		"\n"
		"JSON form: {\"tag\": \"iq\", \"attrs\": {\"id\": \"1\"}, \"content\": ...}\n"
		"where content is absent, an array of nodes, a string, or\n"
		"{\"base64\": \"...\"} for raw bytes. See docs/wamctl-node.md.\n"
		"\n"
		"Exit status: 0 ok, 1 input rejected (the message names the error),\n"
		"2 bad command line.\n");
}

static int fail(const char *cmd, const char *what, int rc, const char *why)
{
	fprintf(stderr, "wamctl node %s: %s: %s (%s)%s%s\n", cmd, what, wa_strerror(rc), wa_errname(rc),
		why && why[0] ? ": " : "", why ? why : "");
	return WAMCTL_EXIT_FAIL;
}

static int write_all(const void *p, size_t n)
{
	if (n && fwrite(p, 1, n, stdout) != n)
		return WA_EIO;
	return fflush(stdout) == 0 ? 0 : WA_EIO;
}

static int do_encode(bool hex)
{
	uint8_t *in;
	size_t in_len;
	int rc = wamctl_read_stdin(&in, &in_len);
	if (rc)
		return fail("encode", "cannot read stdin", rc, NULL);
	wa_node *n;
	char why[256];
	rc = wa_node_from_json_text(&n, (const char *)in, in_len, why, sizeof why);
	free(in);
	if (rc)
		return fail("encode", "invalid JSON node", rc, why);
	uint8_t *out;
	size_t out_len;
	rc = wa_bin_encode(n, &out, &out_len);
	wa_node_free(n);
	if (rc)
		return fail("encode", "cannot encode node", rc, NULL);
	if (hex) {
		char *h = wa_hex_encode(out, out_len);
		rc = h ? write_all(h, strlen(h)) : WA_ENOMEM;
		if (rc == 0)
			rc = write_all("\n", 1);
		free(h);
	} else {
		rc = write_all(out, out_len);
	}
	free(out);
	return rc ? fail("encode", "cannot write stdout", rc, NULL) : WAMCTL_EXIT_OK;
}

static int do_decode(bool hex, bool pretty)
{
	uint8_t *in;
	size_t in_len;
	int rc = wamctl_read_stdin(&in, &in_len);
	if (rc)
		return fail("decode", "cannot read stdin", rc, NULL);
	uint8_t *frame = in;
	size_t frame_len = in_len;
	if (hex) {
		size_t k = 0;
		for (size_t i = 0; i < in_len; i++)
			if (!isspace(in[i]))
				in[k++] = in[i];
		rc = wa_hex_decode((const char *)in, k, &frame, &frame_len);
		free(in);
		if (rc)
			return fail("decode", "input is not hex", rc, NULL);
	}
	wa_node *n;
	rc = wa_bin_decode(frame, frame_len, &n);
	free(frame);
	if (rc)
		return fail("decode", "invalid binary node", rc, NULL);
	char *json;
	rc = wa_node_to_json_text(&json, n, pretty);
	wa_node_free(n);
	if (rc)
		return fail("decode", "cannot convert to JSON", rc, NULL);
	rc = write_all(json, strlen(json));
	if (rc == 0)
		rc = write_all("\n", 1);
	free(json);
	return rc ? fail("decode", "cannot write stdout", rc, NULL) : WAMCTL_EXIT_OK;
}

int wamctl_node_main(int argc, char **argv)
{
	if (argc < 2) {
		wamctl_node_usage(stderr);
		return WAMCTL_EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		wamctl_node_usage(stdout);
		return WAMCTL_EXIT_OK;
	}
	bool encode = strcmp(cmd, "encode") == 0, decode = strcmp(cmd, "decode") == 0;
	if (!encode && !decode) {
		fprintf(stderr, "wamctl node: unknown subcommand '%s'\n\n", cmd);
		wamctl_node_usage(stderr);
		return WAMCTL_EXIT_USAGE;
	}
	bool hex = false, pretty = false;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--hex") == 0) {
			hex = true;
		} else if (decode && strcmp(argv[i], "--pretty") == 0) {
			pretty = true;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			wamctl_node_usage(stdout);
			return WAMCTL_EXIT_OK;
		} else {
			fprintf(stderr, "wamctl node %s: unknown option '%s'\n\n", cmd, argv[i]);
			wamctl_node_usage(stderr);
			return WAMCTL_EXIT_USAGE;
		}
	}
	return encode ? do_encode(hex) : do_decode(hex, pretty);
}
