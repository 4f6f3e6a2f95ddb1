/* SPDX-License-Identifier: MIT */
/*
 * A bounded ring of log lines for one server: at most max_lines lines and
 * max_bytes of text; the oldest lines go first. Sequence numbers are global
 * (the caller passes them in increasing order), so lines of several rings
 * can be merged by seq. All memory is allocated when the ring is created.
 */
#ifndef MHCL_INIT_LOGRING_H
#define MHCL_INIT_LOGRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOGRING_LINE_MAX 1024 /* longer lines are cut */

enum logring_stream {
	LOGRING_STDOUT = 1,
	LOGRING_STDERR = 2,
	LOGRING_INIT = 3, /* init's own lines about this server */
};

struct logring_line {
	uint64_t seq;
	uint64_t time_ns;
	uint8_t stream;
	const char *text; /* points into the ring: valid until the next append */
	size_t len;
};

struct logring;

struct logring *logring_new(size_t max_lines, size_t max_bytes);
struct logring *logring_free(struct logring *r);

/* Appends one line (text copied, cut at LOGRING_LINE_MAX and at max_bytes). */
void logring_append(struct logring *r, uint64_t seq, uint64_t time_ns, uint8_t stream,
		    const char *text, size_t len);

/* The oldest line with seq >= since_seq; false if none. */
bool logring_find(const struct logring *r, uint64_t since_seq, struct logring_line *ret);

size_t logring_count(const struct logring *r);
uint64_t logring_dropped(const struct logring *r);

#endif
