/* Property tests for the binary node codec over seeded random trees:
 *   decode(encode(n)) == n (up to the one documented loss: STRING vs BYTES
 *   content compare by value), encode is idempotent through decode, every
 *   strict prefix is WA_ETRUNCATED, compressed frames decode the same,
 *   node -> JSON -> node is exact, and mutated bytes never crash the decoder.
 * The seed is printed; set WA_SEED to replay one (WA_PROP_ITERS to scale). */
#include "check.h"
#include "binary_helpers.h"

#include <time.h>
#include <zlib.h>

#include "binary/limits.h"
#include "binary/jid.h"
#include "binary/tokens.h"

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static size_t below(size_t n) { return n ? (size_t)(rnd() % n) : 0; }

struct sbuf {
	char s[4096];
	size_t len;
};

static void add(struct sbuf *b, const char *s)
{
	size_t n = strlen(s);
	if (b->len + n < sizeof b->s) {
		memcpy(b->s + b->len, s, n);
		b->len += n;
		b->s[b->len] = '\0';
	}
}

static void add_chars(struct sbuf *b, const char *alphabet, size_t count)
{
	size_t an = strlen(alphabet);
	for (size_t i = 0; i < count && b->len + 1 < sizeof b->s; i++)
		b->s[b->len++] = alphabet[below(an)];
	b->s[b->len] = '\0';
}

static void add_num(struct sbuf *b, unsigned v)
{
	char t[16];
	snprintf(t, sizeof t, "%u", v);
	add(b, t);
}

static const char *token(void)
{
	if (below(3) == 0)
		return wa_bin_single_tokens[1 + below(WA_BIN_SINGLE_TOKENS - 1)];
	return wa_bin_double_tokens[below(WA_BIN_DICTS)][below(WA_BIN_DICT_TOKENS)];
}

static void user_part(struct sbuf *b)
{
	switch (below(5)) {
	case 0:
		break; /* empty user */
	case 1:
		add(b, token());
		break;
	case 2:
		add_chars(b, "0123456789ABCDEF", 1 + below(20));
		break;
	default:
		add_chars(b, "0123456789", 1 + below(20));
	}
	/* JID users never contain these; strip any a token brought in */
	for (size_t i = 0; i < b->len; i++)
		if (b->s[i] == '@' || b->s[i] == ':' || b->s[i] == '_')
			b->s[i] = 'x';
}

static void random_utf8(struct sbuf *b, size_t count)
{
	static const char *const pieces[] = {
		"a", "Z", " ", "-", ".", "@", ":", "_", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
		"\x7f", "\x01", "\"", "\\", "/", "0", "9", "F", "f",
	};
	for (size_t i = 0; i < count; i++)
		add(b, pieces[below(sizeof pieces / sizeof pieces[0])]);
}

static void random_string(struct sbuf *b)
{
	static const char *const servers[] = {
		"s.whatsapp.net", "lid", "hosted", "hosted.lid", "g.us", "broadcast", "c.us",
		"newsletter", "msgr", "interop", "bot", "call",
	};
	static const uint8_t std_domains[] = { 0, 1, 128, 129 };
	b->len = 0;
	b->s[0] = '\0';
	switch (below(12)) {
	case 0:
		break; /* "" */
	case 1:
	case 2:
		add(b, token());
		break;
	case 3:
		add_chars(b, "0123456789-.", 1 + below(130)); /* nibble; >127 goes raw */
		break;
	case 4:
		add_chars(b, below(2) ? "0123456789ABCDEF" : "0123456789abcdef", 1 + below(130));
		break;
	case 5: /* JID_PAIR */
		user_part(b);
		add(b, "@");
		add(b, servers[below(sizeof servers / sizeof servers[0])]);
		break;
	case 6: { /* AD_JID, every domain, device 0 included */
		uint8_t dom = below(3) ? std_domains[below(4)] : (uint8_t)below(256);
		user_part(b);
		bool agent = dom != 0 && dom != 1 && dom != 128 && dom != 129;
		if (agent) {
			add(b, "_");
			add_num(b, dom);
		}
		add(b, ":");
		add_num(b, (unsigned)below(256));
		add(b, "@");
		add(b, agent ? "s.whatsapp.net" : wa_jid_domain_server(dom));
		break;
	}
	case 7: /* FB_JID / INTEROP_JID */
		if (below(2)) {
			user_part(b);
			add(b, ":");
			add_num(b, (unsigned)below(65536));
			add(b, "@msgr");
		} else {
			add_num(b, (unsigned)below(65536));
			add(b, "-");
			user_part(b);
			add(b, ":");
			add_num(b, (unsigned)below(65536));
			add(b, "@interop");
		}
		break;
	case 8: /* '@' strings outside the grammar */
		random_utf8(b, below(12));
		add(b, below(2) ? "@" : ":1@");
		random_utf8(b, below(12));
		break;
	case 9: /* long raw strings cross the BINARY_8/20 boundary */
		add_chars(b, "abcdefghij", 200 + below(200));
		break;
	default:
		random_utf8(b, 1 + below(40));
	}
}

static wa_node *random_node(int depth, size_t *budget)
{
	struct sbuf s;
	do
		random_string(&s);
	while (s.len == 0);
	wa_node *n;
	if (wa_node_new(&n, s.s) != 0)
		abort();
	size_t na = below(4) == 0 ? below(12) : below(4);
	for (size_t i = 0; i < na; i++) {
		struct sbuf k, v;
		random_string(&k);
		random_string(&v);
		if (!wa_node_attr(n, k.s) && wa_node_set_attr(n, k.s, v.s) != 0)
			abort();
	}
	switch (below(5)) {
	case 0:
		break;
	case 1: {
		struct sbuf v;
		random_string(&v);
		if (wa_node_set_string(n, v.s) != 0)
			abort();
		break;
	}
	case 2: {
		size_t len = below(20) == 0 ? 256 + below(70000) : below(300);
		uint8_t *p = malloc(len ? len : 1);
		for (size_t i = 0; i < len; i++)
			p[i] = (uint8_t)rnd();
		if (wa_node_set_bytes(n, p, len) != 0)
			abort();
		free(p);
		break;
	}
	default: {
		wa_node_set_list(n);
		size_t nc = below(depth < 4 ? 6 : 2);
		if (below(60) == 0)
			nc = 256 + below(50); /* LIST_16 */
		for (size_t i = 0; i < nc && *budget; i++) {
			(*budget)--;
			wa_node *c = random_node(depth + 1, budget);
			if (wa_node_add_child(n, c) != 0)
				abort();
		}
	}
	}
	return n;
}

static int check_tree(const wa_node *n, unsigned long long seed, int iter)
{
	int bad = 0;
	uint8_t *b = NULL, *b2 = NULL, *z = NULL;
	size_t len = 0, len2 = 0;
	wa_node *back = NULL, *zback = NULL, *jback = NULL;
	char *json = NULL;

	int rc = wa_bin_encode(n, &b, &len);
	if (rc) {
		fprintf(stderr, "encode failed: %s\n", wa_errname(rc));
		bad = 1;
		goto done;
	}
	rc = wa_bin_decode(b, len, &back);
	if (rc || !wa_node_equal_wire(back, n)) {
		fprintf(stderr, "decode(encode(n)) != n (%s)\n", wa_errname(rc));
		bad = 1;
		goto done;
	}
	rc = wa_bin_encode(back, &b2, &len2);
	if (rc || len2 != len || memcmp(b, b2, len) != 0) {
		fprintf(stderr, "encode(decode(encode(n))) != encode(n)\n");
		bad = 1;
		goto done;
	}
	if (len < 400) {
		for (size_t cut = 0; cut < len; cut++) {
			wa_node *t = NULL;
			rc = wa_bin_decode(b, cut, &t);
			wa_node_free(t);
			if (rc != WA_ETRUNCATED) {
				fprintf(stderr, "prefix of %zu bytes: %s\n", cut, wa_errname(rc));
				bad = 1;
				goto done;
			}
		}
	}
	if (iter % 8 == 0) {
		uLongf zcap = compressBound(len);
		z = malloc(zcap + 1);
		z[0] = 0x02;
		if (compress2(z + 1, &zcap, b + 1, len - 1, 6) != Z_OK)
			abort();
		rc = wa_bin_decode(z, zcap + 1, &zback);
		if (rc || !wa_node_equal(zback, back)) {
			fprintf(stderr, "compressed frame decodes differently (%s)\n", wa_errname(rc));
			bad = 1;
			goto done;
		}
	}
	rc = wa_node_to_json_text(&json, n, false);
	if (rc == 0)
		rc = wa_node_from_json_text(&jback, json, strlen(json), NULL, 0);
	if (rc || !wa_node_equal(jback, n)) {
		fprintf(stderr, "node -> JSON -> node differs (%s)\n", wa_errname(rc));
		bad = 1;
		goto done;
	}
	/* mutations: decode must return cleanly; whatever decodes re-encodes
	 * and decodes to itself */
	for (int m = 0; m < 8 && len > 1; m++) {
		uint8_t *mut = malloc(len);
		memcpy(mut, b, len);
		int flips = 1 + (int)below(3);
		for (int f = 0; f < flips; f++)
			mut[1 + below(len - 1)] = (uint8_t)rnd();
		wa_node *t = NULL, *t2 = NULL;
		uint8_t *e = NULL;
		size_t elen;
		if (wa_bin_decode(mut, len, &t) == 0) {
			if (wa_bin_encode(t, &e, &elen) != 0 || wa_bin_decode(e, elen, &t2) != 0 ||
			    !wa_node_equal_wire(t, t2)) {
				fprintf(stderr, "a mutated frame decoded but did not round-trip\n");
				bad = 1;
			}
		}
		wa_node_free(t);
		wa_node_free(t2);
		free(e);
		free(mut);
	}
done:
	if (bad) {
		fprintf(stderr, "failing tree (WA_SEED=%llu, iteration %d):\n", seed, iter);
		print_node("node", n);
		if (back)
			print_node("decoded", back);
	}
	free(b);
	free(b2);
	free(z);
	free(json);
	wa_node_free(back);
	wa_node_free(zback);
	wa_node_free(jback);
	return bad;
}

int main(void)
{
	const char *env = getenv("WA_SEED");
	unsigned long long seed = env ? strtoull(env, NULL, 10) : (unsigned long long)time(NULL);
	const char *iters_env = getenv("WA_PROP_ITERS");
	int iters = iters_env ? atoi(iters_env) : 1500;
	printf("test_binary_prop: WA_SEED=%llu, %d trees\n", seed, iters);
	rng_state = seed;
	size_t nodes = 0;
	for (int i = 0; i < iters; i++) {
		size_t budget = 60;
		wa_node *n = random_node(1, &budget);
		nodes += 61 - budget;
		if (check_tree(n, seed, i))
			check_failures++;
		wa_node_free(n);
		if (check_failures > 3)
			break;
	}
	/* a chain at the depth limit, once per run */
	wa_node *root, *cur;
	if (wa_node_new(&root, "chain") != 0)
		return 1;
	cur = root;
	for (int d = 1; d < WA_BIN_MAX_DEPTH; d++) {
		wa_node *c;
		if (wa_node_new(&c, token()) != 0 || wa_node_add_child(cur, c) != 0)
			return 1;
		cur = c;
	}
	if (check_tree(root, seed, -1))
		check_failures++;
	wa_node_free(root);
	printf("test_binary_prop: %zu nodes checked\n", nodes);
	return check_exit("test_binary_prop");
}
