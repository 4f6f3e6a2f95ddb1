/* SPDX-License-Identifier: MIT */
/*
 * Partition set-up and teardown, one order for every user (mhcl-vp, the sim worker):
 *
 *   set up:   guest RAM (memfd) -> partition -> RAM mapped -> VPs (CPUID, SynIC, VP 0's
 *             boot state) -> the worker's SynIC (its irqfds and delivery thread)
 *   teardown: the reverse, after the VP threads stopped
 *
 * The guest is loaded into RAM between the two set-up halves (mhcl-vp's loaders need the
 * mapping and produce VP 0's boot state).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hv_cpuid.h"
#include "log.h"
#include "vp.h"

int worker_partition_create(struct worker *w, const struct backend_ops *ops, uint64_t ram_size,
			    uint32_t vp_count)
{
	struct partition_config cfg = {.vcpu_count = vp_count};
	int r;

	w->ram.memfd = -1;
	if (!vp_count || vp_count > WORKER_MAX_VPS || !ram_size || ram_size % 4096)
		return -EINVAL;
	w->ops = ops;
	w->vp_count = vp_count;
	r = guestmem_create(ram_size, &w->ram);
	if (r < 0)
		return log_error_errno(r, "unable to allocate %llu MiB of guest RAM: %m",
				       (unsigned long long)(ram_size >> 20));
	r = ops->partition_create(&cfg, &w->p);
	if (r < 0)
		return log_error_errno(r, "unable to create a %s partition: %m", ops->name);
	r = ops->map_ram(w->p, 0, 0, w->ram.map_len, w->ram.base, w->ram.memfd, 0);
	if (r < 0)
		return log_error_errno(r, "unable to map guest RAM: %m");
	return 0;
}

static int vp_create(struct worker *w, uint32_t i, const struct cpuid_leaf *base, size_t nbase,
		     const struct cpuid_leaf *hv, size_t nhv, const struct x86_boot_state *boot)
{
	static struct cpuid_leaf leaves[CPUID_MAX_LEAVES];
	struct vp *vp = &w->vps[i];
	int n, r;

	vp->w = w;
	vp->index = i;
	r = w->ops->vcpu_create(w->p, i, &vp->vcpu);
	if (r < 0)
		return log_error_errno(r, "unable to create VP %u: %m", i);
	n = hv_cpuid_build(base, nbase, hv, nhv, i, leaves, CPUID_MAX_LEAVES);
	if (n < 0)
		return log_error_errno(n, "unable to build the CPUID of VP %u: %m", i);
	if (i == 0)
		for (int j = 0; j < n; j++)
			if (leaves[j].function == HV_CPUID_FEATURES)
				log_info("Hyper-V features: privileges %#x:%#x misc %#x",
					 leaves[j].eax, leaves[j].ebx, leaves[j].edx);
	r = w->ops->vcpu_set_cpuid(vp->vcpu, leaves, (size_t)n);
	if (r < 0)
		return log_error_errno(r, "unable to set the CPUID of VP %u: %m", i);
	vp->cpuid = malloc((size_t)n * sizeof(*vp->cpuid));
	if (!vp->cpuid)
		return log_error_errno(-ENOMEM, "unable to allocate the CPUID of VP %u: %m", i);
	memcpy(vp->cpuid, leaves, (size_t)n * sizeof(*vp->cpuid));
	vp->ncpuid = (size_t)n;
	r = w->ops->vcpu_enable_synic(vp->vcpu);
	if (r < 0)
		return log_error_errno(r, "unable to enable the SynIC of VP %u: %m", i);
	/* Application processors wait for INIT/SIPI in the partition's local APIC. */
	if (i == 0 && boot) {
		r = w->ops->vcpu_set_boot_state(vp->vcpu, boot);
		if (r < 0)
			return log_error_errno(r, "unable to set the boot state of VP 0: %m");
	}
	return 0;
}

int worker_vps_create(struct worker *w, const struct x86_boot_state *boot)
{
	static struct cpuid_leaf base[CPUID_MAX_LEAVES], hv[CPUID_MAX_LEAVES];
	int nbase, nhv, r;

	nbase = w->ops->supported_cpuid(w->p, base, CPUID_MAX_LEAVES);
	if (nbase < 0)
		return log_error_errno(nbase, "unable to get the partition's CPUID: %m");
	nhv = w->ops->supported_hv_cpuid(w->p, hv, CPUID_MAX_LEAVES);
	if (nhv < 0)
		return log_error_errno(nhv, "unable to get the partition's Hyper-V CPUID: %m");
	for (uint32_t i = 0; i < w->vp_count; i++) {
		r = vp_create(w, i, base, (size_t)nbase, hv, (size_t)nhv, boot);
		if (r < 0)
			return r;
	}
	r = hv_synic_new(w->ops, w->p, &w->ram, w->vp_count, &w->synic);
	if (r < 0)
		return log_error_errno(r, "unable to set up the SynIC: %m");
	return 0;
}

void worker_teardown(struct worker *w)
{
	vp_join_all(w);
	w->synic = hv_synic_free(w->synic);
	for (uint32_t i = 0; i < w->vp_count; i++) {
		if (w->ops)
			w->vps[i].vcpu = w->ops->vcpu_destroy(w->vps[i].vcpu);
		free(w->vps[i].cpuid);
		w->vps[i].cpuid = NULL;
	}
	if (w->ops)
		w->p = w->ops->partition_destroy(w->p);
	guestmem_release(&w->ram);
}
