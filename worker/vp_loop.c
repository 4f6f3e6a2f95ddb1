/* SPDX-License-Identifier: MIT */
/*
 * The VP loop: one thread per VP runs the partition and dispatches each exit to a small
 * handler (kvmtool's kvm_cpu__start shape). Exits the guest can cause by itself never end
 * the worker, except a reset request or a VP that cannot continue.
 */
#include "vp.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "defs/hv_defs.h"
#include "log_limit.h"

static bool stopping(struct worker *w)
{
	return __atomic_load_n(&w->stop_reason, __ATOMIC_ACQUIRE) != WORKER_RUNNING;
}

void vp_stop_all(struct worker *w, enum worker_stop why)
{
	int expected = WORKER_RUNNING;

	if (!__atomic_compare_exchange_n(&w->stop_reason, &expected, (int)why, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return;
	for (uint32_t i = 0; i < w->vp_count; i++)
		if (w->vps[i].vcpu)
			w->ops->vcpu_kick(w->vps[i].vcpu);
}

static void handle_io(struct vp *vp, const struct vp_exit *e)
{
	for (uint32_t i = 0; i < e->io.count; i++) {
		uint8_t *data = e->io.data + (size_t)i * e->io.size;
		if (pio_access(&vp->w->pio, e->io.port, e->io.size, e->io.write, data)) {
			/* Said once: a string I/O exit can repeat the request count times. */
			if (!stopping(vp->w))
				log_info("VP %u: guest requested a %s (port %#x)", vp->index,
					 __atomic_load_n(&vp->w->pio.poweroff_requested,
							 __ATOMIC_ACQUIRE)
					     ? "power off"
					     : "reset",
					 e->io.port);
			vp_stop_all(vp->w, WORKER_STOP_RESET);
		}
	}
}

static void handle_mmio(struct vp *vp, const struct vp_exit *e)
{
	/* Nothing is mapped outside RAM apart from what the partition emulates itself (local
	 * APIC, IO-APIC): reads float high, writes are dropped. */
	log_limit_debug(&vp->log, "VP %u: unclaimed MMIO %s %#llx/%u", vp->index,
			e->mmio.write ? "write" : "read", (unsigned long long)e->mmio.gpa,
			e->mmio.len);
	if (!e->mmio.write)
		memset(e->mmio.data, 0xff, e->mmio.len);
}

/* CPUID from the table given to the partition: an exact (function, index) match for
 * leaves with significant indexes, else the function alone; unknown leaves read as 0. */
static void handle_cpuid(struct vp *vp, const struct vp_exit *e)
{
	memset(e->cpuid.regs, 0, 4 * sizeof(uint32_t));
	for (size_t i = 0; i < vp->ncpuid; i++) {
		const struct cpuid_leaf *l = &vp->cpuid[i];
		if (l->function != e->cpuid.function ||
		    ((l->flags & CPUID_LEAF_SIGNIFICANT_INDEX) && l->index != e->cpuid.index))
			continue;
		e->cpuid.regs[0] = l->eax;
		e->cpuid.regs[1] = l->ebx;
		e->cpuid.regs[2] = l->ecx;
		e->cpuid.regs[3] = l->edx;
		return;
	}
}

/* No MSR is emulated here yet: every access the partition left to us faults. */
static void handle_msr(struct vp *vp, const struct vp_exit *e)
{
	log_limit_debug(&vp->log, "VP %u: %s of unhandled MSR %#x", vp->index,
			e->msr.write ? "write" : "read", e->msr.index);
	*e->msr.fault = true;
}

static void *vp_thread(void *arg)
{
	struct vp *vp = arg;
	struct worker *w = vp->w;
	struct vp_exit e;
	int r;

	while (!stopping(w)) {
		r = w->ops->vcpu_run(vp->vcpu, &e);
		if (r == -EINTR)
			continue;
		if (r < 0) {
			log_error_errno(r, "VP %u: unable to run: %m", vp->index);
			vp_stop_all(w, WORKER_STOP_FAILED);
			break;
		}
		switch (e.kind) {
		case VP_EXIT_NONE:
			break;
		case VP_EXIT_IO:
			handle_io(vp, &e);
			break;
		case VP_EXIT_MMIO:
			handle_mmio(vp, &e);
			break;
		case VP_EXIT_HYPERCALL:
			*e.hcall.result = hv_synic_hypercall(w->synic, vp->index, e.hcall.control,
							     e.hcall.input, e.hcall.output);
			break;
		case VP_EXIT_SYNIC:
			hv_synic_msr_written(w->synic, vp->index, e.synic.msr, e.synic.control,
					     e.synic.evt_page, e.synic.msg_page);
			break;
		case VP_EXIT_CPUID:
			handle_cpuid(vp, &e);
			break;
		case VP_EXIT_MSR:
			handle_msr(vp, &e);
			break;
		case VP_EXIT_SHUTDOWN:
			log_error("VP %u shut down (triple fault or system event)", vp->index);
			vp_stop_all(w, WORKER_STOP_FAILED);
			break;
		case VP_EXIT_FAILED:
		default:
			log_error("VP %u cannot continue: backend exit %#llx", vp->index,
				  (unsigned long long)e.failure.reason);
			vp_stop_all(w, WORKER_STOP_FAILED);
			break;
		}
	}
	return NULL;
}

int vp_start_all(struct worker *w)
{
	for (uint32_t i = 0; i < w->vp_count; i++) {
		int r = -pthread_create(&w->vps[i].thread, NULL, vp_thread, &w->vps[i]);
		if (r < 0) {
			vp_stop_all(w, WORKER_STOP_FAILED);
			return r;
		}
		w->vps[i].started = true;
	}
	return 0;
}

void vp_join_all(struct worker *w)
{
	for (uint32_t i = 0; i < w->vp_count; i++)
		if (w->vps[i].started) {
			pthread_join(w->vps[i].thread, NULL);
			w->vps[i].started = false;
		}
}

uint64_t vp_log_suppressed(const struct worker *w)
{
	uint64_t n = w->synic ? hv_synic_log_suppressed(w->synic) : 0;

	for (uint32_t i = 0; i < w->vp_count; i++)
		n += log_limit_suppressed(&w->vps[i].log);
	return n;
}
