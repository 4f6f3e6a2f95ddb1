/* SPDX-License-Identifier: MIT */
#include "log_limit.h"

#include <time.h>

static uint64_t suppressed_total; /* atomic: limiters live on several threads */

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Credit counts thousandths of a line: per_sec lines a second is per_sec thousandths a
 * millisecond, so the refill stays exact in integers. */
bool log_limit_pass_at(struct log_limit *l, uint64_t now, uint64_t *ret_held)
{
	uint64_t full = (uint64_t)(l->burst ? l->burst : LOG_LIMIT_BURST) * 1000u;
	uint64_t rate = l->per_sec ? l->per_sec : LOG_LIMIT_PER_SEC;

	if (!l->started) {
		l->started = true;
		l->credit = full;
		l->last_ms = now;
	} else if (now > l->last_ms) {
		uint64_t elapsed = now - l->last_ms;
		/* Compared first so a long quiet spell cannot overflow the product. */
		l->credit = elapsed >= full / rate ? full : MIN(full, l->credit + elapsed * rate);
		l->last_ms = now;
	}
	if (l->credit < 1000u) {
		l->held++;
		__atomic_add_fetch(&l->suppressed, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&suppressed_total, 1, __ATOMIC_RELAXED);
		return false;
	}
	l->credit -= 1000u;
	*ret_held = l->held;
	l->held = 0;
	return true;
}

bool log_limit_pass(struct log_limit *l, uint64_t *ret_held)
{
	return log_limit_pass_at(l, now_ms(), ret_held);
}

uint64_t log_limit_suppressed(const struct log_limit *l)
{
	return __atomic_load_n(&l->suppressed, __ATOMIC_RELAXED);
}

uint64_t log_limit_suppressed_total(void)
{
	return __atomic_load_n(&suppressed_total, __ATOMIC_RELAXED);
}

int log_limit_full_errno(struct log_limit *l, enum log_level level, int err, const char *fmt, ...)
{
	uint64_t held;
	va_list ap;

	if (level > log_get_level() || !log_limit_pass(l, &held))
		return err;
	if (held)
		(void)log_full_errno(level, 0, "%llu lines suppressed (rate limit)",
				     (unsigned long long)held);
	va_start(ap, fmt);
	(void)log_full_errnov(level, err, fmt, ap);
	va_end(ap);
	return err;
}
