/* SPDX-License-Identifier: MIT */
#include "hv_cpuid.h"

#include <errno.h>
#include <string.h>

#include "defs/hv_defs.h"

#define CPUID_HYPERVISOR_BASE 0x40000000u
#define CPUID_HYPERVISOR_END 0x4fffffffu
#define CPUID_1_ECX_HYPERVISOR (1u << 31)

static const struct cpuid_leaf *find(const struct cpuid_leaf *l, size_t n, uint32_t fn)
{
	for (size_t i = 0; i < n; i++)
		if (l[i].function == fn)
			return &l[i];
	return NULL;
}

int hv_cpuid_build(const struct cpuid_leaf *base, size_t nbase, const struct cpuid_leaf *hv,
		   size_t nhv, uint32_t vp_index, struct cpuid_leaf *ret, size_t max)
{
	const struct cpuid_leaf *f = find(hv, nhv, HV_CPUID_FEATURES);
	const struct cpuid_leaf *ver = find(hv, nhv, HV_CPUID_VERSION);
	const struct cpuid_leaf *lim = find(hv, nhv, HV_CPUID_IMPLEMENTATION_LIMITS);
	size_t n = 0;

	if (!f || (f->eax & HV_CPUID_REQUIRED_EAX) != HV_CPUID_REQUIRED_EAX ||
	    (f->ebx & HV_CPUID_REQUIRED_EBX) != HV_CPUID_REQUIRED_EBX)
		return -ENOTSUP;

	for (size_t i = 0; i < nbase; i++) {
		struct cpuid_leaf l = base[i];
		if (l.function >= CPUID_HYPERVISOR_BASE && l.function <= CPUID_HYPERVISOR_END)
			continue;
		if (l.function == 1) {
			l.ebx = (l.ebx & 0x00ffffffu) | (vp_index << 24);
			l.ecx |= CPUID_1_ECX_HYPERVISOR;
		} else if (l.function == 0xb || l.function == 0x1f) {
			l.edx = vp_index;
		}
		if (n == max)
			return -E2BIG;
		ret[n++] = l;
	}

	const struct cpuid_leaf leaves[] = {
		{.function = HV_CPUID_VENDOR_AND_MAX, .eax = HV_CPUID_MIN_MAX_LEAF,
		 .ebx = HV_CPUID_SIGNATURE_EBX, .ecx = HV_CPUID_SIGNATURE_ECX, .edx = HV_CPUID_SIGNATURE_EDX},
		{.function = HV_CPUID_INTERFACE, .eax = HV_CPUID_INTERFACE_EAX},
		{.function = HV_CPUID_VERSION, .eax = ver ? ver->eax : 0, .ebx = ver ? ver->ebx : 0,
		 .ecx = ver ? ver->ecx : 0, .edx = ver ? ver->edx : 0},
		{.function = HV_CPUID_FEATURES, .eax = f->eax & HV_CPUID_SERVED_EAX,
		 .ebx = f->ebx & HV_CPUID_SERVED_EBX, .edx = f->edx & HV_CPUID_SERVED_EDX},
		/* Relaxed timing only; spinlock retry count "never notify". */
		{.function = HV_CPUID_ENLIGHTENMENT_INFO, .eax = HV_HINT_RELAXED_TIMING, .ebx = 0xffffffffu},
		{.function = HV_CPUID_IMPLEMENTATION_LIMITS, .eax = lim ? lim->eax : 0,
		 .ebx = lim ? lim->ebx : 0},
	};
	if (max - n < sizeof(leaves) / sizeof(leaves[0]))
		return -E2BIG;
	memcpy(ret + n, leaves, sizeof(leaves));
	n += sizeof(leaves) / sizeof(leaves[0]);
	return (int)n;
}
