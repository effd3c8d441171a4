/* The HTTP front end: wamd accepts on its own listening sockets, reads
 * each request's head with a strict check of its own (wamd_front_parse.c),
 * answers a malformed one itself and hands a good one to lws, which reads
 * the same bytes (see wamd_front.c). */
#ifndef WAMD_FRONT_H
#define WAMD_FRONT_H

#include <stdbool.h>
#include <stddef.h>

#define WAMD_FRONT_HEAD_MAX 4096  /* request line + header lines + CRLF (lws' own default) */
#define WAMD_FRONT_FIELDS_MAX 64  /* header lines */
#define WAMD_FRONT_HEAD_SECS 10   /* to send the whole head (lws' header timeout) */
#define WAMD_FRONT_LWS_HEADER_DATA 8192 /* lws' header space (context max_http_header_data) */

#define WAMD_FRONT_HEAD_MORE 0
#define WAMD_FRONT_HEAD_OK 1

/* Checks the first len bytes of a request: WAMD_FRONT_HEAD_OK with
 * *head_len (through the blank line's LF), WAMD_FRONT_HEAD_MORE when the
 * bytes so far are a valid start, else the status to answer (400, 431) and
 * *why. Bytes after the head (a body) are not looked at. */
int wamd_front_check(const char *buf, size_t len, size_t *head_len, const char **why);

#ifndef WAMD_FRONT_PARSE_ONLY
#include <libwebsockets.h>
struct wamd;

/* A listening socket (bound, listening, non-blocking) for vhost vh: its
 * connections are read by wamd_front_cb until their head is checked, then
 * adopted by lws on vh. The protocol list of vh must hold
 * WAMD_FRONT_PROTOCOL. 0 or -1 (fd closed). */
int wamd_front_listen(struct wamd *d, struct lws_vhost *vh, int fd, bool from_unix);
/* Did the connection of wsi (handed to lws by the front end) come in on
 * the unix socket? */
bool wamd_front_from_unix(struct lws *wsi);
/* Closes the connections still being read on the libev loop (at exit; on
 * lws' poll() loop lws closes them with the context). */
void wamd_front_shutdown(struct wamd *d);
#define WAMD_FRONT_PROTOCOL "wamd-front"
int wamd_front_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len);

/* Listening sockets: a unix socket at path (mode from the umask), and TCP
 * on host:port (host empty: every interface). -1 with errno. */
int wamd_front_socket_unix(const char *path);
int wamd_front_socket_tcp(const char *host, int port);
#endif

#endif
