/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const char *log_ident = "mhcl";
static enum log_level log_level = LOG_LEVEL_INFO;

/* Atomic: any thread logs. */
static uint64_t lines_dropped; /* since start, for inspect */
static uint64_t drops_unsaid;  /* not mentioned in the log yet */

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

int log_set_nonblocking(void)
{
	struct stat st;
	int fl;

	if (fstat(STDERR_FILENO, &st) < 0)
		return -errno;
	/* A terminal or file may be shared with whoever started us: not ours to change. */
	if (!S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode))
		return -ENOTSUP;
	fl = fcntl(STDERR_FILENO, F_GETFL);
	if (fl < 0 || fcntl(STDERR_FILENO, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

uint64_t log_dropped(void)
{
	return __atomic_load_n(&lines_dropped, __ATOMIC_RELAXED);
}

/* One write per line: a pipe takes up to PIPE_BUF bytes whole or not at all, so lines from
 * several threads never interleave and a full non-blocking pipe never keeps half a line. */
static bool write_line(const char *line, size_t len)
{
	ssize_t n;

	do
		n = write(STDERR_FILENO, line, len);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)len;
}

static void dropped(uint64_t unsaid)
{
	__atomic_add_fetch(&lines_dropped, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&drops_unsaid, unsaid + 1, __ATOMIC_RELAXED);
}

/* Says how many lines were lost before writing the next one, so the log shows the gap. */
static void emit(const char *line, size_t len)
{
	uint64_t unsaid = __atomic_exchange_n(&drops_unsaid, 0, __ATOMIC_ACQ_REL);

	if (unsaid) {
		char note[128];
		int n = snprintf(note, sizeof(note), "%s: warning: %llu log lines dropped\n",
				 log_ident, (unsigned long long)unsaid);
		if (n > 0 && !write_line(note, (size_t)MIN(n, (int)sizeof(note) - 1))) {
			dropped(unsaid); /* still full: this line goes too */
			return;
		}
	}
	if (!write_line(line, len))
		dropped(0);
}

int log_full_errnov(enum log_level level, int err, const char *fmt, va_list ap)
{
	char msg[1024];

	if (level > log_level)
		return err;
	/* %m must print the error we were given, not whatever errno holds now. */
	errno = err < 0 ? -err : err;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	char line[1200];
	int n = snprintf(line, sizeof(line), "%s: %s: %s\n", log_ident, level_names[level], msg);
	if (n <= 0)
		return err;
	if ((size_t)n >= sizeof(line)) {
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n'; /* cut short, still one line */
	}
	emit(line, (size_t)n);
	return err;
}

int log_full_errno(enum log_level level, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err = log_full_errnov(level, err, fmt, ap);
	va_end(ap);
	return err;
}
