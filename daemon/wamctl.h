/* wamctl: the command-line client of wamd and a home for debug codecs. Each
 * subcommand lives in its own wamctl_<name>.c with one entry point here. */
#ifndef WAMCTL_H
#define WAMCTL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Largest input any subcommand reads from stdin (a 16 MiB stanza as base64
 * JSON is ~22 MiB). */
#define WAMCTL_MAX_INPUT (64u * 1024 * 1024)

/* Exit codes: 0 success, 1 the input was rejected or an operation failed,
 * 2 bad command line. */
enum { WAMCTL_EXIT_OK = 0, WAMCTL_EXIT_FAIL = 1, WAMCTL_EXIT_USAGE = 2 };

/* Reads all of stdin (at most WAMCTL_MAX_INPUT bytes) into a malloc'd,
 * NUL-terminated buffer. Returns 0 or a negative WA_E* code. */
int wamctl_read_stdin(uint8_t **out, size_t *out_len);

/* `wamctl node ...`; argv[0] is "node". */
int wamctl_node_main(int argc, char **argv);
void wamctl_node_usage(FILE *f);

/* Subcommands talking to wamd (wamctl_api.c). */
int wamctl_instance_main(int argc, char **argv);
int wamctl_pair_main(int argc, char **argv);
int wamctl_send_main(int argc, char **argv);
int wamctl_events_main(int argc, char **argv);
int wamctl_qr_main(int argc, char **argv);
int wamctl_proxy_main(int argc, char **argv);
void wamctl_api_usage(FILE *f);

#endif
