/* SPDX-License-Identifier: MIT */
#ifndef MHCL_CLI_UTIL_H
#define MHCL_CLI_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Prints remote text with control characters (but tab) replaced by '?'. */
void mhcl_put_safe(FILE *f, const char *s);
/* "4.2s", "3m04s", "2h05m", "3d04h". */
void mhcl_fmt_duration(char *buf, size_t len, uint64_t ms);
/* "512B", "1.5K", "12.0M". */
void mhcl_fmt_bytes(char *buf, size_t len, uint64_t bytes);

#endif
