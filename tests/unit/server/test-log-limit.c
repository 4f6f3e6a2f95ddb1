/* SPDX-License-Identifier: MIT */
/* lib/common/log_limit.c: a burst passes, the rest is held back and counted, and the
 * first line of the next window says how many were held. */
#include "log_limit.h"
#include "test.h"

int main(void)
{
	struct log_limit l = {0};
	uint64_t held = 99;

	for (unsigned i = 0; i < LOG_LIMIT_BURST; i++) {
		ASSERT_TRUE(log_limit_pass(&l, &held));
		ASSERT_UEQ(held, 0);
	}
	for (unsigned i = 0; i < 1000; i++)
		ASSERT_FALSE(log_limit_pass(&l, &held));
	/* The window is over: pretend it started long ago. */
	l.window_start_ms -= LOG_LIMIT_WINDOW_MS;
	ASSERT_TRUE(log_limit_pass(&l, &held));
	ASSERT_UEQ(held, 1000);
	ASSERT_TRUE(log_limit_pass(&l, &held));
	ASSERT_UEQ(held, 0);
	fprintf(stderr, "log-limit: all passed\n");
	return 0;
}
