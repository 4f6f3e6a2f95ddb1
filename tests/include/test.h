/* SPDX-License-Identifier: MIT */
/* Assertions for unit and integration tests: print both operands, exit 1. */
#ifndef MHCL_TEST_H
#define MHCL_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST_FAIL_(fmt, ...)                                                              \
	do {                                                                              \
		fprintf(stderr, "%s:%d: %s: " fmt "\n", __FILE__, __LINE__, __func__,    \
			__VA_ARGS__);                                                     \
		exit(1);                                                                  \
	} while (0)

#define ASSERT_TRUE(e)                                                                    \
	do {                                                                              \
		if (!(e))                                                                 \
			TEST_FAIL_("assertion failed: %s", #e);                           \
	} while (0)
#define ASSERT_FALSE(e) ASSERT_TRUE(!(e))

#define ASSERT_CMP_(a, op, b, fmt, type)                                                  \
	do {                                                                              \
		type a_ = (type)(a), b_ = (type)(b);                                      \
		if (!(a_ op b_))                                                          \
			TEST_FAIL_("%s %s %s: " fmt " vs " fmt, #a, #op, #b, a_, b_);     \
	} while (0)

#define ASSERT_EQ(a, b) ASSERT_CMP_(a, ==, b, "%" PRId64, int64_t)
#define ASSERT_NE(a, b) ASSERT_CMP_(a, !=, b, "%" PRId64, int64_t)
#define ASSERT_LT(a, b) ASSERT_CMP_(a, <, b, "%" PRId64, int64_t)
#define ASSERT_LE(a, b) ASSERT_CMP_(a, <=, b, "%" PRId64, int64_t)
#define ASSERT_GT(a, b) ASSERT_CMP_(a, >, b, "%" PRId64, int64_t)
#define ASSERT_GE(a, b) ASSERT_CMP_(a, >=, b, "%" PRId64, int64_t)
#define ASSERT_UEQ(a, b) ASSERT_CMP_(a, ==, b, "%" PRIu64, uint64_t)
#define ASSERT_OK(e) ASSERT_CMP_(e, ==, 0, "%" PRId64, int64_t)

#define ASSERT_STREQ(a, b)                                                                \
	do {                                                                              \
		const char *a_ = (a), *b_ = (b);                                          \
		if (!a_ || !b_ || strcmp(a_, b_) != 0)                                    \
			TEST_FAIL_("%s == %s: \"%s\" vs \"%s\"", #a, #b, a_ ? a_ : "(null)", \
				   b_ ? b_ : "(null)");                                   \
	} while (0)

/* One case of a test executable: meson runs each by name as a test of its own. */
struct test_case {
	const char *name;
	void (*fn)(void);
};

/* Runs the case named by argv[1], or every case without an argument. */
static inline int test_run_cases(const struct test_case *cases, size_t n, int argc, char **argv)
{
	int found = 0;

	for (size_t i = 0; i < n; i++) {
		if (argc > 1 && strcmp(argv[1], cases[i].name) != 0)
			continue;
		fprintf(stderr, "== %s\n", cases[i].name);
		cases[i].fn();
		found = 1;
	}
	if (!found)
		TEST_FAIL_("no test named %s", argv[1]);
	return 0;
}

/* meson treats exit code 77 as "skipped". */
#define TEST_SKIP(...)                                                                    \
	do {                                                                              \
		fprintf(stderr, "skipped: " __VA_ARGS__);                                 \
		fputc('\n', stderr);                                                      \
		exit(77);                                                                 \
	} while (0)

#endif
