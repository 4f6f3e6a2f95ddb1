/* SPDX-License-Identifier: MIT */
/*
 * Rate limits for log lines a peer can trigger (a hostile guest refused packet after
 * packet): a burst of LOG_LIMIT_BURST lines per LOG_LIMIT_WINDOW_MS, then silence, and
 * the next line that passes says how many were held back. The refusals are still
 * counted where they happen; only the log is spared.
 */
#ifndef MHCL_COMMON_LOG_LIMIT_H
#define MHCL_COMMON_LOG_LIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define LOG_LIMIT_BURST 20u
#define LOG_LIMIT_WINDOW_MS 5000u

struct log_limit {
	uint64_t window_start_ms;
	uint32_t in_window;
	uint64_t held; /* held back since the last line that passed */
};

/* Whether to log this line now; *ret_held = lines held back before it (to mention). */
bool log_limit_pass(struct log_limit *l, uint64_t *ret_held);

#endif
