/* wamd helpers without state: structured logging, time and hashing, tokens,
 * Evolution's number normalizer, message-id source guess, the event name
 * table, URL parsing and the address classes the webhook policy refuses. */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include "wamd.h"

static enum wa_log_level log_max = WA_LOG_INFO;

void wamd_log_set_level(enum wa_log_level lvl)
{
	log_max = lvl;
}

void wamd_log(enum wa_log_level lvl, const char *fmt, ...)
{
	static const char *names[] = { "ERROR", "WARN", "INFO", "DEBUG", "TRACE" };
	if (lvl > log_max)
		return;
	char ts[32], msg[2048];
	wamd_iso_time(wamd_now_ms(), ts);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* one line per record: control characters would let a value forge lines */
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	fprintf(stderr, "%s %-5s wamd: %s\n", ts, names[lvl <= WA_LOG_TRACE ? lvl : 0], msg);
}

int wamd_log_level_parse(const char *s)
{
	static const char *names[] = { "error", "warn", "info", "debug", "trace" };
	if (!s)
		return -1;
	for (int i = 0; i < 5; i++)
		if (!strcasecmp(s, names[i]))
			return i;
	return -1;
}

int64_t wamd_now_ms(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

void wamd_iso_time(int64_t ms, char out[32])
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&s, &tm);
	char base[24];
	strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, 32, "%s.%03dZ", base, (int)(ms % 1000));
}

void wamd_sha256(const void *p, size_t n, uint8_t out[32])
{
	unsigned int len = 32;
	EVP_Digest(p, n, out, &len, EVP_sha256(), NULL);
}

void wamd_hex(const uint8_t *p, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[p[i] >> 4];
		out[2 * i + 1] = hx[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static int uuid(char out[37], bool upper)
{
	uint8_t r[16];
	if (RAND_bytes(r, sizeof r) != 1)
		return -1;
	r[6] = (uint8_t)((r[6] & 0x0f) | 0x40);
	r[8] = (uint8_t)((r[8] & 0x3f) | 0x80);
	const char *hx = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	size_t k = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[k++] = '-';
		out[k++] = hx[r[i] >> 4];
		out[k++] = hx[r[i] & 15];
	}
	out[k] = '\0';
	return 0;
}

int wamd_random_token(char out[37])
{
	return uuid(out, true);
}

int wamd_random_uuid(char out[37])
{
	return uuid(out, false);
}

char *wamd_b64(const uint8_t *p, size_t n)
{
	char *o = malloc(4 * ((n + 2) / 3) + 1);
	if (!o)
		return NULL;
	EVP_EncodeBlock((unsigned char *)o, p, (int)n);
	return o;
}

int wamd_normalize_number(const char *in, char *out, size_t outlen)
{
	if (!in || !*in || strlen(in) > 256)
		return -1;
	static const char *suffixes[] = { "@s.whatsapp.net", "@g.us", "@lid", "@broadcast" };
	for (size_t i = 0; i < 4; i++) {
		if (strstr(in, suffixes[i])) {
			/* used as is, minus a ":device" suffix of the user part */
			const char *at = strchr(in, '@');
			const char *colon = memchr(in, ':', (size_t)(at - in));
			size_t ul = colon ? (size_t)(colon - in) : (size_t)(at - in);
			if (ul == 0 || ul + strlen(at) + 1 > outlen)
				return -1;
			memcpy(out, in, ul);
			strcpy(out + ul, at);
			return 0;
		}
	}
	char buf[300];
	size_t k = 0;
	bool has_dash = false;
	for (const char *p = in; *p && *p != ':' && *p != '@'; p++) {
		if (*p == ' ' || *p == '+' || *p == '(' || *p == ')')
			continue;
		if (*p == '-')
			has_dash = true;
		if (k + 1 < sizeof buf)
			buf[k++] = *p;
	}
	buf[k] = '\0';
	if (has_dash && k >= 24) {
		if (k + sizeof "@g.us" > outlen)
			return -1;
		snprintf(out, outlen, "%s@g.us", buf);
		return 0;
	}
	char d[300];
	size_t nd = 0;
	for (size_t i = 0; i < k; i++)
		if (isdigit((unsigned char)buf[i]))
			d[nd++] = buf[i];
	d[nd] = '\0';
	if (nd == 0)
		return -1;
	if (nd >= 18) {
		if (nd + sizeof "@g.us" > outlen)
			return -1;
		snprintf(out, outlen, "%s@g.us", d);
		return 0;
	}
	if (nd == 13 && (!strncmp(d, "52", 2) || !strncmp(d, "54", 2))) {
		memmove(d + 2, d + 3, nd - 2); /* drops the mobile 1 / 9 */
		nd--;
	} else if (nd == 13 && !strncmp(d, "55", 2)) {
		int area = (d[2] - '0') * 10 + (d[3] - '0');
		if (area >= 31 && d[4] == '9' && d[5] >= '7') {
			memmove(d + 4, d + 5, nd - 4);
			nd--;
		}
	}
	if (nd + sizeof "@s.whatsapp.net" > outlen)
		return -1;
	snprintf(out, outlen, "%s@s.whatsapp.net", d);
	return 0;
}

const char *wamd_source_of_id(const char *id)
{
	size_t n = id ? strlen(id) : 0;
	if (n == 0)
		return "unknown";
	if (n == 20 && !strncmp(id, "3A", 2))
		return "ios";
	if (n == 22 && !strncmp(id, "3E", 2))
		return "web";
	if (n == 21 || n == 32)
		return "android";
	if (!strncmp(id, "3F", 2) || n == 18)
		return "desktop";
	return "unknown";
}

const char *wamd_status_name(int st)
{
	static const char *n[] = { "ERROR", "PENDING", "SERVER_ACK", "DELIVERY_ACK", "READ", "PLAYED" };
	return st >= 0 && st <= 5 ? n[st] : "ERROR";
}

static const struct { const char *upper, *dotted; } events[] = {
	{ "APPLICATION_STARTUP", "application.startup" },
	{ "QRCODE_UPDATED", "qrcode.updated" },
	{ "CONNECTION_UPDATE", "connection.update" },
	{ "MESSAGES_SET", "messages.set" },
	{ "MESSAGES_UPSERT", "messages.upsert" },
	{ "MESSAGES_EDITED", "messages.edited" },
	{ "MESSAGES_UPDATE", "messages.update" },
	{ "MESSAGES_DELETE", "messages.delete" },
	{ "SEND_MESSAGE", "send.message" },
	{ "SEND_MESSAGE_UPDATE", "send.message.update" },
	{ "CONTACTS_SET", "contacts.set" },
	{ "CONTACTS_UPSERT", "contacts.upsert" },
	{ "CONTACTS_UPDATE", "contacts.update" },
	{ "PRESENCE_UPDATE", "presence.update" },
	{ "CHATS_SET", "chats.set" },
	{ "CHATS_UPSERT", "chats.upsert" },
	{ "CHATS_UPDATE", "chats.update" },
	{ "CHATS_DELETE", "chats.delete" },
	{ "GROUPS_UPSERT", "groups.upsert" },
	{ "GROUP_UPDATE", "groups.update" },
	{ "GROUP_PARTICIPANTS_UPDATE", "group-participants.update" },
	{ "LABELS_EDIT", "labels.edit" },
	{ "LABELS_ASSOCIATION", "labels.association" },
	/* wamd's own: a fetchHistory request the phone did not answer */
	{ "HISTORY_DEMAND_TIMEOUT", "history-demand.timeout" },
	{ "CALL", "call" },
	{ "TYPEBOT_START", "typebot.start" },
	{ "TYPEBOT_CHANGE_STATUS", "typebot.change-status" },
	{ "INSTANCE_CREATE", "instance.create" },
	{ "INSTANCE_DELETE", "instance.delete" },
	{ "STATUS_INSTANCE", "status.instance" },
	{ "LOGOUT_INSTANCE", "logout.instance" },
	{ "REMOVE_INSTANCE", "remove.instance" },
};

const char *wamd_event_dotted(const char *upper)
{
	for (size_t i = 0; i < sizeof events / sizeof events[0]; i++)
		if (!strcmp(events[i].upper, upper))
			return events[i].dotted;
	return NULL;
}

bool wamd_event_known(const char *upper)
{
	return wamd_event_dotted(upper) != NULL;
}

void wamd_event_suffix(const char *upper, char *out, size_t outlen)
{
	const char *d = wamd_event_dotted(upper);
	if (!d)
		d = upper;
	size_t k = 0;
	for (const char *p = d; *p && k + 1 < outlen; p++)
		out[k++] = (*p == '.' || *p == '_') ? '-' : (char)tolower((unsigned char)*p);
	out[k] = '\0';
}

int wamd_url_parse(const char *url, struct wamd_url *u)
{
	memset(u, 0, sizeof *u);
	const char *p;
	if (!strncasecmp(url, "http://", 7)) {
		p = url + 7;
		u->port = 80;
	} else if (!strncasecmp(url, "https://", 8)) {
		p = url + 8;
		u->tls = true;
		u->port = 443;
	} else
		return -1;
	const char *slash = strchr(p, '/');
	size_t hl = slash ? (size_t)(slash - p) : strlen(p);
	char hostport[300];
	if (hl == 0 || hl >= sizeof hostport)
		return -1;
	memcpy(hostport, p, hl);
	hostport[hl] = '\0';
	if (memchr(hostport, '@', hl))
		return -1; /* no userinfo: it hides the real host from a reader */
	char *host = hostport, *colon;
	if (hostport[0] == '[') {
		char *rb = strchr(hostport, ']');
		if (!rb)
			return -1;
		*rb = '\0';
		host = hostport + 1;
		colon = rb[1] == ':' ? rb + 1 : NULL;
	} else {
		colon = strrchr(hostport, ':');
		if (colon)
			*colon = '\0';
	}
	if (colon) {
		char *end;
		long port = strtol(colon + 1, &end, 10);
		if (*end || port <= 0 || port > 65535)
			return -1;
		u->port = (int)port;
	}
	if (!*host || strlen(host) >= sizeof u->host)
		return -1;
	strcpy(u->host, host);
	const char *path = slash ? slash : "/";
	if (strlen(path) >= sizeof u->path)
		return -1;
	strcpy(u->path, path);
	return 0;
}

static enum wamd_addr_class classify_v4(uint32_t a)
{
	uint8_t b0 = (uint8_t)(a >> 24), b1 = (uint8_t)(a >> 16);
	if (b0 == 127)
		return WAMD_ADDR_LOOPBACK;
	if (b0 == 10 || b0 == 0 || (b0 == 172 && (b1 & 0xf0) == 16) || (b0 == 192 && b1 == 168) ||
	    (b0 == 169 && b1 == 254) || (b0 == 100 && (b1 & 0xc0) == 64) || b0 >= 224)
		return WAMD_ADDR_PRIVATE;
	return WAMD_ADDR_PUBLIC;
}

static enum wamd_addr_class classify_v6(const uint8_t *a)
{
	static const uint8_t loop[16] = { [15] = 1 }, any[16] = { 0 };
	if (!memcmp(a, loop, 16))
		return WAMD_ADDR_LOOPBACK;
	if (!memcmp(a, any, 16))
		return WAMD_ADDR_PRIVATE;
	/* forms that carry an IPv4 address and reach it: mapped (::ffff:a.b.c.d),
	 * the deprecated compatible form (::a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) */
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff }, compat[12] = { 0 },
			     nat64[12] = { 0x00, 0x64, 0xff, 0x9b };
	uint32_t v4 = (uint32_t)a[12] << 24 | (uint32_t)a[13] << 16 | (uint32_t)a[14] << 8 | a[15];
	if (!memcmp(a, mapped, 12) || !memcmp(a, compat, 12) || !memcmp(a, nat64, 12))
		return classify_v4(v4);
	if ((a[0] & 0xfe) == 0xfc || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) || a[0] == 0xff)
		return WAMD_ADDR_PRIVATE;
	return WAMD_ADDR_PUBLIC;
}

static bool is_localhost_name(const char *h, size_t n)
{
	if (n && h[n - 1] == '.')
		n--; /* "localhost." is the same name, fully qualified */
	return (n == 9 && !strncasecmp(h, "localhost", 9)) ||
	       (n > 10 && !strncasecmp(h + n - 10, ".localhost", 10));
}

enum wamd_addr_class wamd_addr_classify_host(const char *host)
{
	struct wamd_host hh;
	if (wamd_host_parse(host, &hh) != 0)
		return WAMD_ADDR_PRIVATE; /* not a host: refused like one */
	return hh.cls;
}

int wamd_host_parse(const char *host, struct wamd_host *out)
{
	memset(out, 0, sizeof *out);
	size_t n = strlen(host);
	if (n == 0 || n >= sizeof out->canon)
		return -1;
	struct in6_addr a6;
	if (strchr(host, ':')) {
		if (inet_pton(AF_INET6, host, &a6) != 1)
			return -1;
		out->numeric = true;
		out->family = AF_INET6;
		out->cls = classify_v6(a6.s6_addr);
		inet_ntop(AF_INET6, &a6, out->canon, sizeof out->canon);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)host[i];
		if (!isalnum(ch) && ch != '.' && ch != '-' && ch != '_')
			return -1;
	}
	/* inet_aton takes every form the resolver (and so lws) would take as
	 * an IPv4 address: 127.1, 0x7f000001, 2130706433, 0177.0.0.1, 0 */
	struct in_addr a4;
	if (inet_aton(host, &a4) == 1) {
		out->numeric = true;
		out->family = AF_INET;
		out->cls = classify_v4(ntohl(a4.s_addr));
		inet_ntop(AF_INET, &a4, out->canon, sizeof out->canon);
		return 0;
	}
	/* a name: its last label may not look numeric (RFC 3696 2), else
	 * "1.2.3.999" or "0x7f.1" would reach a resolver that may read them
	 * as addresses in ways inet_aton does not */
	size_t end = host[n - 1] == '.' ? n - 1 : n;
	size_t start = end;
	while (start > 0 && host[start - 1] != '.')
		start--;
	if (start == end || strstr(host, ".."))
		return -1;
	bool all_num = true;
	for (size_t i = start; i < end; i++)
		if (!isxdigit((unsigned char)host[i]) && !(i == start + 1 && (host[i] == 'x' || host[i] == 'X')))
			all_num = false;
	if (all_num && isdigit((unsigned char)host[start]))
		return -1;
	for (size_t i = 0; i < n; i++)
		out->canon[i] = (char)tolower((unsigned char)host[i]);
	out->canon[n] = '\0';
	out->cls = is_localhost_name(host, n) ? WAMD_ADDR_LOOPBACK : WAMD_ADDR_PUBLIC;
	return 0;
}

const char *wamd_addr_class_refused(const struct wamd_config *c, enum wamd_addr_class cls)
{
	if (cls == WAMD_ADDR_LOOPBACK && !c->webhook_allow_loopback)
		return "loopback addresses are refused (webhook_allow_loopback)";
	if (cls == WAMD_ADDR_PRIVATE && !c->webhook_allow_private)
		return "private and link-local addresses are refused (webhook_allow_private)";
	return NULL;
}

const char *wamd_webhook_url_policy(const struct wamd_config *c, const char *url, char *why, size_t whylen)
{
	struct wamd_url u;
	struct wamd_host h;
	if (wamd_url_parse(url, &u) != 0)
		return "not an http(s) URL";
	if (wamd_host_parse(u.host, &h) != 0)
		return "the host is neither an IP address nor a host name";
	const char *r = wamd_addr_class_refused(c, h.cls);
	if (r)
		return r;
	/* one spelling per address, so what is stored is what is checked */
	if (h.numeric && strcmp(h.canon, u.host) != 0) {
		snprintf(why, whylen, "write the address %s as %s", u.host, h.canon);
		return why;
	}
	return NULL;
}

enum wamd_addr_class wamd_addr_classify_sa(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return classify_v4(ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr));
	if (sa->sa_family == AF_INET6)
		return classify_v6(((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr);
	return WAMD_ADDR_PRIVATE;
}

/* ---- proxy URL for libwa ---- */

/* RFC 3986 userinfo: unreserved bytes as they are, everything else %XX. */
static int pct_append(char *out, size_t cap, size_t *o, const char *s)
{
	static const char hx[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			     *p == '-' || *p == '.' || *p == '_' || *p == '~';
		size_t need = plain ? 1 : 3;
		if (*o + need >= cap)
			return -1;
		if (plain) {
			out[(*o)++] = (char)*p;
		} else {
			out[(*o)++] = '%';
			out[(*o)++] = hx[*p >> 4];
			out[(*o)++] = hx[*p & 15];
		}
	}
	out[*o] = '\0';
	return 0;
}

int wamd_proxy_url(const json_t *proxy, char *out, size_t cap)
{
	if (cap == 0)
		return -1;
	out[0] = '\0';
	if (!json_is_object(proxy) || !json_is_true(json_object_get(proxy, "enabled")))
		return 0;
	const char *proto = json_string_value(json_object_get(proxy, "protocol"));
	const char *host = json_string_value(json_object_get(proxy, "host"));
	const char *port = json_string_value(json_object_get(proxy, "port"));
	const char *user = json_string_value(json_object_get(proxy, "username"));
	const char *pass = json_string_value(json_object_get(proxy, "password"));
	if (!proto || !host || !port)
		return -1;
	const char *scheme = !strcmp(proto, "http") ? "http" : !strcmp(proto, "socks5") ? "socks5" :
			     !strcmp(proto, "socks4") ? "socks4" : NULL;
	if (!scheme)
		return -1;
	/* the API validated these, but the document is data: a host with '@'
	 * or '/' would change what the URL means */
	if (!*host || strlen(host) > 253 || !*port || strlen(port) > 5)
		return -1;
	for (const char *q = host; *q; q++)
		if (!isalnum((unsigned char)*q) && *q != '.' && *q != '-' && *q != '_')
			return -1;
	for (const char *q = port; *q; q++)
		if (*q < '0' || *q > '9')
			return -1;
	int n = snprintf(out, cap, "%s://", scheme);
	if (n < 0 || (size_t)n >= cap)
		return -1;
	size_t o = (size_t)n;
	if (user && *user) {
		if (pct_append(out, cap, &o, user) || o + 1 >= cap)
			goto too_long;
		out[o++] = ':';
		out[o] = '\0';
		if (pct_append(out, cap, &o, pass ? pass : "") || o + 1 >= cap)
			goto too_long;
		out[o++] = '@';
		out[o] = '\0';
	}
	n = snprintf(out + o, cap - o, "%s:%s", host, port);
	if (n < 0 || (size_t)n >= cap - o)
		goto too_long;
	return 0;
too_long:
	explicit_bzero(out, cap);
	out[0] = '\0';
	return -1;
}

/* "2026-01-05T09:30:00Z", "...T09:30:00.250+02:00", "...T09:30+0200":
 * ms since the epoch, or -1 */
static int64_t iso_ms(const char *s)
{
	int y, mo, d, h, mi, sec = 0, n = 0;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d%n", &y, &mo, &d, &h, &mi, &n) != 5 || n != 16)
		return -1;
	const char *p = s + n;
	int64_t ms = 0;
	if (*p == ':') {
		if (!isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]))
			return -1;
		sec = (p[1] - '0') * 10 + (p[2] - '0');
		p += 3;
		if (*p == '.') {
			int64_t scale = 100;
			for (p++; isdigit((unsigned char)*p); p++, scale /= 10)
				ms += (*p - '0') * scale;
		}
	}
	int64_t off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om, k = 0;
		if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &k) == 2 && k == 5)
			;
		else if (sscanf(p + 1, "%2d%2d%n", &oh, &om, &k) == 2 && k == 4)
			;
		else
			return -1;
		off = (*p == '-' ? -1 : 1) * ((int64_t)oh * 60 + om) * 60000;
		p += 1 + k;
	} else {
		return -1; /* no zone: ambiguous */
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || y < 1970)
		return -1;
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi,
			 .tm_sec = sec };
	time_t tt = timegm(&tm);
	if (tt == (time_t)-1 || tm.tm_mday != d) /* 31 February */
		return -1;
	return (int64_t)tt * 1000 + ms - off;
}

int64_t wamd_send_at_parse(const json_t *v)
{
	if (!v || json_is_null(v))
		return 0;
	int64_t ms = json_is_integer(v) ? (int64_t)json_integer_value(v)
		     : json_is_string(v) ? iso_ms(json_string_value(v)) : -1;
	return ms < 0 ? -1 : ms;
}
