/* SPDX-License-Identifier: MIT */
/*
 * Lines are kept as entries in a circular index plus their text in a
 * circular byte buffer. A line's text never wraps: if it does not fit before
 * the end of the buffer, it starts again at offset 0 and the tail is unused.
 * Appending evicts the oldest lines until both the index and the text have
 * room.
 */
#include "logring.h"

#include <stdlib.h>
#include <string.h>

#include "macros.h"

struct logring_entry {
	uint64_t seq, time_ns;
	uint32_t off, len;
	uint8_t stream;
};

struct logring {
	struct logring_entry *ent;
	size_t max_lines, head, count; /* head: index of the oldest entry */
	char *text;
	size_t max_bytes;
	size_t wpos; /* where the next line's text goes */
	uint64_t dropped;
};

struct logring *logring_new(size_t max_lines, size_t max_bytes)
{
	if (max_lines == 0 || max_bytes < LOGRING_LINE_MAX)
		return NULL;
	struct logring *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->ent = calloc(max_lines, sizeof(*r->ent));
	r->text = malloc(max_bytes);
	if (!r->ent || !r->text)
		return logring_free(r);
	r->max_lines = max_lines;
	r->max_bytes = max_bytes;
	return r;
}

struct logring *logring_free(struct logring *r)
{
	if (!r)
		return NULL;
	free(r->ent);
	free(r->text);
	free(r);
	return NULL;
}

static struct logring_entry *entry(const struct logring *r, size_t i)
{
	return &r->ent[(r->head + i) % r->max_lines];
}

static void drop_oldest(struct logring *r)
{
	r->head = (r->head + 1) % r->max_lines;
	r->count--;
	r->dropped++;
}

/* True if [off, off+len) overlaps the text of the oldest entry. */
static bool overlaps_oldest(const struct logring *r, size_t off, size_t len)
{
	if (!r->count)
		return false;
	const struct logring_entry *e = entry(r, 0);
	/* Every line occupies at least one byte, so the write order and the
	 * text order stay the same even for empty lines. */
	return off < (size_t)e->off + MAX(e->len, 1u) && (size_t)e->off < off + len;
}

void logring_append(struct logring *r, uint64_t seq, uint64_t time_ns, uint8_t stream,
		    const char *text, size_t len)
{
	if (len > LOGRING_LINE_MAX)
		len = LOGRING_LINE_MAX;
	size_t off = r->wpos, need = len ? len : 1;
	if (r->count == r->max_lines)
		drop_oldest(r);
	if (off + need > r->max_bytes) {
		/* Wrap: the lines still in the tail [wpos, end) are the oldest. */
		while (r->count && entry(r, 0)->off >= r->wpos)
			drop_oldest(r);
		off = 0;
	}
	/* Lines are stored in write order, so the oldest is the next one to
	 * overwrite: evict until the new text no longer overlaps it. */
	while (overlaps_oldest(r, off, need))
		drop_oldest(r);
	memcpy(r->text + off, text, len);
	struct logring_entry *e = &r->ent[(r->head + r->count) % r->max_lines];
	e->seq = seq;
	e->time_ns = time_ns;
	e->off = (uint32_t)off;
	e->len = (uint32_t)len;
	e->stream = stream;
	r->count++;
	r->wpos = off + need;
}

bool logring_find(const struct logring *r, uint64_t since_seq, struct logring_line *ret)
{
	size_t lo = 0, hi = r->count;

	/* Entries are in increasing seq order: binary search the first >= since. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (entry(r, mid)->seq < since_seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == r->count)
		return false;
	const struct logring_entry *e = entry(r, lo);
	ret->seq = e->seq;
	ret->time_ns = e->time_ns;
	ret->stream = e->stream;
	ret->text = r->text + e->off;
	ret->len = e->len;
	return true;
}

size_t logring_count(const struct logring *r)
{
	return r->count;
}

uint64_t logring_dropped(const struct logring *r)
{
	return r->dropped;
}
