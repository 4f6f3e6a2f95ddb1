/* SPDX-License-Identifier: MIT */
#include "log_limit.h"

#include <time.h>

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

bool log_limit_pass(struct log_limit *l, uint64_t *ret_held)
{
	uint64_t t = now_ms();

	if (l->in_window == 0 || t - l->window_start_ms >= LOG_LIMIT_WINDOW_MS) {
		l->window_start_ms = t;
		l->in_window = 0;
	}
	if (l->in_window >= LOG_LIMIT_BURST) {
		l->held++;
		return false;
	}
	l->in_window++;
	*ret_held = l->held;
	l->held = 0;
	return true;
}
