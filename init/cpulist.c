/* SPDX-License-Identifier: MIT */
#include "cpulist.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "macros.h"

static int number(const char *s, size_t len, size_t *pos, unsigned *out)
{
	unsigned v = 0;
	size_t start = *pos;

	while (*pos < len && s[*pos] >= '0' && s[*pos] <= '9') {
		v = v * 10 + (unsigned)(s[*pos] - '0');
		if (v >= CPULIST_MAX)
			return -EINVAL;
		(*pos)++;
	}
	if (*pos == start)
		return -EINVAL;
	*out = v;
	return 0;
}

int cpulist_parse(const char *s, size_t len, struct cpulist *l)
{
	size_t pos = 0;
	int n = 0;

	memset(l, 0, sizeof(*l));
	if (len > 0 && s[len - 1] == '\n')
		len--;
	if (len == 0)
		return -EINVAL;
	for (;;) {
		unsigned lo, hi;
		if (number(s, len, &pos, &lo) < 0)
			return -EINVAL;
		hi = lo;
		if (pos < len && s[pos] == '-') {
			pos++;
			if (number(s, len, &pos, &hi) < 0 || hi < lo)
				return -EINVAL;
		}
		for (unsigned c = lo; c <= hi; c++) {
			if (!cpulist_has(l, c))
				n++;
			l->bits[c / 8] |= (uint8_t)(1u << (c % 8));
		}
		if (pos == len)
			return n;
		if (s[pos++] != ',')
			return -EINVAL;
	}
}

bool cpulist_has(const struct cpulist *l, unsigned cpu)
{
	return cpu < CPULIST_MAX && (l->bits[cpu / 8] >> (cpu % 8)) & 1;
}

int cpulist_read(const char *path, struct cpulist *l)
{
	char buf[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, sizeof(buf));
	int e = errno;
	close(fd);
	if (n < 0)
		return -e;
	return cpulist_parse(buf, (size_t)n, l);
}
