/* SPDX-License-Identifier: MIT */
/*
 * Limits of the diag protocol (proto/diag.proto), shared by mhcl-diagd, which
 * enforces them on every client request, and the mhcl CLI, which checks them
 * before sending so a user gets a usage error instead of a remote one.
 * Header-only: no code outside static inline helpers.
 */
#ifndef MHCL_DIAG_LIMITS_H
#define MHCL_DIAG_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A client request body is a handful of short fields; anything larger is hostile. */
#define DIAG_REQUEST_BODY_MAX 1024u
/* Server names: [a-z0-9_-]{1,64} (the manifest node name). */
#define DIAG_NAME_MAX 64u
/* Inspect paths: printable ASCII, no leading '/', at most this many bytes. */
#define DIAG_PATH_MAX 256u
/* Highest signal number a kill request may carry (SIGRTMAX on Linux). */
#define DIAG_SIGNAL_MAX 64
/* LogsRequest.max_lines above this is refused. */
#define DIAG_LOG_LINES_MAX 4096u

/* True if name[0..len) is a valid server name. Borrows name; needs no NUL. */
static inline bool diag_name_valid(const char *name, size_t len)
{
	if (len < 1 || len > DIAG_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* True if path[0..len) is a valid inspect path ("" = the whole tree). */
static inline bool diag_path_valid(const char *path, size_t len)
{
	if (len > DIAG_PATH_MAX)
		return false;
	if (len > 0 && path[0] == '/')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)path[i];
		if (c < 0x20 || c > 0x7e)
			return false;
	}
	return true;
}

#endif
