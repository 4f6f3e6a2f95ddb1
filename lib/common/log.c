/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <stdio.h>
#include <string.h>

static const char *log_ident = "mhcl";
static enum log_level log_level = LOG_LEVEL_INFO;

static const char *const level_names[_LOG_LEVEL_MAX] = {
	[LOG_LEVEL_ERR] = "error",
	[LOG_LEVEL_WARN] = "warning",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

void log_set_ident(const char *ident)
{
	log_ident = ident;
}

void log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level log_get_level(void)
{
	return log_level;
}

int log_full_errno(enum log_level level, int err, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (level > log_level)
		return err;
	/* %m must print the error we were given, not whatever errno holds now. */
	errno = err < 0 ? -err : err;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* One write per line so lines from several threads never interleave. */
	char line[1200];
	int n = snprintf(line, sizeof(line), "%s: %s: %s\n", log_ident, level_names[level], msg);
	if (n > 0)
		(void)!write(STDERR_FILENO, line, (size_t)MIN(n, (int)sizeof(line) - 1));
	return err;
}
