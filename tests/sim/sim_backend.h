/* SPDX-License-Identifier: MIT */
/*
 * The sim partition backend (backend_sim.c): worker/backend.h without virtualization. A
 * test process plays the guest over one socket per VP (sim_proto.h); guest RAM is the
 * worker's memfd, which the guest maps too, so rings and SynIC pages are really shared.
 */
#ifndef MHCL_TEST_SIM_BACKEND_H
#define MHCL_TEST_SIM_BACKEND_H

#include <stdint.h>

#include "backend.h"

extern const struct backend_ops backend_sim_ops;

/* Returns the guest end of VP vp's socket (close-on-exec, owned by the caller), once per
 * VP: -EBUSY afterwards, -ENOENT before vcpu_create. */
int backend_sim_guest_socket(struct partition *p, uint32_t vp);

#endif
