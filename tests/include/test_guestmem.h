/* SPDX-License-Identifier: MIT */
/* Tests look at guest RAM only through lib/guestmem, as the code under test does. */
#ifndef MHCL_TEST_GUESTMEM_H
#define MHCL_TEST_GUESTMEM_H

#include "guestmem.h"
#include "test.h"

/* The host pointer for [gpa, gpa + len), which the test expects to lie in one RAM range. */
static inline uint8_t *test_gm_ptr(const struct guestmem *gm, uint64_t gpa, uint64_t len)
{
	uint8_t *p = guestmem_ptr(gm, gpa, len);
	ASSERT_TRUE(p != NULL);
	return p;
}

#endif
