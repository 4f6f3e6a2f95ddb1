/* SPDX-License-Identifier: MIT */
/* Shared bits of the init integration tests: init's output is shown only
 * when a test fails. */
#ifndef MHCL_ITEST_H
#define MHCL_ITEST_H

#include <stdlib.h>

#include "ctl.h"
#include "test.h"

static struct init_proc itest_proc;
static int itest_passed;

static void itest_atexit(void)
{
	if (!itest_passed)
		init_proc_dump(&itest_proc);
	init_proc_cleanup(&itest_proc);
}

static inline void itest_start(const char *dts, const char *const *wrapper,
			       const char *const *extra)
{
	atexit(itest_atexit);
	ASSERT_OK(init_proc_start(&itest_proc, dts, wrapper, extra));
}

static inline void itest_pass(void)
{
	itest_passed = 1;
}

#define MANIFEST_HEAD "/dts-v1/;\n/ { mhcl { manifest { compatible = \"mhcl,manifest-v1\";\n"
#define MANIFEST_TAIL "}; }; };\n"
/* The control relay every test runs first. */
#define CTL_SERVER                                                                                 \
	"ctl { binary = \"mhcl-testd\"; args = \"--relay\", \"${RUN}/ctl.sock\";"                  \
	" policy = \"diagd\"; control; start-order = <1>; restart-delay-ms = <20>; };\n"

#endif
