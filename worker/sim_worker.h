/* SPDX-License-Identifier: MIT */
/*
 * The VP worker on the sim backend, in-process, for tests and fuzzing: the same pieces
 * mhcl-vp wires up (guest RAM memfd, partition, one VP loop thread per VP, the SynIC, and
 * with `vmbus` the in-process VMBus control plane with its heartbeat channel), minus the
 * guest loader. The guest is whoever holds the VP sockets (sim_guest.h).
 */
#ifndef MHCL_WORKER_SIM_WORKER_H
#define MHCL_WORKER_SIM_WORKER_H

#include <stdbool.h>
#include <stdint.h>

struct sim_worker;

/* Starts the VP threads. ram_size must be page aligned. -EOPNOTSUPP for vmbus when the
 * control plane was not built in. */
int sim_worker_start(uint64_t ram_size, uint32_t vp_count, bool vmbus, struct sim_worker **ret);
/* Stops and joins the VPs and frees everything; accepts NULL, returns NULL. Returns whether
 * the VPs were still running (no VP failed) through *ret_clean when not NULL. */
struct sim_worker *sim_worker_stop(struct sim_worker *sw, bool *ret_clean);
/* The guest end of VP vp's socket (owned by the caller), once per VP. */
int sim_worker_guest_socket(struct sim_worker *sw, uint32_t vp);
/* Whether the worker is still running (no VP stopped it). */
bool sim_worker_running(struct sim_worker *sw);

#endif
