/* SPDX-License-Identifier: MIT */
/*
 * Logging for servers and tools. Output goes to stderr, which init captures
 * into the server's log ring. Library code (lib/, ipc/) logs at debug level
 * at most; servers log once, where an error crosses a boundary.
 */
#ifndef MHCL_COMMON_LOG_H
#define MHCL_COMMON_LOG_H

#include <stdarg.h>
#include "macros.h"

enum log_level {
	LOG_LEVEL_ERR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
	_LOG_LEVEL_MAX,
};

void log_set_ident(const char *ident);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* Logs and returns err (a negative errno, or 0), so callers can write
 * `return log_error_errno(r, "unable to X: %m")`; %m expands to strerror(-err). */
int log_full_errno(enum log_level level, int err, const char *fmt, ...) _printf_(3, 4);

#define log_error_errno(err, ...) log_full_errno(LOG_LEVEL_ERR, (err), __VA_ARGS__)
#define log_warn_errno(err, ...) log_full_errno(LOG_LEVEL_WARN, (err), __VA_ARGS__)
#define log_error(...) (void)log_full_errno(LOG_LEVEL_ERR, 0, __VA_ARGS__)
#define log_warn(...) (void)log_full_errno(LOG_LEVEL_WARN, 0, __VA_ARGS__)
#define log_info(...) (void)log_full_errno(LOG_LEVEL_INFO, 0, __VA_ARGS__)
#define log_debug(...)                                                          \
	do {                                                                    \
		if (log_get_level() >= LOG_LEVEL_DEBUG)                         \
			(void)log_full_errno(LOG_LEVEL_DEBUG, 0, __VA_ARGS__);  \
	} while (0)

#endif
