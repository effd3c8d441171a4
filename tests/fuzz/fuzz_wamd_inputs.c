/* Fuzz target over wamd's own parsers of untrusted text: the config file
 * (key = value and JSON forms), webhook URLs and their address classes,
 * Evolution's phone-number normalizer (API `number` fields), an Evolution
 * .env file in the data folder and WhatsApp Web's service worker script
 * (wa_version_fetch). The first byte picks the parser (0xFE, 0xFF: the last
 * two, so older seeds keep theirs). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wamd.h"
#include "wamd_evolution_env.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 70000)
		return 0;
	char *s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	if (data[0] == 0xFE) {
		char err[256];
		(void)wamd_dotenv_parse(s, "fuzz", err, sizeof err);
		wamd_dotenv_clear();
		free(s);
		return 0;
	}
	if (data[0] == 0xFF) {
		(void)wamd_version_from_sw((const char *)data + 1, size - 1);
		free(s);
		return 0;
	}
	switch (data[0] % 3) {
	case 0: {
		struct wamd_config c;
		memset(&c, 0, sizeof c);
		char err[256];
		(void)wamd_config_parse_text(&c, s, strlen(s), "fuzz", err, sizeof err);
		wamd_config_free(&c);
		break;
	}
	case 1: {
		struct wamd_url u;
		if (wamd_url_parse(s, &u) == 0)
			(void)wamd_addr_classify_host(u.host);
		struct wamd_config c;
		memset(&c, 0, sizeof c);
		char why[320];
		(void)wamd_webhook_url_policy(&c, s, why, sizeof why);
		break;
	}
	default: {
		char out[128];
		(void)wamd_normalize_number(s, out, sizeof out);
		break;
	}
	}
	free(s);
	return 0;
}
