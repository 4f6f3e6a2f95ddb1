/* SPDX-License-Identifier: MIT */
/*
 * Exit codes of the `mhcl` CLI; scripts rely on them and `mhcl help` lists
 * them. They are the CLI's own, not the server codes of defs/exit_codes.h
 * (except usage, 100, which is the same everywhere).
 */
#ifndef MHCL_CLI_EXIT_H
#define MHCL_CLI_EXIT_H

enum mhcl_exit {
	MHCL_CLI_OK = 0,
	MHCL_CLI_REMOTE = 1,      /* the remote answered with an error, or answered garbage */
	MHCL_CLI_NO_SERVER = 2,   /* no such server (the remote said ENOENT) */
	MHCL_CLI_UNREACHABLE = 3, /* diag not reachable: connect failed or the connection dropped */
	MHCL_CLI_TIMEOUT = 4,     /* no answer within --timeout, or the remote timed out */
	MHCL_CLI_AUTH = 5,        /* diag wants a secret we lack, or refused ours */
	MHCL_CLI_USAGE = 100,     /* bad arguments */
};

#endif
