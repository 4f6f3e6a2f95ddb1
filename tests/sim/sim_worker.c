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
	struct worker *w;

	if (!sw)
		return NULL;
	w = &sw->w;
	if (ret_clean)
		*ret_clean = sim_worker_running(sw);
	vp_stop_all(w, WORKER_STOP_RESET);
	vp_join_all(w);
	w->synic = hv_synic_free(w->synic);
	for (uint32_t i = 0; i < w->vp_count; i++)
		w->vps[i].vcpu = w->ops->vcpu_destroy(w->vps[i].vcpu);
	w->p = w->ops->partition_destroy(w->p);
	guestmem_release(&w->ram);
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
	struct worker *w;
	int r;

	if (!vp_count || vp_count > WORKER_MAX_VPS || !ram_size || ram_size % 4096)
		return -EINVAL;
	sw = calloc(1, sizeof(*sw));
	if (!sw)
		return -ENOMEM;
	w = &sw->w;
	w->ops = &backend_sim_ops;
	w->vp_count = vp_count;
	w->ram.memfd = -1;
	r = guestmem_create(ram_size, &w->ram);
	if (r < 0)
		goto err;
	struct partition_config cfg = {.vcpu_count = vp_count};
	r = w->ops->partition_create(&cfg, &w->p);
	if (r < 0)
		goto err;
	r = w->ops->map_ram(w->p, 0, 0, w->ram.map_len, w->ram.base, w->ram.memfd, 0);
	if (r < 0)
		goto err;
	for (uint32_t i = 0; i < vp_count; i++) {
		w->vps[i].w = w;
		w->vps[i].index = i;
		r = w->ops->vcpu_create(w->p, i, &w->vps[i].vcpu);
		if (r < 0)
			goto err;
		r = w->ops->vcpu_enable_synic(w->vps[i].vcpu);
		if (r < 0)
			goto err;
	}
	r = hv_synic_new(w->ops, w->p, &w->ram, vp_count, &w->synic);
	if (r < 0)
		goto err;
	log_info("sim worker: %u VP(s), %llu KiB of RAM", vp_count,
		 (unsigned long long)(ram_size >> 10));
	*ret = sw;
	return 0;
err:
	sim_worker_stop(sw, NULL);
	return r;
}

int sim_worker_start(struct sim_worker *sw)
{
	return vp_start_all(&sw->w);
}
