/* SPDX-License-Identifier: MIT */
#ifndef MHCL_COMMON_UNMAP_STEPS_H
#define MHCL_COMMON_UNMAP_STEPS_H

#include <stddef.h>

/*
 * munmap(p, len) in steps of UNMAP_STEP_BYTES, giving the CPU away between them. For the
 * large mappings (a memory disk, guest RAM) a handed-over server tears down at idle
 * priority while its next instance serves the guest on the same CPU: one munmap of a
 * fully populated 256 MiB mapping is milliseconds inside the kernel, and a scheduler that
 * has to pick the idle task (the server it woke is not yet eligible, as under EEVDF after
 * it yielded while polling) cannot take the CPU from it until it returns.
 */
#define UNMAP_STEP_BYTES (8u << 20)

void unmap_steps(void *p, size_t len);

#endif
