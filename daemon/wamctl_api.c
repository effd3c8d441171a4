/* wamctl subcommands that talk to a running wamd over its unix socket
 * (plain blocking HTTP/1.1 and a minimal WebSocket reader: wamctl is a
 * short-lived CLI, so blocking I/O is fine here). The socket is
 * --socket PATH, else $WAMD_SOCKET, else ./wamd-data/wamd.sock; the unix
 * socket is trusted by wamd (its file mode is the guard), and --api-key /
 * $WAMD_API_KEY is sent when given. */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include "wa/qr.h"
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "wamctl.h"

#define RESP_MAX (16u * 1024 * 1024)
#define PAIR_TIMEOUT_S 300

static const char *sock_path(void)
{
	const char *s = getenv("WAMD_SOCKET");
	return s && *s ? s : "./wamd-data/wamd.sock";
}

static int dial(void)
{
	const char *p = sock_path();
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (strlen(p) >= sizeof sa.sun_path) {
		fprintf(stderr, "wamctl: socket path too long\n");
		return -1;
	}
	strcpy(sa.sun_path, p);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		fprintf(stderr, "wamctl: wamd is not running (cannot connect to %s: %s)\n", p, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int send_request(int fd, const char *method, const char *path, const char *body, bool upgrade)
{
	char head[2048];
	const char *key = getenv("WAMD_API_KEY");
	int n;
	if (upgrade) {
		n = snprintf(head, sizeof head,
			     "GET %s HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
			     "Sec-WebSocket-Key: d2FtY3RsLWV2ZW50cy1rZXk=\r\nSec-WebSocket-Version: 13\r\n%s%s%s\r\n",
			     path, key ? "apikey: " : "", key ? key : "", key ? "\r\n" : "");
	} else {
		n = snprintf(head, sizeof head,
			     "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\n"
			     "Content-Length: %zu\r\n%s%s%s\r\n",
			     method, path, body ? strlen(body) : 0, key ? "apikey: " : "", key ? key : "",
			     key ? "\r\n" : "");
	}
	if (n < 0 || (size_t)n >= sizeof head)
		return -1;
	if (write_all(fd, head, (size_t)n) != 0 || (body && write_all(fd, body, strlen(body)) != 0))
		return -1;
	return 0;
}

/* Returns the HTTP status (or -1) and the parsed JSON body in *out. */
static int api(const char *method, const char *path, json_t *body, json_t **out)
{
	*out = NULL;
	int fd = dial();
	if (fd < 0)
		return -1;
	char *b = body ? json_dumps(body, JSON_COMPACT) : NULL;
	int rc = send_request(fd, method, path, b, false);
	free(b);
	if (rc != 0) {
		close(fd);
		return -1;
	}
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap + 1);
	if (!buf) {
		close(fd);
		return -1;
	}
	for (;;) {
		if (len == cap) {
			if (cap >= RESP_MAX)
				break;
			char *nb = realloc(buf, cap * 2 + 1);
			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + len, cap - len);
		if (r <= 0)
			break;
		len += (size_t)r;
		buf[len] = '\0';
		/* stop once the declared body is complete (keep-alive servers) */
		char *hend = strstr(buf, "\r\n\r\n");
		char *cl = hend ? strcasestr(buf, "content-length:") : NULL;
		if (hend && cl && cl < hend && len >= (size_t)(hend + 4 - buf) + (size_t)atol(cl + 15))
			break;
	}
	close(fd);
	buf[len] = '\0';
	int status = -1;
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
		status = -1;
	char *hend = strstr(buf, "\r\n\r\n");
	if (hend)
		*out = json_loads(hend + 4, JSON_DECODE_ANY, NULL);
	free(buf);
	return status;
}

/* Prints wamd's error answer; takes (frees) j. */
static int fail_resp(int status, json_t *j)
{
	if (status < 0) {
		json_decref(j);
		return WAMCTL_EXIT_FAIL;
	}
	fprintf(stderr, "wamctl: wamd answered %d: ", status);
	char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	fprintf(stderr, "%s\n", s ? s : "");
	free(s);
	json_decref(j);
	return WAMCTL_EXIT_FAIL;
}

static int cmd_instance(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: wamctl instance create|list|delete|logout [NAME]\n");
		return WAMCTL_EXIT_USAGE;
	}
	json_t *r = NULL;
	int st;
	char path[512];
	if (!strcmp(argv[1], "list")) {
		st = api("GET", "/instance/fetchInstances", NULL, &r);
		if (st != 200)
			return fail_resp(st, r);
		size_t i;
		json_t *v;
		json_array_foreach(r, i, v) {
			const char *owner = json_string_value(json_object_get(v, "ownerJid"));
			printf("%-24s %-10s %s\n", json_string_value(json_object_get(v, "name")),
			       json_string_value(json_object_get(v, "connectionStatus")), owner ? owner : "-");
		}
		json_decref(r);
		return 0;
	}
	if (argc < 3) {
		fprintf(stderr, "wamctl instance %s: NAME required\n", argv[1]);
		return WAMCTL_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "create")) {
		json_t *b = json_pack("{s:s, s:s}", "instanceName", argv[2], "integration", "WHATSAPP-BAILEYS");
		for (int i = 3; i + 1 < argc; i += 2)
			if (!strcmp(argv[i], "--token"))
				json_object_set_new(b, "token", json_string(argv[i + 1]));
		st = api("POST", "/instance/create", b, &r);
		json_decref(b);
		if (st != 201)
			return fail_resp(st, r);
		printf("created %s\ntoken %s (shown once; stored hashed)\n", argv[2],
		       json_string_value(json_object_get(r, "hash")));
		json_decref(r);
		return 0;
	}
	if (!strcmp(argv[1], "delete") || !strcmp(argv[1], "logout")) {
		snprintf(path, sizeof path, "/instance/%s/%s", argv[1], argv[2]);
		st = api("DELETE", path, NULL, &r);
		if (st != 200)
			return fail_resp(st, r);
		printf("%s\n", json_string_value(json_object_get(json_object_get(r, "response"), "message")));
		json_decref(r);
		return 0;
	}
	fprintf(stderr, "wamctl instance: unknown action '%s'\n", argv[1]);
	return WAMCTL_EXIT_USAGE;
}

/* Lines in s (the QR's rows), to move the cursor back over them. */
static int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* wamctl pair NAME [--phone N] [--timeout S]: shows the QR (or pairing
 * code) until the instance is open. On a terminal a rotated QR is drawn
 * over the old one and the line under it counts down its validity;
 * otherwise each new code is printed once. Why the server cannot be
 * reached (wamd's wamdReason) is printed when it changes; a failure wamd
 * does not retry ends the command with status 1. --timeout 0: no limit. */
static int cmd_pair(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: wamctl pair NAME [--phone NUMBER] [--timeout SECONDS]\n");
		return WAMCTL_EXIT_USAGE;
	}
	const char *phone = NULL;
	long timeout_s = PAIR_TIMEOUT_S;
	for (int i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--phone"))
			phone = argv[i + 1];
		else if (!strcmp(argv[i], "--timeout"))
			timeout_s = strtol(argv[i + 1], NULL, 10);
		else {
			fprintf(stderr, "usage: wamctl pair NAME [--phone NUMBER] [--timeout SECONDS]\n");
			return WAMCTL_EXIT_USAGE;
		}
	}
	bool tty = isatty(STDOUT_FILENO);
	char path[512], last[2048] = "", lastcode[64] = "", lastreason[1024] = "";
	int drawn = 0; /* lines of the QR block on screen (tty) */
	bool status_line = false;
	time_t start = time(NULL);
	while (timeout_s <= 0 || time(NULL) - start < timeout_s) {
		json_t *r = NULL;
		snprintf(path, sizeof path, "/instance/connectionState/%s", argv[1]);
		int st = api("GET", path, NULL, &r);
		if (st != 200)
			return fail_resp(st, r);
		json_t *inst = json_object_get(r, "instance");
		const char *state = json_string_value(json_object_get(inst, "state"));
		if (state && !strcmp(state, "open")) {
			printf("%sconnected\n", status_line && tty ? "\r\033[K" : "");
			json_decref(r);
			return 0;
		}
		json_t *why = json_object_get(inst, "wamdReason");
		const char *msg = json_string_value(json_object_get(why, "message"));
		bool retrying = !json_is_false(json_object_get(why, "retrying"));
		if (msg && strcmp(msg, lastreason) != 0) {
			snprintf(lastreason, sizeof lastreason, "%s", msg);
			if (status_line && tty)
				printf("\r\033[K");
			printf("WhatsApp cannot be reached: %s\n%s\n", msg,
			       retrying ? "(wamd keeps retrying; details in its log)" : "(wamd stopped trying)");
			fflush(stdout);
			drawn = 0; /* the message sits below the old QR: draw anew */
			status_line = false;
		}
		if (msg && !retrying && state && !strcmp(state, "close")) {
			json_decref(r);
			return WAMCTL_EXIT_FAIL;
		}
		json_decref(r);
		if (phone && !lastcode[0])
			snprintf(path, sizeof path, "/instance/connect/%s?number=%s", argv[1], phone);
		else
			snprintf(path, sizeof path, "/instance/connect/%s", argv[1]);
		st = api("GET", path, NULL, &r);
		if (st != 200)
			return fail_resp(st, r);
		if (json_is_true(json_object_get(r, "error"))) {
			fprintf(stderr, "wamctl: %s\n", json_string_value(json_object_get(r, "message")));
			json_decref(r);
			return WAMCTL_EXIT_FAIL;
		}
		const char *code = json_string_value(json_object_get(r, "code"));
		const char *pc = json_string_value(json_object_get(r, "pairingCode"));
		json_t *exp = json_object_get(r, "wamdExpiresInS");
		if (phone && pc && strcmp(pc, lastcode) != 0) {
			snprintf(lastcode, sizeof lastcode, "%s", pc);
			printf("pairing code: %.4s-%s\n(WhatsApp > Linked devices > Link with phone number)\n", pc,
			       strlen(pc) > 4 ? pc + 4 : "");
			fflush(stdout);
		} else if (!phone && code && strcmp(code, last) != 0) {
			snprintf(last, sizeof last, "%s", code);
			char *qr = NULL;
			if (wa_qr_terminal(code, &qr) != 0) {
				fprintf(stderr, "wamctl: cannot render the QR code\n");
			} else {
				if (tty && drawn)
					printf("\r\033[%dA\033[J", drawn); /* back over the old QR, clear below */
				else if (tty && status_line)
					printf("\r\033[K");
				printf("Scan with WhatsApp > Linked devices (redrawn as it rotates):\n%s", qr);
				drawn = 1 + count_lines(qr);
				status_line = false;
				if (!tty && json_is_integer(exp))
					printf("valid for %lld s\n", (long long)json_integer_value(exp));
				free(qr);
			}
			fflush(stdout);
		}
		if (tty && !phone && code && json_is_integer(exp)) {
			printf("\r\033[Kthis code is valid for %lld s more", (long long)json_integer_value(exp));
			fflush(stdout);
			status_line = true;
		}
		json_decref(r);
		usleep(500 * 1000);
	}
	if (status_line && tty)
		printf("\n");
	fprintf(stderr, "wamctl: not paired within %ld s\n", timeout_s);
	return WAMCTL_EXIT_FAIL;
}

static int cmd_send(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: wamctl send NAME NUMBER TEXT\n");
		return WAMCTL_EXIT_USAGE;
	}
	char path[512];
	snprintf(path, sizeof path, "/message/sendText/%s", argv[1]);
	json_t *b = json_pack("{s:s, s:s}", "number", argv[2], "text", argv[3]);
	json_t *r = NULL;
	int st = api("POST", path, b, &r);
	json_decref(b);
	if (st != 201)
		return fail_resp(st, r);
	printf("%s\n", json_string_value(json_object_get(json_object_get(r, "key"), "id")));
	json_decref(r);
	return 0;
}

static int cmd_qr(int argc, char **argv)
{
	if (argc < 4 || strcmp(argv[2], "--png") != 0) {
		fprintf(stderr, "usage: wamctl qr NAME --png FILE\n");
		return WAMCTL_EXIT_USAGE;
	}
	char path[512];
	snprintf(path, sizeof path, "/instance/connect/%s", argv[1]);
	json_t *r = NULL;
	int st = api("GET", path, NULL, &r);
	if (st != 200)
		return fail_resp(st, r);
	const char *b64 = json_string_value(json_object_get(r, "base64"));
	const char *comma = b64 ? strchr(b64, ',') : NULL;
	if (!comma) {
		fprintf(stderr, "wamctl: no QR available (already connected?)\n");
		json_decref(r);
		return WAMCTL_EXIT_FAIL;
	}
	size_t n = strlen(comma + 1);
	unsigned char *png = malloc(n);
	int len = png ? EVP_DecodeBlock(png, (const unsigned char *)comma + 1, (int)n) : -1;
	while (len > 0 && n >= 1 && comma[n] == '=') { /* EVP_DecodeBlock counts padding bytes */
		len--;
		n--;
	}
	json_decref(r);
	if (len < 0) {
		free(png);
		return WAMCTL_EXIT_FAIL;
	}
	FILE *f = fopen(argv[3], "wb");
	if (!f || fwrite(png, 1, (size_t)len, f) != (size_t)len) {
		fprintf(stderr, "wamctl: cannot write %s\n", argv[3]);
		if (f)
			fclose(f);
		free(png);
		return WAMCTL_EXIT_FAIL;
	}
	fclose(f);
	free(png);
	printf("wrote %s\n", argv[3]);
	return 0;
}

static int read_full(int fd, unsigned char *p, size_t n)
{
	while (n) {
		ssize_t r = read(fd, p, n);
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int cmd_events(int argc, char **argv)
{
	char path[512];
	if (argc >= 2)
		snprintf(path, sizeof path, "/ws/events?instance=%s", argv[1]);
	else
		snprintf(path, sizeof path, "/ws/events");
	int fd = dial();
	if (fd < 0)
		return WAMCTL_EXIT_FAIL;
	if (send_request(fd, "GET", path, NULL, true) != 0) {
		close(fd);
		return WAMCTL_EXIT_FAIL;
	}
	/* response head */
	char head[4096];
	size_t hl = 0;
	while (hl + 1 < sizeof head) {
		if (read(fd, head + hl, 1) != 1)
			break;
		hl++;
		head[hl] = '\0';
		if (hl >= 4 && !memcmp(head + hl - 4, "\r\n\r\n", 4))
			break;
	}
	if (strncmp(head, "HTTP/1.1 101", 12) != 0) {
		fprintf(stderr, "wamctl: event stream refused\n");
		close(fd);
		return WAMCTL_EXIT_FAIL;
	}
	for (;;) {
		unsigned char h[2];
		if (read_full(fd, h, 2) != 0)
			break;
		uint64_t n = h[1] & 0x7f;
		if (n == 126) {
			unsigned char e[2];
			if (read_full(fd, e, 2) != 0)
				break;
			n = (uint64_t)e[0] << 8 | e[1];
		} else if (n == 127) {
			unsigned char e[8];
			if (read_full(fd, e, 8) != 0)
				break;
			n = 0;
			for (int i = 0; i < 8; i++)
				n = n << 8 | e[i];
		}
		if (n > RESP_MAX)
			break;
		unsigned char *p = malloc((size_t)n + 1);
		if (!p || read_full(fd, p, (size_t)n) != 0) {
			free(p);
			break;
		}
		if ((h[0] & 0x0f) == 0x8) { /* close */
			free(p);
			break;
		}
		if ((h[0] & 0x0f) == 0x1) {
			fwrite(p, 1, (size_t)n, stdout);
			putchar('\n');
			fflush(stdout);
		}
		free(p);
	}
	close(fd);
	return 0;
}

/* %-decodes src (n bytes) into dst (cap bytes, NUL-terminated); -1 on a
 * bad escape or overflow. */
static int pct_decode(const char *src, size_t n, char *dst, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned c = (unsigned char)src[i];
		if (c == '%') {
			unsigned v;
			if (n - i < 3 || sscanf(src + i + 1, "%2x", &v) != 1 || !isxdigit((unsigned char)src[i + 1]) ||
			    !isxdigit((unsigned char)src[i + 2]))
				return -1;
			c = v;
			i += 2;
		}
		if (o + 1 >= cap)
			return -1;
		dst[o++] = (char)c;
	}
	dst[o] = '\0';
	return 0;
}

/* wamctl proxy NAME [off | SCHEME://[USER[:PASS]@]HOST:PORT]: shows, removes
 * or sets an instance's proxy (Evolution's /proxy/find and /proxy/set). The
 * password can come from $WAMD_PROXY_PASSWORD instead of the command line,
 * where other local users could read it. */
static int cmd_proxy(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: wamctl proxy NAME [off | http|socks5|socks4://[USER[:PASS]@]HOST:PORT]\n");
		return WAMCTL_EXIT_USAGE;
	}
	char path[512];
	json_t *r = NULL, *b = NULL;
	int st;
	if (argc == 2) {
		snprintf(path, sizeof path, "/proxy/find/%s", argv[1]);
		st = api("GET", path, NULL, &r);
		if (st != 200)
			return fail_resp(st, r);
		if (!json_is_object(r) || !json_is_true(json_object_get(r, "enabled"))) {
			printf("none\n");
		} else {
			const char *u = json_string_value(json_object_get(r, "username"));
			printf("%s://%s%s%s:%s\n", json_string_value(json_object_get(r, "protocol")), u && *u ? u : "",
			       u && *u ? "@" : "", json_string_value(json_object_get(r, "host")),
			       json_string_value(json_object_get(r, "port")));
		}
		json_decref(r);
		return 0;
	}
	if (!strcmp(argv[2], "off")) {
		b = json_pack("{s:b}", "enabled", 0);
	} else {
		const char *url = argv[2], *sep = strstr(url, "://");
		char scheme[16], user[256] = "", pass[256] = "", host[256];
		if (!sep || (size_t)(sep - url) >= sizeof scheme) {
			fprintf(stderr, "wamctl proxy: expected SCHEME://HOST:PORT\n");
			return WAMCTL_EXIT_USAGE;
		}
		snprintf(scheme, sizeof scheme, "%.*s", (int)(sep - url), url);
		const char *hp = sep + 3, *at = strrchr(hp, '@');
		if (at) {
			const char *colon = memchr(hp, ':', (size_t)(at - hp));
			const char *uend = colon ? colon : at;
			if (pct_decode(hp, (size_t)(uend - hp), user, sizeof user) ||
			    (colon && pct_decode(colon + 1, (size_t)(at - colon - 1), pass, sizeof pass))) {
				fprintf(stderr, "wamctl proxy: bad %%-escape or credentials too long\n");
				return WAMCTL_EXIT_USAGE;
			}
			hp = at + 1;
		}
		const char *env_pw = getenv("WAMD_PROXY_PASSWORD");
		if (env_pw && *env_pw)
			snprintf(pass, sizeof pass, "%s", env_pw);
		const char *pc = strrchr(hp, ':');
		if (!pc || pc == hp || (size_t)(pc - hp) >= sizeof host || !pc[1]) {
			fprintf(stderr, "wamctl proxy: expected HOST:PORT\n");
			return WAMCTL_EXIT_USAGE;
		}
		snprintf(host, sizeof host, "%.*s", (int)(pc - hp), hp);
		b = json_pack("{s:b, s:s, s:s, s:s, s:s, s:s}", "enabled", 1, "host", host, "port", pc + 1, "protocol",
			      scheme, "username", user, "password", pass);
		explicit_bzero(pass, sizeof pass);
	}
	snprintf(path, sizeof path, "/proxy/set/%s", argv[1]);
	st = api("POST", path, b, &r);
	json_decref(b);
	if (st != 201)
		return fail_resp(st, r);
	json_t *px = json_object_get(json_object_get(r, "proxy"), "proxy");
	if (json_is_true(json_object_get(px, "enabled")))
		printf("proxy of %s: %s://%s:%s (session restarted)\n", argv[1],
		       json_string_value(json_object_get(px, "protocol")), json_string_value(json_object_get(px, "host")),
		       json_string_value(json_object_get(px, "port")));
	else
		printf("proxy of %s: none\n", argv[1]);
	json_decref(r);
	return 0;
}

void wamctl_api_usage(FILE *f)
{
	fprintf(f, "wamctl [--socket PATH] instance create NAME [--token T] | list | delete NAME | logout NAME\n"
		   "wamctl [--socket PATH] pair NAME [--phone NUMBER] [--timeout SECONDS (0: none)]\n"
		   "wamctl [--socket PATH] send NAME NUMBER TEXT\n"
		   "wamctl [--socket PATH] events [NAME]\n"
		   "wamctl [--socket PATH] qr NAME --png FILE\n"
		   "wamctl [--socket PATH] proxy NAME [off | http|socks5|socks4://[USER[:PASS]@]HOST:PORT]\n"
		   "  (the proxy password may come from $WAMD_PROXY_PASSWORD instead)\n"
		   "socket: --socket, else $WAMD_SOCKET, else ./wamd-data/wamd.sock; $WAMD_API_KEY is sent if set\n");
}

int wamctl_instance_main(int argc, char **argv)
{
	return cmd_instance(argc, argv);
}

int wamctl_pair_main(int argc, char **argv)
{
	return cmd_pair(argc, argv);
}

int wamctl_send_main(int argc, char **argv)
{
	return cmd_send(argc, argv);
}

int wamctl_events_main(int argc, char **argv)
{
	return cmd_events(argc, argv);
}

int wamctl_qr_main(int argc, char **argv)
{
	return cmd_qr(argc, argv);
}

int wamctl_proxy_main(int argc, char **argv)
{
	return cmd_proxy(argc, argv);
}
