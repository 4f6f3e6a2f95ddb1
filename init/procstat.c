/* SPDX-License-Identifier: MIT */
/*
 * /proc figures for `mhcl ps`. The files are the kernel's, but their pid may
 * have been reused by anything, and the comm inside stat is whatever the
 * process named itself: every parser is bounded by the bytes read and
 * checks each number it takes.
 */
#include "procstat.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* smaps_rollup is about 1 KiB (a range header and ~20 "Key: N kB" lines). */
#define PROCSTAT_FILE_MAX 4096

/* Reads at most cap bytes of path; returns the count or -errno. */
static ssize_t read_bounded(const char *path, char *buf, size_t cap)
{
	size_t used = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (used < cap) {
		ssize_t n = read(fd, buf + used, cap - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			return -e;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	close(fd);
	return (ssize_t)used;
}

/* Decimal s[0..n) without sign; false on anything else or overflow. */
static bool parse_dec(const char *s, size_t n, uint64_t *ret)
{
	uint64_t v = 0;

	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned char)s[i] - '0';
		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*ret = v;
	return true;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* The next blank-separated token of [*p, end): false when none is left. */
static bool next_token(const char **p, const char *end, const char **ret_tok, size_t *ret_len)
{
	const char *s = *p;

	while (s < end && (is_blank(*s) || *s == '\n'))
		s++;
	if (s == end)
		return false;
	*ret_tok = s;
	while (s < end && !is_blank(*s) && *s != '\n')
		s++;
	*ret_len = (size_t)(s - *ret_tok);
	*p = s;
	return true;
}

int procstat_parse_stat(const char *buf, size_t len, uint64_t *ret_utime, uint64_t *ret_stime)
{
	const char *end = buf + len, *p = end, *tok;
	uint64_t ut, st;
	size_t tl;

	/* comm (field 2) may hold ')' and blanks: fields are counted after the last ')'. */
	while (p > buf && p[-1] != ')')
		p--;
	if (p == buf)
		return -EBADMSG;
	/* Fields 3 (state) .. 13 (cmajflt), then utime (14) and stime (15). */
	for (int field = 3; field <= 13; field++)
		if (!next_token(&p, end, &tok, &tl))
			return -EBADMSG;
	if (!next_token(&p, end, &tok, &tl) || !parse_dec(tok, tl, &ut))
		return -EBADMSG;
	if (!next_token(&p, end, &tok, &tl) || !parse_dec(tok, tl, &st))
		return -EBADMSG;
	*ret_utime = ut;
	*ret_stime = st;
	return 0;
}

enum rollup_key {
	ROLLUP_PSS,
	ROLLUP_PRIVATE_CLEAN,
	ROLLUP_PRIVATE_DIRTY,
	_ROLLUP_KEY_MAX,
};

static const char *const rollup_keys[_ROLLUP_KEY_MAX] = {
    [ROLLUP_PSS] = "Pss",
    [ROLLUP_PRIVATE_CLEAN] = "Private_Clean",
    [ROLLUP_PRIVATE_DIRTY] = "Private_Dirty",
};

/* "   <digits> kB" up to the end of the line, in bytes. */
static bool parse_kb(const char *p, const char *end, uint64_t *ret_bytes)
{
	const char *tok;
	size_t tl;
	uint64_t kb;

	if (!next_token(&p, end, &tok, &tl) || !parse_dec(tok, tl, &kb) || kb > UINT64_MAX / 1024)
		return false;
	if (!next_token(&p, end, &tok, &tl) || tl != 2 || memcmp(tok, "kB", 2) != 0)
		return false;
	/* Nothing after the unit. */
	if (next_token(&p, end, &tok, &tl))
		return false;
	*ret_bytes = kb * 1024;
	return true;
}

int procstat_parse_smaps_rollup(const char *buf, size_t len, uint64_t *ret_pss, uint64_t *ret_uss)
{
	uint64_t v[_ROLLUP_KEY_MAX];
	bool seen[_ROLLUP_KEY_MAX] = {false};
	const char *p = buf, *end = buf + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end, *colon = memchr(p, ':', (size_t)(eol - p));

		for (int k = 0; colon && k < _ROLLUP_KEY_MAX; k++) {
			size_t kl = strlen(rollup_keys[k]);
			if ((size_t)(colon - p) != kl || memcmp(p, rollup_keys[k], kl) != 0)
				continue;
			if (seen[k] || !parse_kb(colon + 1, eol, &v[k]))
				return -EBADMSG;
			seen[k] = true;
		}
		p = nl ? nl + 1 : end;
	}
	for (int k = 0; k < _ROLLUP_KEY_MAX; k++)
		if (!seen[k])
			return -EBADMSG;
	if (v[ROLLUP_PRIVATE_CLEAN] > UINT64_MAX - v[ROLLUP_PRIVATE_DIRTY])
		return -EBADMSG;
	*ret_pss = v[ROLLUP_PSS];
	*ret_uss = v[ROLLUP_PRIVATE_CLEAN] + v[ROLLUP_PRIVATE_DIRTY];
	return 0;
}

void procstat_read(const char *which, struct procstat *ret)
{
	char path[64], buf[PROCSTAT_FILE_MAX];
	long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	uint64_t a, b;
	ssize_t n;

	*ret = (struct procstat){0};
	snprintf(path, sizeof(path), "/proc/%s/stat", which);
	n = read_bounded(path, buf, sizeof(buf));
	if (n > 0 && tck > 0 && procstat_parse_stat(buf, (size_t)n, &a, &b) == 0 &&
	    a <= UINT64_MAX / 1000u && b <= UINT64_MAX / 1000u) {
		ret->cpu_user_ms = a * 1000u / (uint64_t)tck;
		ret->cpu_sys_ms = b * 1000u / (uint64_t)tck;
	}
	/* statm: size and resident, in pages. */
	snprintf(path, sizeof(path), "/proc/%s/statm", which);
	n = read_bounded(path, buf, sizeof(buf));
	if (n > 0 && page > 0) {
		const char *p = buf, *tok;
		size_t tl;
		if (next_token(&p, buf + n, &tok, &tl) && next_token(&p, buf + n, &tok, &tl) &&
		    parse_dec(tok, tl, &a) && a <= UINT64_MAX / (uint64_t)page)
			ret->rss_bytes = a * (uint64_t)page;
	}
	/* The kernel walks the process's page tables for this (holding its mmap
	 * lock for reading, in bounded steps): ps asks for it, nothing polls it. */
	snprintf(path, sizeof(path), "/proc/%s/smaps_rollup", which);
	n = read_bounded(path, buf, sizeof(buf));
	if (n > 0 && procstat_parse_smaps_rollup(buf, (size_t)n, &a, &b) == 0) {
		ret->pss_bytes = a;
		ret->uss_bytes = b;
	}
}
