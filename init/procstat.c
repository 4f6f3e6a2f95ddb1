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

#include "macros.h"

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

int procstat_parse_meminfo(const char *buf, size_t len, struct procstat_meminfo *ret)
{
	/* The first three are required; the kernel's own figures after them may be absent
	 * (SecPageTables is 6.0's: KVM's nested page tables). */
	static const char *const keys[] = {"MemTotal",	  "MemAvailable", "Shmem",
					   "SUnreclaim",  "PageTables",	  "SecPageTables",
					   "KernelStack", "VmallocUsed",  "Percpu"};
	uint64_t *out[] = {
	    &ret->total,       &ret->available,	      &ret->shmem,	  &ret->slab_unreclaimable,
	    &ret->page_tables, &ret->sec_page_tables, &ret->kernel_stack, &ret->vmalloc,
	    &ret->percpu};
	bool seen[ARRAY_SIZE(keys)] = {false};
	const char *p = buf, *end = buf + len;

	*ret = (struct procstat_meminfo){0};
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end, *colon = memchr(p, ':', (size_t)(eol - p));
		for (size_t k = 0; colon && k < ARRAY_SIZE(keys); k++) {
			if ((size_t)(colon - p) != strlen(keys[k]) ||
			    memcmp(p, keys[k], strlen(keys[k])) != 0)
				continue;
			if (seen[k] || !parse_kb(colon + 1, eol, out[k]))
				return -EBADMSG;
			seen[k] = true;
		}
		p = nl ? nl + 1 : end;
	}
	return seen[0] && seen[1] && seen[2] ? 0 : -EBADMSG;
}

int procstat_parse_slabinfo(const char *buf, size_t len, struct procstat_slab *top)
{
	const char *p = buf, *end = buf + len;
	int n = 0, lines = 0;

	memset(top, 0, sizeof(*top) * PROCSTAT_SLAB_TOP);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *eol = nl ? nl : end;
		const char *q = p, *tok;
		size_t tl, nlen;
		uint64_t active, objs, size;
		/* "name <active_objs> <num_objs> <objsize> ..."; headers start with "slabinfo" or
		 * "#". */
		if (next_token(&q, eol, &tok, &tl) && tok[0] != '#' && (nlen = tl) > 0 &&
		    strncmp(tok, "slabinfo", 8) != 0) {
			const char *name = tok;
			if (next_token(&q, eol, &tok, &tl) && parse_dec(tok, tl, &active) &&
			    next_token(&q, eol, &tok, &tl) && parse_dec(tok, tl, &objs) &&
			    next_token(&q, eol, &tok, &tl) && parse_dec(tok, tl, &size) &&
			    size <= (1u << 24) && objs <= UINT64_MAX / (1u << 24)) {
				struct procstat_slab s = {.bytes = objs * size};
				memcpy(s.name, name, MIN(nlen, sizeof(s.name) - 1));
				lines++;
				int at = n < PROCSTAT_SLAB_TOP ? n++ : PROCSTAT_SLAB_TOP;
				while (at > 0 && top[at - 1].bytes < s.bytes) {
					if (at < PROCSTAT_SLAB_TOP)
						top[at] = top[at - 1];
					at--;
				}
				if (at < PROCSTAT_SLAB_TOP)
					top[at] = s;
			}
		}
		p = nl ? nl + 1 : end;
	}
	return lines ? n : -EBADMSG;
}

int procstat_read_slabinfo(struct procstat_slab *top)
{
	static char buf[256 * 1024];
	ssize_t n = read_bounded("/proc/slabinfo", buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	return procstat_parse_slabinfo(buf, (size_t)n, top);
}

int procstat_read_meminfo(struct procstat_meminfo *ret)
{
	char buf[PROCSTAT_FILE_MAX * 2];
	ssize_t n = read_bounded("/proc/meminfo", buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	return procstat_parse_meminfo(buf, (size_t)n, ret);
}

/* A mapping's header: "start-end perms offset dev inode [path]". */
static bool smaps_header(const char *line, size_t len, bool *ret_guest)
{
	const char *p = line, *end = line + len, *tok;
	size_t tl, nl = strlen(PROCSTAT_GUEST_RAM_NAME);

	if (!next_token(&p, end, &tok, &tl) || !memchr(tok, '-', tl) || tok[tl - 1] == ':')
		return false;
	for (int field = 2; field <= 5; field++)
		if (!next_token(&p, end, &tok, &tl))
			return false;
	*ret_guest = next_token(&p, end, &tok, &tl) && tl >= nl &&
		     memcmp(tok, PROCSTAT_GUEST_RAM_NAME, nl) == 0 && (tl == nl || tok[nl] == ' ');
	return true;
}

static bool add_sat(uint64_t *acc, uint64_t v)
{
	if (*acc > UINT64_MAX - v)
		return false;
	*acc += v;
	return true;
}

int procstat_smaps_guest_line(struct procstat_guest *g, const char *line, size_t len)
{
	const char *colon = memchr(line, ':', len), *end = line + len;
	bool guest;
	uint64_t v;

	if (smaps_header(line, len, &guest)) {
		g->in_guest = guest;
		return 0;
	}
	if (!g->in_guest || !colon)
		return 0;
	size_t kl = (size_t)(colon - line);
#define KEY(k) (kl == sizeof(k) - 1 && memcmp(line, k, kl) == 0)
	if (KEY("Rss"))
		return parse_kb(colon + 1, end, &v) && add_sat(&g->rss, v) ? 0 : -EBADMSG;
	if (KEY("Pss"))
		return parse_kb(colon + 1, end, &v) && add_sat(&g->pss, v) ? 0 : -EBADMSG;
	if (KEY("Private_Clean") || KEY("Private_Dirty"))
		return parse_kb(colon + 1, end, &v) && add_sat(&g->private_bytes, v) ? 0 : -EBADMSG;
#undef KEY
	return 0;
}

/* Sums the guest-RAM mappings of /proc/<which>/smaps, read a chunk at a time (a process
 * has hundreds of mappings). Returns 0 or a negative errno. */
static int smaps_guest_read(const char *which, struct procstat_guest *g)
{
	char path[64], buf[PROCSTAT_FILE_MAX];
	size_t have = 0;
	int r = 0;

	snprintf(path, sizeof(path), "/proc/%s/smaps", which);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n = read(fd, buf + have, sizeof(buf) - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0 && have == 0)
			break;
		have += (size_t)n;
		char *p = buf, *end = buf + have, *nl;
		while ((nl = memchr(p, '\n', (size_t)(end - p))) ||
		       (n == 0 && p < end && (nl = end))) {
			r = procstat_smaps_guest_line(g, p, (size_t)(nl - p));
			if (r < 0)
				break;
			p = nl < end ? nl + 1 : end;
		}
		if (r < 0 || n == 0)
			break;
		if (p == buf) { /* a line longer than the buffer: not smaps */
			r = -EBADMSG;
			break;
		}
		have = (size_t)(end - p);
		memmove(buf, p, have);
	}
	close(fd);
	return r;
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
		struct procstat_guest g = {0};
		/* Only when every guest-RAM line was taken: a partial sum would lie. */
		if (smaps_guest_read(which, &g) == 0 && g.pss <= a && g.private_bytes <= b) {
			a -= g.pss;
			b -= g.private_bytes;
			ret->guest_ram_bytes = g.rss;
		}
		ret->pss_bytes = a;
		ret->uss_bytes = b;
	}
}
