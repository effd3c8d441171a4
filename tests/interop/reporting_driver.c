/* Interop driver for tests/interop/reporting.mjs: reporting tokens on
 * request, one text line in, one line out.
 *   R <msg hex> <secret hex> <id> <from> <to> -> "<token hex> <content hex>"
 *                  (the raw derivation on any encoded Message)
 *   T <text hex> <secret hex> <id> <chat>     -> "<message hex> <token hex>"
 *                  (a text message as libwa builds and seals it)
 * "NONE" when the message gets no token; errors answer "ERR <WA_E name>". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session/kinds.h"
#include "session/msg.h"
#include "util/codec.h"

static int unhex(const char *h, uint8_t **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!h)
		return -1;
	if (strcmp(h, "-") == 0) /* empty */
		return (*out = malloc(1)) ? 0 : -1;
	return wa_hex_decode(h, strlen(h), out, n) == 0 ? 0 : -1;
}

static void put_hex(const uint8_t *p, size_t n)
{
	char *h = wa_hex_encode(p, n);
	fputs(h && *h ? h : "-", stdout);
	free(h);
}

int main(void)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((len = getline(&line, &cap, stdin)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		char *save = NULL;
		char *cmd = strtok_r(line, " ", &save);
		char *a[5];
		for (int i = 0; i < 5; i++)
			a[i] = strtok_r(NULL, " ", &save);
		uint8_t *m = NULL, *sec = NULL, tok[WA_REPORTING_TOKEN_LEN];
		size_t ml = 0, sl = 0;
		int rc = WA_EINVAL;
		if (cmd && strcmp(cmd, "R") == 0 && a[4] && unhex(a[0], &m, &ml) == 0 &&
		    unhex(a[1], &sec, &sl) == 0) {
			rc = wa_msg_reporting_token_raw(m, ml, sec, sl, a[2], a[3], a[4], tok);
			if (rc == 0) {
				uint8_t *c = NULL;
				size_t cl = 0;
				rc = wa_msg_reporting_content(m, ml, &c, &cl);
				if (rc == 0) {
					put_hex(tok, sizeof tok);
					fputc(' ', stdout);
					put_hex(c, cl);
					fputc('\n', stdout);
				}
				free(c);
			}
		} else if (cmd && strcmp(cmd, "T") == 0 && a[3] && unhex(a[0], &m, &ml) == 0 &&
			   unhex(a[1], &sec, &sl) == 0 && sl == WA_MSG_SECRET_LEN) {
			char *text = calloc(1, ml + 1);
			uint8_t *pb = NULL;
			size_t pl = 0;
			if (text) {
				memcpy(text, m, ml);
				wa_msg_content ct = {.text = text, .secret = sec};
				rc = wa_msg_kinds[WA_KIND_CONVERSATION].build(&ct, &pb, &pl);
			} else {
				rc = WA_ENOMEM;
			}
			if (rc == 0)
				rc = wa_msg_reporting_token(pb, pl, a[2], a[3], tok);
			if (rc == 0) {
				put_hex(pb, pl);
				fputc(' ', stdout);
				put_hex(tok, sizeof tok);
				fputc('\n', stdout);
			}
			free(pb);
			free(text);
		}
		if (rc == WA_ENOTFOUND)
			puts("NONE");
		else if (rc != 0)
			printf("ERR %s\n", wa_errname(rc));
		free(m);
		free(sec);
	}
	free(line);
	return 0;
}
