/* SPDX-License-Identifier: MIT */
/* The VP worker: one partition, its RAM, devices and SynIC, and one thread per VP. */
#ifndef MHCL_WORKER_VP_H
#define MHCL_WORKER_VP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "backend.h"
#include "guestmem.h"
#include "log_limit.h"
#include "pio.h"
#include "synic.h"

#define WORKER_MAX_VPS 64

struct worker;

struct vp {
	struct worker *w;
	struct vcpu *vcpu;
	uint32_t index;
	pthread_t thread;
	bool started;
	/* The VP's CPUID, for backends that exit on CPUID (VP_EXIT_CPUID). */
	struct cpuid_leaf *cpuid;
	size_t ncpuid;
	/* Exits the guest repeats at will (unclaimed MMIO, MSRs): this thread only. */
	struct log_limit log;
};

enum worker_stop {
	WORKER_RUNNING,
	WORKER_STOP_RESET,  /* the guest asked for a reset or powered off: a clean end */
	WORKER_STOP_FAILED, /* a VP could not continue */
	_WORKER_STOP_MAX,
};

struct worker {
	const struct backend_ops *ops;
	struct partition *p;
	struct guestmem ram; /* guestmem_create: guest physical [0, map_len) at memfd offset 0 */
	struct pio_devices pio;
	struct hv_synic *synic;
	uint32_t vp_count;
	int stop_reason; /* enum worker_stop, atomic */
	struct vp vps[WORKER_MAX_VPS];
};

/* Partition set-up and teardown (partition.c), in this order: worker_partition_create
 * (guest RAM, partition, RAM mapped), the caller loads the guest, worker_vps_create (VPs
 * with CPUID, SynIC and, when boot is not NULL, VP 0's boot state; then the worker's
 * SynIC), vp_start_all. w starts zeroed; ops is borrowed. Errors are logged and returned;
 * worker_teardown then undoes what was done. */
int worker_partition_create(struct worker *w, const struct backend_ops *ops, uint64_t ram_size,
			    uint32_t vp_count);
int worker_vps_create(struct worker *w, const struct x86_boot_state *boot);
/* Joins the VPs (stop them first) and frees the partition in the reverse order. */
void worker_teardown(struct worker *w);

/* Starts the VP threads. */
int vp_start_all(struct worker *w);
/* Records why the worker stops (the first reason wins) and kicks every VP. */
void vp_stop_all(struct worker *w, enum worker_stop why);
/* Joins the VP threads started so far; calling it again is harmless. */
void vp_join_all(struct worker *w);
/* Log lines about the guest's exits that the VPs' and the SynIC's rate limits held back. */
uint64_t vp_log_suppressed(const struct worker *w);

#endif
