/* SPDX-License-Identifier: MIT */
/*
 * Locking an io_uring down before it runs anything. seccomp cannot see what a ring does, so
 * a jailed server uses only rings made disabled (IORING_SETUP_R_DISABLED) before its jail
 * and restricted here to the opcodes it submits, on fixed files only (every SQE must carry
 * IOSQE_FIXED_FILE and no other flag), with every io_uring_register refused afterwards (no
 * IORING_RESTRICTION_REGISTER_OP entry at all). Register the ring's files and eventfd first.
 */
#ifndef MHCL_COMMON_URING_LOCKDOWN_H
#define MHCL_COMMON_URING_LOCKDOWN_H

#include <liburing.h>
#include <stddef.h>
#include <stdint.h>

/* At most this many opcodes. */
#define URING_LOCKDOWN_MAX_OPS 8u

/* Restricts ring to ops[0..nops) and enables it. 0, or -errno (-EINVAL: too many ops). */
int uring_lock_down(struct io_uring *ring, const uint8_t *ops, size_t nops);

#endif
