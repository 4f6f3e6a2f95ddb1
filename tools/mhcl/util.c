/* SPDX-License-Identifier: MIT */
/* Output helpers shared by the commands. */
#include <inttypes.h>
#include <stdio.h>

#include "util.h"

void mhcl_put_safe(FILE *f, const char *s)
{
	/* Remote text never reaches a terminal raw: no escape sequences. */
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;
		fputc((ch < 0x20 && ch != '\t') || ch == 0x7f ? '?' : ch, f);
	}
}

void mhcl_fmt_duration(char *buf, size_t len, uint64_t ms)
{
	uint64_t s = ms / 1000;

	if (s < 60)
		snprintf(buf, len, "%" PRIu64 ".%01" PRIu64 "s", s, (ms % 1000) / 100);
	else if (s < 3600)
		snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, (s / 60) % 60);
	else
		snprintf(buf, len, "%" PRIu64 "d%02" PRIu64 "h", s / 86400, (s / 3600) % 24);
}

void mhcl_fmt_bytes(char *buf, size_t len, uint64_t b)
{
	static const char units[] = "KMGTPE";
	double v = (double)b;
	int u = -1;

	if (b < 1024) {
		snprintf(buf, len, "%" PRIu64 "B", b);
		return;
	}
	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f%c", v, units[u]);
}
