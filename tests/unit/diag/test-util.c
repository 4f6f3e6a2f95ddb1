/* SPDX-License-Identifier: MIT */
/* Unit tests for tools/mhcl/util.c: duration and size columns, terminal-safe text. */
#include <stdio.h>
#include <stdlib.h>

#include "test.h"
#include "util.h"

static void check_duration(uint64_t ms, const char *want)
{
	char buf[32];

	mhcl_fmt_duration(buf, sizeof(buf), ms);
	ASSERT_STREQ(buf, want);
}

static void check_bytes(uint64_t b, const char *want)
{
	char buf[32];

	mhcl_fmt_bytes(buf, sizeof(buf), b);
	ASSERT_STREQ(buf, want);
}

int main(void)
{
	char *out = NULL;
	size_t n = 0;
	FILE *f;

	check_duration(0, "0.0s");
	check_duration(4250, "4.2s");
	check_duration(59999, "59.9s");
	check_duration(60000, "1m00s");
	check_duration(3599000, "59m59s");
	check_duration(3600000, "1h00m");
	check_duration(86399000, "23h59m");
	check_duration(90000000, "1d01h");
	check_duration(UINT64_MAX, "213503982334d14h");

	check_bytes(0, "0B");
	check_bytes(1023, "1023B");
	check_bytes(1024, "1.0K");
	check_bytes(1536, "1.5K");
	check_bytes(12u << 20, "12.0M");
	check_bytes(UINT64_MAX, "16.0E");

	f = open_memstream(&out, &n);
	ASSERT_TRUE(f);
	mhcl_put_safe(f, "ok\ttab \x1b[31mred\x7f\r\n");
	mhcl_put_safe(f, NULL);
	fclose(f);
	ASSERT_STREQ(out, "ok\ttab ?[31mred???");
	free(out);
	return 0;
}
