/* Minimal assertion helpers for unit tests: each failed CHECK prints where and
 * why and marks the test failed; main returns check_exit(). */
#ifndef WA_TEST_CHECK_H
#define WA_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures;

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
		check_failures++; \
	} } while (0)

#define CHECK_EQ_INT(a, b) do { \
	long long va_ = (long long)(a), vb_ = (long long)(b); \
	if (va_ != vb_) { \
		fprintf(stderr, "%s:%d: CHECK_EQ_INT failed: %s == %s (%lld != %lld)\n", \
			__FILE__, __LINE__, #a, #b, va_, vb_); \
		check_failures++; \
	} } while (0)

#define CHECK_EQ_STR(a, b) do { \
	const char *sa_ = (a), *sb_ = (b); \
	if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0) { \
		fprintf(stderr, "%s:%d: CHECK_EQ_STR failed: \"%s\" != \"%s\"\n", \
			__FILE__, __LINE__, sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)"); \
		check_failures++; \
	} } while (0)

#define CHECK_EQ_MEM(a, b, n) do { \
	if (memcmp((a), (b), (n)) != 0) { \
		fprintf(stderr, "%s:%d: CHECK_EQ_MEM failed: %s vs %s (%zu bytes)\n", \
			__FILE__, __LINE__, #a, #b, (size_t)(n)); \
		check_failures++; \
	} } while (0)

static inline int check_exit(const char *name)
{
	if (check_failures) {
		fprintf(stderr, "%s: %d check(s) failed\n", name, check_failures);
		return 1;
	}
	printf("%s: all checks passed\n", name);
	return 0;
}

#endif
