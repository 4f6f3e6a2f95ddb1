/* SPDX-License-Identifier: MIT */
#include "sim_worker.h"

#include <errno.h>
#include <stdlib.h>

#include "log.h"
#include "sim_backend.h"
#include "vp.h"

struct sim_worker {
	struct worker w;
};

bool sim_worker_running(struct sim_worker *sw)
{
	return __atomic_load_n(&sw->w.stop_reason, __ATOMIC_ACQUIRE) == WORKER_RUNNING;
}

struct sim_worker *sim_worker_stop(struct sim_worker *sw, bool *ret_clean)
{
	if (!sw)
		return NULL;
	if (ret_clean)
		*ret_clean = sim_worker_running(sw);
	vp_stop_all(&sw->w, WORKER_STOP_RESET);
	worker_teardown(&sw->w);
	free(sw);
	return NULL;
}

int sim_worker_guest_socket(struct sim_worker *sw, uint32_t vp)
{
	return backend_sim_guest_socket(sw->w.p, vp);
}

struct worker *sim_worker_partition(struct sim_worker *sw)
{
	return &sw->w;
}

int sim_worker_new(uint64_t ram_size, uint32_t vp_count, struct sim_worker **ret)
{
	struct sim_worker *sw;
	int r;

	sw = calloc(1, sizeof(*sw));
	if (!sw)
		return -ENOMEM;
	r = worker_partition_create(&sw->w, &backend_sim_ops, ram_size, vp_count);
	if (r >= 0)
		r = worker_vps_create(&sw->w, NULL);
	if (r < 0) {
		sim_worker_stop(sw, NULL);
		return r;
	}
	log_info("sim worker: %u VP(s), %llu KiB of RAM", vp_count,
		 (unsigned long long)(ram_size >> 10));
	*ret = sw;
	return 0;
}

int sim_worker_start(struct sim_worker *sw)
{
	return vp_start_all(&sw->w);
}
