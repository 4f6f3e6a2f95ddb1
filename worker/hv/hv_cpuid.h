/* SPDX-License-Identifier: MIT */
/*
 * The guest's CPUID: the partition's supported leaves with the hypervisor's own leaves
 * replaced by Hyper-V's (0x40000000..0x40000005), advertising only what mhcl serves:
 * hypercall page, VP index, SynIC (PostMessage/SignalEvent), reference time and TSC
 * page, frequency MSRs and the VP assist page. No KVM signature, so Linux takes the
 * Hyper-V path. No synthetic timers (their messages would share the VMBus SINT slot)
 * and no partition-id privilege (Linux would need HvCallGetPartitionId).
 */
#ifndef MHCL_WORKER_HV_CPUID_H
#define MHCL_WORKER_HV_CPUID_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "defs/hv_defs.h"

#define HV_CPUID_SERVED_EAX                                                                     \
	(HV_PRIV_TIME_REF_COUNT | HV_PRIV_SYNIC | HV_PRIV_APIC_ACCESS | HV_PRIV_HYPERCALL |      \
	 HV_PRIV_VP_INDEX | HV_PRIV_REFERENCE_TSC | HV_PRIV_ACCESS_FREQUENCY_MSRS)
#define HV_CPUID_SERVED_EBX (HV_PRIV_POST_MESSAGES | HV_PRIV_SIGNAL_EVENTS)
#define HV_CPUID_SERVED_EDX (HV_FEATURE_FREQUENCY_MSRS_AVAILABLE)
/* What the partition must support for the guest to reach VMBus at all. */
#define HV_CPUID_REQUIRED_EAX (HV_PRIV_SYNIC | HV_PRIV_HYPERCALL | HV_PRIV_VP_INDEX)
#define HV_CPUID_REQUIRED_EBX (HV_PRIV_POST_MESSAGES | HV_PRIV_SIGNAL_EVENTS)

/* Builds the CPUID of VP vp_index into ret (capacity max) from the partition's supported
 * leaves (base) and Hyper-V leaves (hv). Returns the leaf count, -ENOTSUP if the partition
 * lacks a required Hyper-V feature, -E2BIG if max is too small. */
int hv_cpuid_build(const struct cpuid_leaf *base, size_t nbase, const struct cpuid_leaf *hv,
		   size_t nhv, uint32_t vp_index, struct cpuid_leaf *ret, size_t max);

#endif
