/* SPDX-License-Identifier: MIT */
#include "uring_lockdown.h"

#include <errno.h>

/* liburing 2.3 (Debian 12) has io_uring_register_restrictions and io_uring_enable_rings in
 * its header but not in its shared library's exports: the raw register call is exported. */
int uring_lock_down(struct io_uring *ring, const uint8_t *ops, size_t nops)
{
	struct io_uring_restriction res[URING_LOCKDOWN_MAX_OPS + 2] = {0};
	unsigned n = 0;

	if (nops > URING_LOCKDOWN_MAX_OPS)
		return -EINVAL;
	for (size_t i = 0; i < nops; i++)
		res[n++] = (struct io_uring_restriction){
		    .opcode = IORING_RESTRICTION_SQE_OP,
		    .sqe_op = ops[i],
		};
	res[n++] = (struct io_uring_restriction){
	    .opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED,
	    .sqe_flags = IOSQE_FIXED_FILE,
	};
	res[n++] = (struct io_uring_restriction){
	    .opcode = IORING_RESTRICTION_SQE_FLAGS_REQUIRED,
	    .sqe_flags = IOSQE_FIXED_FILE,
	};
	int r = io_uring_register((unsigned)ring->ring_fd, IORING_REGISTER_RESTRICTIONS, res, n);
	if (r < 0)
		return r;
	return io_uring_register((unsigned)ring->ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0);
}
