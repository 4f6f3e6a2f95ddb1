/* SPDX-License-Identifier: MIT */
#include "unmap_steps.h"

#include <sched.h>
#include <stdint.h>
#include <sys/mman.h>

void unmap_steps(void *p, size_t len)
{
	uint8_t *at = p;

	while (len > UNMAP_STEP_BYTES) {
		(void)munmap(at, UNMAP_STEP_BYTES);
		at += UNMAP_STEP_BYTES;
		len -= UNMAP_STEP_BYTES;
		(void)sched_yield();
	}
	(void)munmap(at, len);
}
