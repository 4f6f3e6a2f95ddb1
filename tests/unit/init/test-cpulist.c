/* SPDX-License-Identifier: MIT */
/* The kernel CPU list parser init reads /sys/devices/system/cpu/{present,online} with. */
#include <errno.h>
#include <string.h>

#include "cpulist.h"
#include "test.h"

static int parse(const char *s, struct cpulist *l)
{
	return cpulist_parse(s, strlen(s), l);
}

int main(void)
{
	struct cpulist l;

	ASSERT_EQ(parse("0\n", &l), 1);
	ASSERT_TRUE(cpulist_has(&l, 0));
	ASSERT_TRUE(!cpulist_has(&l, 1));
	ASSERT_EQ(parse("0-7\n", &l), 8);
	ASSERT_TRUE(cpulist_has(&l, 7) && !cpulist_has(&l, 8));
	ASSERT_EQ(parse("0,3,5-6", &l), 4);
	ASSERT_TRUE(cpulist_has(&l, 3) && cpulist_has(&l, 6) && !cpulist_has(&l, 4));
	/* Overlaps count once. */
	ASSERT_EQ(parse("0-3,2-5", &l), 6);
	ASSERT_EQ(parse("1023", &l), 1);
	ASSERT_TRUE(!cpulist_has(&l, 5000));

	const char *bad[] = {"",     "\n", "-1",   "3-1",    "0-",	    "0,",    ",0",    "0 1",
			     "0--3", "a",  "1024", "0-1024", "99999999999", "0\n\n", "0-3\n1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], &l) != -EINVAL) {
			fprintf(stderr, "accepted \"%s\"\n", bad[i]);
			return 1;
		}
	}
	ASSERT_EQ(cpulist_read("/nonexistent/online", &l), -ENOENT);
	return 0;
}
