/* SPDX-License-Identifier: MIT */
/* The kernel's CPU list format (/sys/devices/system/cpu/online: "0-3,5\n"). */
#ifndef MHCL_INIT_CPULIST_H
#define MHCL_INIT_CPULIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CPULIST_MAX 1024 /* CPUs init hands over or counts; more are refused */

struct cpulist {
	uint8_t bits[CPULIST_MAX / 8];
};

/* Parses len bytes of s (a trailing newline allowed) into l. Returns the number of CPUs
 * in it, or -EINVAL for anything else: empty, ranges backwards, numbers at or above
 * CPULIST_MAX, stray characters. */
int cpulist_parse(const char *s, size_t len, struct cpulist *l);
bool cpulist_has(const struct cpulist *l, unsigned cpu);
/* Reads and parses a sysfs CPU list file; -errno when unreadable. */
int cpulist_read(const char *path, struct cpulist *l);

#endif
