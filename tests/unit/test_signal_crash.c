/* Crash consistency of src/signal on src/store. The parent plays the server
 * and the other peer ("srv", its own store); a child process (this binary
 * with --child) runs the client on an on-disk store and is SIGKILLed at
 * seeded random points (WA_SEED), restarted from the database, and sent
 * again whatever it had not acknowledged. Proves, over 1,000 receive cycles
 * (decrypt + insert-if-absent in one transaction, then ack) and 1,000 send
 * cycles (encrypt + record message and ciphertext in one transaction, then
 * send from the record):
 *  - every ciphertext decrypts (no ratchet step is ever lost or doubled),
 *  - no message is delivered twice (at most one "fresh" decrypt per id; a
 *    redelivery after commit answers from the messages table),
 *  - none is lost (every id acked / received, and present in the child's DB),
 *  - a message sent again after a restart is byte-identical (it comes from
 *    the record, never from a new ratchet step).
 * Child protocol, one line each (single write(), < PIPE_BUF):
 *   parent -> child: "R <id> <type> <b64 ct>" | "S <id> <b64 pt>"
 *   child -> parent: "A <id> fresh|dup <b64 pt>" | "C <id> <type> <b64 ct>" | "E <id> <err>" */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "peer.h"
#include "util/codec.h"

#define N_RECV 1000
#define N_SEND 1000
#define CHAT "srv"
#define LINE_MAX_LEN 4000

/* ---------------- child: the client ---------------- */

/* Injected crash point for the current command ("K<n>" suffix), 0 = none:
 * the child SIGKILLs itself exactly there, which is the parent killing it at
 * that instant, for the windows a timed kill rarely hits. */
static int crash_at;
static void crash_point(int pt)
{
	if (crash_at == pt)
		raise(SIGKILL);
}

static void emit(const char *line)
{
	size_t n = strlen(line);
	/* one write per line: atomic below PIPE_BUF, so a kill never leaves half a line */
	if (write(STDOUT_FILENO, line, n) != (ssize_t)n)
		_exit(3);
}

static void child_error(const char *id, int rc)
{
	char l[128];
	snprintf(l, sizeof l, "E %s %s\n", id, wa_errname(rc));
	emit(l);
}

static void child_recv(test_peer *p, const char *id, const char *type, const char *b64)
{
	char line[LINE_MAX_LEN + 64];
	wa_store_msg_row *row = NULL;
	uint8_t *ct = NULL, *pt = NULL;
	size_t ct_len = 0, pt_len = 0;
	bool fresh = false;
	enum wa_sig_msg_type t;
	int rc = wa_store_begin(p->st);
	if (rc)
		goto fail;
	rc = wa_store_msg_load(p->st, p->inst, CHAT, id, false, &row);
	if (rc == WA_ENOTFOUND) {
		/* not delivered yet: decrypt and log it in the same transaction */
		crash_point(1);
		if ((rc = wa_sig_type_parse(type, &t)) || (rc = wa_b64_decode(b64, strlen(b64), &ct, &ct_len)) ||
		    (rc = wa_sig_decrypt(p->sig, "srv", 1, t, ct, ct_len, &pt, &pt_len)))
			goto fail;
		crash_point(2);
		wa_store_msg m = { .chat_jid = CHAT, .msg_id = id, .from_me = false, .timestamp = 1700000000,
				   .status = WA_STORE_MSG_RECEIVED, .plaintext = pt, .plaintext_len = pt_len };
		bool existed = false;
		if ((rc = wa_store_msg_insert(p->st, p->inst, &m, &existed)))
			goto fail;
		fresh = !existed;
		crash_point(3);
	} else if (rc) {
		goto fail;
	}
	if ((rc = wa_store_commit(p->st)))
		goto fail;
	crash_point(4);
	/* ack only after the commit */
	char *s = fresh ? wa_b64_encode(pt, pt_len) : wa_b64_encode(row->plaintext, row->plaintext_len);
	snprintf(line, sizeof line, "A %s %s %s\n", id, fresh ? "fresh" : "dup", s ? s : "");
	free(s);
	emit(line);
	crash_point(5);
	rc = wa_store_msg_set_status(p->st, p->inst, CHAT, id, false, WA_STORE_MSG_ACKED);
	if (rc)
		child_error(id, rc);
	goto out;
fail:
	if (wa_store_tx_depth(p->st))
		(void)wa_store_rollback(p->st);
	child_error(id, rc);
out:
	wa_store_msg_row_free(row);
	free(ct);
	free(pt);
}

/* Sends every recorded-but-unsent message, oldest first. */
static int child_flush(test_peer *p)
{
	for (;;) {
		int64_t row;
		char *mid = NULL, *chat = NULL;
		uint8_t *payload = NULL;
		size_t len = 0;
		int rc = wa_store_outbox_next(p->st, p->inst, &row, &mid, &chat, &payload, &len);
		if (rc == WA_ENOTFOUND)
			return 0;
		if (rc)
			return rc;
		char *s = len > 1 ? wa_b64_encode(payload + 1, len - 1) : NULL;
		char line[LINE_MAX_LEN + 64];
		snprintf(line, sizeof line, "C %s %s %s\n", mid, len ? wa_sig_type_name(payload[0]) : "?", s ? s : "");
		free(s);
		emit(line);
		crash_point(4);
		rc = wa_store_outbox_set_state(p->st, p->inst, row, WA_STORE_OUTBOX_SENT);
		free(mid);
		free(chat);
		free(payload);
		if (rc)
			return rc;
	}
}

static void child_send(test_peer *p, const char *id, const char *b64)
{
	wa_store_msg_row *row = NULL;
	uint8_t *pt = NULL, *ct = NULL, *payload = NULL;
	size_t pt_len = 0, ct_len = 0;
	enum wa_sig_msg_type t;
	int rc = wa_store_begin(p->st);
	if (rc)
		goto fail;
	rc = wa_store_msg_load(p->st, p->inst, CHAT, id, true, &row);
	if (rc == WA_ENOTFOUND) {
		/* ratchet step, message and ciphertext commit together */
		if ((rc = wa_b64_decode(b64, strlen(b64), &pt, &pt_len)) ||
		    (rc = wa_sig_encrypt(p->sig, "srv", 1, pt, pt_len, &t, &ct, &ct_len)))
			goto fail;
		crash_point(1);
		wa_store_msg m = { .chat_jid = CHAT, .msg_id = id, .from_me = true, .timestamp = 1700000000,
				   .status = WA_STORE_MSG_PENDING, .plaintext = pt, .plaintext_len = pt_len };
		if ((rc = wa_store_msg_insert(p->st, p->inst, &m, NULL)))
			goto fail;
		payload = malloc(ct_len + 1);
		if (!payload) {
			rc = WA_ENOMEM;
			goto fail;
		}
		payload[0] = (uint8_t)t;
		memcpy(payload + 1, ct, ct_len);
		if ((rc = wa_store_outbox_add(p->st, p->inst, CHAT, id, payload, ct_len + 1, NULL)))
			goto fail;
		crash_point(2);
	} else if (rc) {
		goto fail;
	}
	if ((rc = wa_store_commit(p->st)))
		goto fail;
	crash_point(3);
	if ((rc = child_flush(p)))
		child_error(id, rc);
	goto out;
fail:
	if (wa_store_tx_depth(p->st))
		(void)wa_store_rollback(p->st);
	child_error(id, rc);
out:
	wa_store_msg_row_free(row);
	free(pt);
	free(ct);
	free(payload);
}

static int child_main(const char *path, uint64_t seed)
{
	test_rand_seed(seed);
	test_peer p;
	int rc = test_peer_open(&p, path, "client");
	if (rc) {
		child_error("open", rc);
		return 2;
	}
	emit("READY\n");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, stdin)) > 0) {
		if (line[n - 1] == '\n')
			line[n - 1] = 0;
		char *save = NULL;
		char *op = strtok_r(line, " ", &save);
		char *id = strtok_r(NULL, " ", &save);
		char *a = strtok_r(NULL, " ", &save);
		char *b = strtok_r(NULL, " ", &save);
		char *k = strtok_r(NULL, " ", &save);
		const char *kill_tok = op && op[0] == 'S' ? b : k;
		crash_at = kill_tok && kill_tok[0] == 'K' ? atoi(kill_tok + 1) : 0;
		if (op && id && a && op[0] == 'R' && b)
			child_recv(&p, id, a, b);
		else if (op && id && a && op[0] == 'S')
			child_send(&p, id, a);
		else
			child_error("parse", WA_EMALFORMED);
	}
	free(line);
	test_peer_close(&p);
	return 0;
}

/* ---------------- parent: server + peer ---------------- */

typedef struct child {
	pid_t pid;
	FILE *to;
	FILE *from;
} child;

static char self_exe[512];
static char client_path[300];

static int spawn(child *c, uint64_t seed)
{
	int in[2], out[2];
	if (pipe(in) || pipe(out))
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(in[0], STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		char seed_s[32];
		snprintf(seed_s, sizeof seed_s, "%llu", (unsigned long long)seed);
		execl(self_exe, self_exe, "--child", client_path, seed_s, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	c->pid = pid;
	c->to = fdopen(in[1], "w");
	c->from = fdopen(out[0], "r");
	if (!c->to || !c->from)
		return -1;
	/* kills should land in the work, not in process start-up */
	char *l = NULL;
	size_t cap = 0;
	int rc = getline(&l, &cap, c->from) > 0 && strcmp(l, "READY\n") == 0 ? 0 : -1;
	free(l);
	return rc;
}

/* Returns true when the child died of SIGKILL (a kill it did not survive
 * on its own: the restart has to recover). */
static bool reap(child *c, bool kill_it)
{
	if (kill_it)
		kill(c->pid, SIGKILL);
	fclose(c->to);
	int st = 0;
	if (waitpid(c->pid, &st, 0) != c->pid)
		return false;
	return WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
}

typedef struct item {
	bool is_send;
	int n;             /* index within its kind */
	char id[16];
	uint8_t *pt;       /* expected plaintext */
	size_t pt_len;
	char *line;        /* the command, kept for redelivery */
	bool done;
	int fresh_acks, dup_acks;
	uint8_t *first_ct; /* sends: the first ciphertext seen */
	size_t first_ct_len;
} item;

static item items[N_RECV + N_SEND];
static test_peer srv;
static int n_points[2][6]; /* [is_send][point]: injected kills requested */
static int n_kills, n_redelivered, n_resent_identical, n_dup_acks, n_errors;

static item *find(const char *id)
{
	for (size_t i = 0; i < N_RECV + N_SEND; i++)
		if (items[i].line && strcmp(items[i].id, id) == 0)
			return &items[i];
	return NULL;
}

/* Handles one line from the child; returns the item it completed or NULL. */
static void handle_line(char *line)
{
	size_t n = strlen(line);
	if (n && line[n - 1] == '\n')
		line[n - 1] = 0;
	else
		return; /* partial line from a killed child: never happens with atomic writes */
	char *save = NULL;
	char *op = strtok_r(line, " ", &save);
	char *id = strtok_r(NULL, " ", &save);
	char *a = strtok_r(NULL, " ", &save);
	char *b = strtok_r(NULL, " ", &save);
	item *it = id ? find(id) : NULL;
	if (!op || !it || !a) {
		fprintf(stderr, "crash: child said: %s %s %s\n", op ? op : "", id ? id : "", a ? a : "");
		n_errors++;
		return;
	}
	uint8_t *bytes = NULL;
	size_t len = 0;
	if (b && wa_b64_decode(b, strlen(b), &bytes, &len)) {
		n_errors++;
		return;
	}
	if (op[0] == 'A' && !it->is_send) {
		CHECK(len == it->pt_len && memcmp(bytes, it->pt, len) == 0);
		if (strcmp(a, "fresh") == 0)
			it->fresh_acks++;
		else
			it->dup_acks++, n_dup_acks++;
		CHECK(it->fresh_acks <= 1); /* never delivered twice */
		it->done = true;
	} else if (op[0] == 'C' && it->is_send) {
		if (it->first_ct) {
			/* resent after a restart: must be the recorded bytes */
			CHECK(len == it->first_ct_len && memcmp(bytes, it->first_ct, len) == 0);
			n_resent_identical++;
		} else {
			enum wa_sig_msg_type t;
			uint8_t *pt = NULL;
			size_t pt_len = 0;
			CHECK_EQ_INT(wa_sig_type_parse(a, &t), 0);
			int rc = wa_sig_decrypt(srv.sig, "client", 1, t, bytes, len, &pt, &pt_len);
			CHECK_EQ_INT(rc, 0);
			if (rc == 0)
				CHECK(pt_len == it->pt_len && memcmp(pt, it->pt, pt_len) == 0);
			free(pt);
			it->first_ct = bytes;
			it->first_ct_len = len;
			bytes = NULL;
		}
		it->done = true;
	} else {
		fprintf(stderr, "crash: child error for %s: %s\n", id, a);
		n_errors++;
		it->done = true; /* counted as a failure; don't wait for it */
	}
	free(bytes);
}

static uint64_t rng;

static int parent_main(uint64_t seed)
{
	char dir[] = "/tmp/wa_sig_crash.XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	char srv_path[300];
	snprintf(client_path, sizeof client_path, "%s/client.db", dir);
	snprintf(srv_path, sizeof srv_path, "%s/srv.db", dir);
	rng = seed;
	test_rand_seed(seed * 31 + 7);

	/* both stores, and srv's session with the client from its bundle */
	test_peer cl;
	CHECK_EQ_INT(test_peer_create(&cl, client_path, "client", 1, 2), 0);
	CHECK_EQ_INT(test_peer_create(&srv, srv_path, "srv", 1, 2), 0);
	if (!cl.sig || !srv.sig)
		return check_exit("test_signal_crash");
	wa_sig_bundle b;
	test_peer_bundle(&cl, 1, &b);
	CHECK_EQ_INT(wa_sig_session_from_bundle(srv.sig, "client", 1, &b), 0);
	test_peer_close(&cl);

	/* the workload: receives and sends interleaved at random */
	int nr = 0, ns = 0;
	for (size_t i = 0; i < N_RECV + N_SEND; i++) {
		item *it = &items[i];
		/* the client has a session only once srv's first pkmsg arrived */
		it->is_send = i > 0 && ns < N_SEND && (nr >= N_RECV || test_rand_next(&rng) % 2);
		it->n = it->is_send ? ns++ : nr++;
		snprintf(it->id, sizeof it->id, "%c%d", it->is_send ? 'S' : 'R', it->n);
		char text[96];
		int tl = snprintf(text, sizeof text, "%s message %d %.*s", it->is_send ? "outgoing" : "incoming",
				  it->n, (int)(test_rand_next(&rng) % 40), "........................................");
		it->pt = malloc((size_t)tl);
		memcpy(it->pt, text, (size_t)tl);
		it->pt_len = (size_t)tl;
	}

	child c;
	uint64_t restarts = 0;
	if (spawn(&c, seed + restarts)) {
		perror("spawn");
		return 1;
	}
	size_t next = 0;
	char *line = NULL;
	size_t cap = 0;
	while (next < N_RECV + N_SEND) {
		/* a batch of 1..4 new items, plus every earlier one still not done */
		size_t end = next + 1 + test_rand_next(&rng) % 4;
		if (end > N_RECV + N_SEND)
			end = N_RECV + N_SEND;
		for (size_t i = next; i < end; i++) {
			item *it = &items[i];
			char *s;
			if (it->is_send) {
				s = wa_b64_encode(it->pt, it->pt_len);
				it->line = malloc(strlen(s) + 32);
				sprintf(it->line, "S %s %s\n", it->id, s);
			} else {
				/* srv encrypts when the message is first due, like a live peer */
				enum wa_sig_msg_type t;
				uint8_t *ct;
				size_t ct_len;
				CHECK_EQ_INT(wa_sig_encrypt(srv.sig, "client", 1, it->pt, it->pt_len, &t, &ct, &ct_len), 0);
				s = wa_b64_encode(ct, ct_len);
				free(ct);
				it->line = malloc(strlen(s) + 32);
				sprintf(it->line, "R %s %s %s\n", it->id, wa_sig_type_name(t), s);
			}
			free(s);
		}
		size_t first_open = 0;
		while (first_open < next && items[first_open].done)
			first_open++;
		bool do_kill = test_rand_next(&rng) % 4 == 0;
		/* half the kills are timed, half injected at a named point of one item */
		size_t inject = do_kill && test_rand_next(&rng) % 2 ? first_open + test_rand_next(&rng) % (end - first_open)
								    : SIZE_MAX;
		for (size_t i = first_open; i < end; i++)
			if (!items[i].done) {
				if (i == inject) {
					int pt = 1 + (int)(test_rand_next(&rng) % (items[i].is_send ? 4 : 5));
					fprintf(c.to, "%.*s K%d\n", (int)strlen(items[i].line) - 1, items[i].line, pt);
					n_points[items[i].is_send][pt]++;
				} else {
					fputs(items[i].line, c.to);
				}
				if (i < next)
					n_redelivered++;
			}
		fflush(c.to);
		if (do_kill && inject != SIZE_MAX) {
			/* the child dies at the point, or finishes the batch and exits on EOF */
			bool died = reap(&c, false);
			while (getline(&line, &cap, c.from) > 0)
				handle_line(line);
			fclose(c.from);
			n_kills += died;
			if (spawn(&c, seed + ++restarts)) {
				perror("spawn");
				return 1;
			}
		} else if (do_kill) {
			/* somewhere inside the batch: before, during or after the commits */
			long budget_us = (long)(end - first_open) * 1500;
			struct timespec ts = { 0, (long)(test_rand_next(&rng) % (uint64_t)budget_us) * 1000 };
			nanosleep(&ts, NULL);
			bool died = reap(&c, true);
			while (getline(&line, &cap, c.from) > 0)
				handle_line(line);
			fclose(c.from);
			n_kills += died;
			if (spawn(&c, seed + ++restarts)) {
				perror("spawn");
				return 1;
			}
		} else {
			for (;;) {
				bool all = true;
				for (size_t i = first_open; i < end; i++)
					all = all && items[i].done;
				if (all)
					break;
				if (getline(&line, &cap, c.from) <= 0) {
					fprintf(stderr, "crash: child died unexpectedly\n");
					n_errors++;
					goto finish;
				}
				handle_line(line);
			}
		}
		next = end;
		if (n_errors > 5)
			break;
	}
	/* drain: anything still open after the last kill */
	for (int round = 0; round < 3; round++) {
		bool all = true;
		for (size_t i = 0; i < N_RECV + N_SEND; i++)
			if (!items[i].done && items[i].line) { /* no line: never reached after an error */
				all = false;
				fputs(items[i].line, c.to);
			}
		fflush(c.to);
		if (all)
			break;
		for (size_t i = 0; i < N_RECV + N_SEND; i++)
			while (!items[i].done && items[i].line && getline(&line, &cap, c.from) > 0)
				handle_line(line);
	}
finish:
	reap(&c, false);
	while (getline(&line, &cap, c.from) > 0)
		handle_line(line);
	fclose(c.from);
	free(line);

	/* every message done, and the client's delivered log holds each exactly as sent */
	wa_store *st = NULL;
	int64_t inst = 0;
	CHECK_EQ_INT(wa_store_open(client_path, NULL, &st), 0);
	CHECK_EQ_INT(wa_store_instance_find(st, "client", &inst), 0);
	int lost = 0;
	for (size_t i = 0; i < N_RECV + N_SEND; i++) {
		item *it = &items[i];
		if (!it->done)
			lost++;
		if (!it->is_send)
			CHECK(it->fresh_acks <= 1);
		wa_store_msg_row *row = NULL;
		int rc = st ? wa_store_msg_load(st, inst, CHAT, it->id, it->is_send, &row) : WA_EINVAL;
		CHECK_EQ_INT(rc, 0);
		if (rc == 0)
			CHECK(row->plaintext_len == it->pt_len && memcmp(row->plaintext, it->pt, it->pt_len) == 0);
		wa_store_msg_row_free(row);
		free(it->pt);
		free(it->line);
		free(it->first_ct);
	}
	wa_store_close(st);
	CHECK_EQ_INT(lost, 0);
	CHECK_EQ_INT(n_errors, 0);
	CHECK(n_kills >= 100);
	printf("test_signal_crash: WA_SEED=%llu kills survived=%d, redelivered=%d, re-acked from the log=%d, "
	       "resent byte-identical=%d, %d receives + %d sends\n",
	       (unsigned long long)seed, n_kills, n_redelivered, n_dup_acks, n_resent_identical, N_RECV, N_SEND);
	printf("injected kill points: recv before-decrypt=%d after-decrypt=%d after-insert=%d after-commit=%d "
	       "after-ack=%d; send after-encrypt=%d before-commit=%d after-commit=%d after-write=%d\n",
	       n_points[0][1], n_points[0][2], n_points[0][3], n_points[0][4], n_points[0][5], n_points[1][1],
	       n_points[1][2], n_points[1][3], n_points[1][4]);
	test_peer_close(&srv);
	static const char *names[] = { "client", "srv" };
	static const char *sfx[] = { ".db", ".db-wal", ".db-shm", ".db-journal" };
	char p[340];
	for (size_t i = 0; i < 2; i++)
		for (size_t j = 0; j < 4; j++) {
			snprintf(p, sizeof p, "%s/%s%s", dir, names[i], sfx[j]);
			unlink(p);
		}
	rmdir(dir);
	return check_exit("test_signal_crash");
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "--child") == 0)
		return child_main(argv[2], strtoull(argv[3], NULL, 10));
	signal(SIGPIPE, SIG_IGN); /* writes to a killed child fail instead */
	ssize_t n = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
	if (n <= 0)
		return 1;
	self_exe[n] = 0;
	const char *seed_env = getenv("WA_SEED");
	uint64_t seed = seed_env ? strtoull(seed_env, NULL, 0) : 20261121;
	return parent_main(seed);
}
