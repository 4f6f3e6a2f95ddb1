/* SPDX-License-Identifier: MIT */
/*
 * Rate limits for log lines a peer can trigger over and over (a hostile guest posting
 * garbage, refused message after message): a token bucket that lets a burst through,
 * then a few lines a second. A line that passes after some were held back is preceded
 * by "N lines suppressed". The events themselves are still counted where they happen;
 * only the log is spared, so a guest cannot push useful lines out of init's log ring.
 *
 * Use one limiter per source that should not hide another (per VP, per kind of line).
 * Threads: one thread at a time uses a limiter (its owner); log_limit_suppressed() and
 * log_limit_suppressed_total() may be called from any thread (inspect).
 */
#ifndef MHCL_COMMON_LOG_LIMIT_H
#define MHCL_COMMON_LOG_LIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "log.h"

#define LOG_LIMIT_BURST 20u  /* lines that may pass at once */
#define LOG_LIMIT_PER_SEC 2u /* then this many a second */
/* For tracing every guest message, an option someone turned on to see them: generous,
 * still bounded. */
#define LOG_LIMIT_TRACE_BURST 1000u
#define LOG_LIMIT_TRACE_PER_SEC 100u

struct log_limit {
	uint32_t burst, per_sec; /* 0: LOG_LIMIT_BURST, LOG_LIMIT_PER_SEC; set before first use */
	bool started;
	uint64_t last_ms;    /* CLOCK_MONOTONIC when credit was last added */
	uint64_t credit;     /* lines that may pass, in thousandths */
	uint64_t held;	     /* held back since the last line that passed */
	uint64_t suppressed; /* held back over the limiter's life (atomic) */
};

/* A limiter with its own burst and rate; a zeroed struct log_limit uses the defaults. */
#define LOG_LIMIT_INIT(b, r) ((struct log_limit){.burst = (b), .per_sec = (r)})

/* Whether to log this line now (at now_ms, a monotonic clock in milliseconds): on true,
 * *ret_held = the lines held back before it, to mention. */
bool log_limit_pass_at(struct log_limit *l, uint64_t now_ms, uint64_t *ret_held);
/* The same at CLOCK_MONOTONIC now. */
bool log_limit_pass(struct log_limit *l, uint64_t *ret_held);

/* Lines l held back over its life. */
uint64_t log_limit_suppressed(const struct log_limit *l);
/* Lines every limiter of this process held back. */
uint64_t log_limit_suppressed_total(void);

/* log_full_errno() through l: nothing (and l untouched) when level is not logged, else
 * the line if l lets it pass, after a "N lines suppressed" line if some were held back.
 * Returns err. */
int log_limit_full_errno(struct log_limit *l, enum log_level level, int err, const char *fmt, ...)
    _printf_(4, 5);

#define log_limit_warn_errno(l, err, ...)                                                          \
	log_limit_full_errno((l), LOG_LEVEL_WARN, (err), __VA_ARGS__)
#define log_limit_warn(l, ...) (void)log_limit_full_errno((l), LOG_LEVEL_WARN, 0, __VA_ARGS__)
#define log_limit_info(l, ...) (void)log_limit_full_errno((l), LOG_LEVEL_INFO, 0, __VA_ARGS__)
#define log_limit_debug(l, ...) (void)log_limit_full_errno((l), LOG_LEVEL_DEBUG, 0, __VA_ARGS__)

#endif
