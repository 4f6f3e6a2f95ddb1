/* SPDX-License-Identifier: MIT */
/* init/logring.c: bounds by lines and by bytes, wrap-around of the text
 * buffer, ordered lookup by sequence number, long lines cut. */
#include <string.h>

#include "logring.h"
#include "test.h"

static void check_line(struct logring *r, uint64_t since, uint64_t want_seq, const char *text)
{
	struct logring_line l;
	ASSERT_TRUE(logring_find(r, since, &l));
	ASSERT_UEQ(l.seq, want_seq);
	ASSERT_EQ(l.len, strlen(text));
	ASSERT_TRUE(memcmp(l.text, text, l.len) == 0);
}

static void test_lines_bound(void)
{
	struct logring *r = logring_new(4, 4096);
	char buf[32];

	ASSERT_TRUE(r);
	struct logring_line l;
	ASSERT_FALSE(logring_find(r, 0, &l));
	for (int i = 0; i < 10; i++) {
		int n = snprintf(buf, sizeof(buf), "line %d", i);
		/* Sequence numbers are global: this ring sees every other one. */
		logring_append(r, (uint64_t)i * 2, 1000 + (uint64_t)i, LOGRING_STDOUT, buf,
			       (size_t)n);
	}
	ASSERT_EQ(logring_count(r), 4);
	ASSERT_UEQ(logring_dropped(r), 6);
	check_line(r, 0, 12, "line 6");
	check_line(r, 13, 14, "line 7");
	check_line(r, 14, 14, "line 7");
	check_line(r, 18, 18, "line 9");
	ASSERT_FALSE(logring_find(r, 19, &l));
	ASSERT_TRUE(logring_find(r, 16, &l));
	ASSERT_UEQ(l.time_ns, 1008);
	ASSERT_EQ(l.stream, LOGRING_STDOUT);
	logring_free(r);
}

static void test_bytes_bound(void)
{
	/* 2048 bytes of text, 1000-byte lines: at most two fit; the wrap
	 * evicts exactly what it overwrites. */
	struct logring *r = logring_new(100, 2048);
	char big[1000];

	for (int i = 0; i < 7; i++) {
		memset(big, 'a' + i, sizeof(big));
		logring_append(r, (uint64_t)i, 0, LOGRING_STDERR, big, sizeof(big));
		ASSERT_LE(logring_count(r), 2);
		struct logring_line l;
		/* The newest line is always intact. */
		ASSERT_TRUE(logring_find(r, (uint64_t)i, &l));
		ASSERT_EQ(l.len, 1000);
		ASSERT_EQ(l.text[0], 'a' + i);
		ASSERT_EQ(l.text[999], 'a' + i);
		/* So is every line still kept. */
		uint64_t first =
		    (uint64_t)i >= logring_count(r) - 1 ? (uint64_t)i - (logring_count(r) - 1) : 0;
		ASSERT_TRUE(logring_find(r, 0, &l));
		ASSERT_UEQ(l.seq, first);
		ASSERT_EQ(l.text[0], 'a' + (int)first);
		ASSERT_EQ(l.text[999], 'a' + (int)first);
	}
	/* Mixed sizes keep every kept line intact across many wraps. */
	for (int i = 0; i < 2000; i++) {
		size_t len = (size_t)(i * 37 % 1000);
		memset(big, 'A' + i % 26, len);
		logring_append(r, 100 + (uint64_t)i, 0, LOGRING_INIT, big, len);
		struct logring_line l;
		uint64_t seq = 100;
		size_t seen = 0, old = 0;
		/* Lines of the first part may still be kept, intact. */
		for (uint64_t q = 0; logring_find(r, q, &l) && l.seq < 100; q = l.seq + 1) {
			ASSERT_EQ(l.len, 1000);
			ASSERT_EQ(l.text[999], 'a' + (int)l.seq);
			old++;
		}
		while (logring_find(r, seq, &l)) {
			for (size_t k = 0; k < l.len; k++)
				ASSERT_EQ(l.text[k], 'A' + (int)((l.seq - 100) % 26));
			ASSERT_UEQ(l.len, (l.seq - 100) * 37 % 1000);
			seq = l.seq + 1;
			seen++;
		}
		ASSERT_EQ(seen + old, logring_count(r));
		ASSERT_GE(seen, 1);
	}
	/* Over-long lines are cut. */
	char huge[LOGRING_LINE_MAX + 100];
	memset(huge, 'z', sizeof(huge));
	logring_append(r, 5000, 0, LOGRING_STDOUT, huge, sizeof(huge));
	struct logring_line l;
	ASSERT_TRUE(logring_find(r, 5000, &l));
	ASSERT_EQ(l.len, LOGRING_LINE_MAX);
	logring_free(r);
}

int main(void)
{
	ASSERT_TRUE(logring_new(0, 4096) == NULL);
	ASSERT_TRUE(logring_new(4, 10) == NULL);
	ASSERT_TRUE(logring_free(NULL) == NULL);
	test_lines_bound();
	test_bytes_bound();
	return 0;
}
