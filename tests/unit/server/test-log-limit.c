/* SPDX-License-Identifier: MIT */
/* lib/common/log_limit.c: a burst passes, then a few lines a second; what is held back is
 * counted and the next line that passes says how many. Time is injected
 * (log_limit_pass_at), so nothing here depends on how fast the test runs. */
#include "log_limit.h"

#include <fcntl.h>
#include <unistd.h>

#include "test.h"

static void test_burst_then_rate(void)
{
	struct log_limit l = {0};
	uint64_t held = 99, t = 1000, before = log_limit_suppressed_total();

	for (unsigned i = 0; i < LOG_LIMIT_BURST; i++) {
		ASSERT_TRUE(log_limit_pass_at(&l, t, &held));
		ASSERT_UEQ(held, 0);
	}
	for (unsigned i = 0; i < 1000; i++)
		ASSERT_FALSE(log_limit_pass_at(&l, t, &held));
	ASSERT_UEQ(log_limit_suppressed(&l), 1000);
	ASSERT_UEQ(log_limit_suppressed_total() - before, 1000);
	/* LOG_LIMIT_PER_SEC = 2: one line every 500 ms, not a millisecond sooner. */
	ASSERT_FALSE(log_limit_pass_at(&l, t + 499, &held));
	ASSERT_TRUE(log_limit_pass_at(&l, t + 500, &held));
	ASSERT_UEQ(held, 1001);
	ASSERT_FALSE(log_limit_pass_at(&l, t + 500, &held));
	ASSERT_FALSE(log_limit_pass_at(&l, t + 999, &held));
	ASSERT_TRUE(log_limit_pass_at(&l, t + 1000, &held));
	ASSERT_UEQ(held, 2);
	ASSERT_UEQ(log_limit_suppressed(&l), 1003);

	/* An hour of quiet gives back one burst, no more. */
	t += 3600u * 1000u;
	for (unsigned i = 0; i < LOG_LIMIT_BURST; i++)
		ASSERT_TRUE(log_limit_pass_at(&l, t, &held));
	ASSERT_FALSE(log_limit_pass_at(&l, t, &held));
	/* A clock that goes back adds nothing. */
	ASSERT_FALSE(log_limit_pass_at(&l, t - 5000, &held));
	ASSERT_FALSE(log_limit_pass_at(&l, t, &held));
	ASSERT_UEQ(log_limit_suppressed(&l), 1006);
}

static void test_own_burst_and_rate(void)
{
	struct log_limit l = LOG_LIMIT_INIT(3, 1000);
	uint64_t held = 0;

	for (unsigned i = 0; i < 3; i++)
		ASSERT_TRUE(log_limit_pass_at(&l, 50, &held));
	ASSERT_FALSE(log_limit_pass_at(&l, 50, &held));
	ASSERT_TRUE(log_limit_pass_at(&l, 51, &held)); /* 1000 a second: one per ms */
	ASSERT_UEQ(held, 1);
	ASSERT_FALSE(log_limit_pass_at(&l, 51, &held));
	ASSERT_TRUE(log_limit_pass_at(&l, 54, &held));
	ASSERT_TRUE(log_limit_pass_at(&l, 54, &held));
	ASSERT_TRUE(log_limit_pass_at(&l, 54, &held));
	ASSERT_FALSE(log_limit_pass_at(&l, 54, &held)); /* capped at the burst */
}

/* Reads what is in the pipe now (it is non-blocking). */
static size_t drain(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t n;

	while (len + 1 < cap && (n = read(fd, buf + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = 0;
	return len;
}

static unsigned count(const char *buf, const char *what)
{
	unsigned n = 0;
	for (const char *p = buf; (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

/* The logging helper through a limiter, on a real stderr: a flood leaves the burst, the
 * next line that passes comes after "N lines suppressed" with the exact N held back, and
 * a level that is not logged leaves the limiter alone. */
static void test_log_lines(void)
{
	struct log_limit l = LOG_LIMIT_INIT(5, 1);
	static char buf[65536];
	int p[2], saved = dup(STDERR_FILENO);
	char want[192];

	ASSERT_GE(saved, 0);
	ASSERT_OK(pipe2(p, O_NONBLOCK));
	ASSERT_GE(dup2(p[1], STDERR_FILENO), 0);
	log_set_ident("limit-test");
	log_set_level(LOG_LEVEL_INFO);
	for (unsigned i = 0; i < 100; i++)
		log_limit_debug(&l, "debug line %u", i);
	ASSERT_FALSE(l.started);
	for (unsigned i = 0; i < 100; i++)
		log_limit_warn(&l, "guest line %u", i);
	uint64_t logged = count((drain(p[0], buf, sizeof(buf)), buf), "guest line");
	ASSERT_GE(logged, 5);
	ASSERT_UEQ(logged + log_limit_suppressed(&l), 100);
	/* Ten seconds later (moved back rather than waited for). */
	uint64_t held = l.held;
	ASSERT_GT(held, 0);
	l.last_ms -= 10000;
	ASSERT_EQ(log_limit_warn_errno(&l, -EPROTO, "the next one: %m"), -EPROTO);
	drain(p[0], buf, sizeof(buf));
	snprintf(want, sizeof(want),
		 "limit-test: warning: %llu lines suppressed (rate limit)\n"
		 "limit-test: warning: the next one: Protocol error\n",
		 (unsigned long long)held);
	ASSERT_STREQ(buf, want);
	ASSERT_GE(dup2(saved, STDERR_FILENO), 0);
	close(saved);
	close(p[0]);
	close(p[1]);
}

int main(int argc, char **argv)
{
	static const struct test_case cases[] = {
	    {"burst_then_rate", test_burst_then_rate},
	    {"own_burst_and_rate", test_own_burst_and_rate},
	    {"log_lines", test_log_lines},
	};
	return test_run_cases(cases, ARRAY_SIZE(cases), argc, argv);
}
