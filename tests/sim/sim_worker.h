/* SPDX-License-Identifier: MIT */
/*
 * The VP worker on the sim backend, for tests and fuzzing: the same pieces mhcl-vp wires
 * up (guest RAM memfd, partition, one VP loop thread per VP, the SynIC), minus the guest
 * loader. The guest is whoever holds the VP sockets (sim_guest.h). Either the test runs
 * the VPs in its own process (sim_worker_start: no VMBus, HvPostMessage finds no port), or
 * a process hands the worker to vp_bus_run (sim_worker_partition), which relays VMBus to
 * the real mhcl-vmbusd as mhcl-vp does.
 */
#ifndef MHCL_TEST_SIM_WORKER_H
#define MHCL_TEST_SIM_WORKER_H

#include <stdbool.h>
#include <stdint.h>

struct sim_worker;
struct worker;

/* Sets up the partition: RAM, VPs with their SynIC, not running. ram_size must be page
 * aligned. */
int sim_worker_new(uint64_t ram_size, uint32_t vp_count, struct sim_worker **ret);
/* Starts the VP threads. */
int sim_worker_start(struct sim_worker *sw);
/* The partition, for vp_bus_run (borrowed; VPs not started). */
struct worker *sim_worker_partition(struct sim_worker *sw);
/* Stops and joins the VPs and frees everything; accepts NULL, returns NULL. Returns whether
 * the VPs were still running (no VP failed) through *ret_clean when not NULL. */
struct sim_worker *sim_worker_stop(struct sim_worker *sw, bool *ret_clean);
/* The guest end of VP vp's socket (owned by the caller), once per VP. */
int sim_worker_guest_socket(struct sim_worker *sw, uint32_t vp);
/* Whether the worker is still running (no VP stopped it). */
bool sim_worker_running(struct sim_worker *sw);

#endif
