/* SPDX-License-Identifier: MIT */
/* Exit codes every mhcl process uses; init's supervisor reads them (s6 vocabulary). */
#ifndef MHCL_DEFS_EXIT_CODES_H
#define MHCL_DEFS_EXIT_CODES_H

enum {
	MHCL_EXIT_OK = 0,
	MHCL_EXIT_FAILURE = 1,
	MHCL_EXIT_USAGE = 100,          /* bad arguments or manifest entry */
	MHCL_EXIT_SYSCALL = 111,        /* a system call failed during setup */
	MHCL_EXIT_NO_RESTART = 125,     /* the server asks not to be restarted */
	MHCL_EXIT_EXEC = 127,           /* exec of the server binary failed */
	MHCL_EXIT_JAIL = 253,           /* sandbox setup failed or a forbidden syscall was made */
};

#endif
