/* SPDX-License-Identifier: MIT */
/*
 * Logging for servers and tools. Output goes to stderr, which init captures
 * into the server's log ring. Library code (lib/, ipc/) logs at debug level
 * at most; servers log once, where an error crosses a boundary. Lines a
 * guest or another peer can trigger over and over go through log_limit.h.
 *
 * Every function may be called from any thread: a line is one write(2).
 */
#ifndef MHCL_COMMON_LOG_H
#define MHCL_COMMON_LOG_H

#include <stdarg.h>
#include <stdint.h>
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
int log_full_errnov(enum log_level level, int err, const char *fmt, va_list ap) _printf_(3, 0);

/* Makes stderr non-blocking when it is a pipe or socket (a server's pipe into init's
 * log ring), so a reader that falls behind costs lines, never the pace of the thread
 * that logs. A line the pipe has no room for is dropped and counted (log_dropped());
 * the next line that fits is preceded by "N log lines dropped". Returns 0, -ENOTSUP
 * when stderr is something else (left alone), or -errno. */
int log_set_nonblocking(void);

/* Lines lost to a full stderr since the process started. */
uint64_t log_dropped(void);

#define log_error_errno(err, ...) log_full_errno(LOG_LEVEL_ERR, (err), __VA_ARGS__)
#define log_warn_errno(err, ...) log_full_errno(LOG_LEVEL_WARN, (err), __VA_ARGS__)
#define log_error(...) (void)log_full_errno(LOG_LEVEL_ERR, 0, __VA_ARGS__)
#define log_warn(...) (void)log_full_errno(LOG_LEVEL_WARN, 0, __VA_ARGS__)
#define log_info(...) (void)log_full_errno(LOG_LEVEL_INFO, 0, __VA_ARGS__)
#define log_debug(...)                                                                             \
	do {                                                                                       \
		if (log_get_level() >= LOG_LEVEL_DEBUG)                                            \
			(void)log_full_errno(LOG_LEVEL_DEBUG, 0, __VA_ARGS__);                     \
	} while (0)

#endif
