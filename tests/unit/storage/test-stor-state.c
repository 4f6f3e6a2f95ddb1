/* SPDX-License-Identifier: MIT */
/*
 * The rule by which the next mhcl-storaged tells a completion the guest saw from one it
 * did not (stor_state.h): completions are published once per loop turn, so a kill can
 * leave a batch written and unpublished, published in part never, or published with its
 * slots not yet freed. Positions wrap around the ring; values from the state page may be
 * garbage.
 */
#include <stdio.h>

#include "stor_state.h"
#include "test.h"

#define SIZE 4096u

int main(void)
{
	static const struct {
		uint32_t from, wr, at, len;
		bool seen;
		const char *what;
	} cases[] = {
	    {0, 0, 0, 64, false, "batch written, nothing published"},
	    {0, 192, 0, 64, true, "first of a published batch"},
	    {0, 192, 128, 64, true, "last of a published batch, ending at write_index"},
	    {0, 128, 128, 64, false, "written after what was published"},
	    {0, 160, 128, 64, false, "write_index inside it (cannot be, so not seen)"},
	    {4032, 4032, 4032, 128, false, "wrapping, nothing published"},
	    {4032, 64, 4032, 128, true, "wrapping, published"},
	    {4032, 128, 64, 64, true, "after the wrap, published"},
	    {4032, 64, 64, 64, false, "after the wrap, not yet"},
	    {1024, 2048, 512, 64, false, "before the batch (an earlier turn's, never kept)"},
	    {0, 192, SIZE, 64, false, "offset out of range"},
	    {0, 192, 0, 0, false, "no length"},
	    {0, 192, 0, SIZE, false, "length of the whole ring"},
	    {SIZE, 192, 0, 64, false, "batch start out of range"},
	    {0, SIZE + 8, 0, 64, false, "write_index out of range"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool seen = stor_completion_seen(SIZE, cases[i].from, cases[i].wr, cases[i].at,
						 cases[i].len);
		if (seen != cases[i].seen)
			TEST_FAIL_("case %zu (%s): seen %d, want %d", i, cases[i].what, seen,
				   cases[i].seen);
	}
	printf("stor-state: all cases passed\n");
	return 0;
}
