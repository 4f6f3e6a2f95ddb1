/* SPDX-License-Identifier: MIT */
/* Guest CPUID: KVM's leaves replaced by Hyper-V's, only served features advertised. */
#include <errno.h>

#include "hv_cpuid.h"
#include "test.h"

static const struct cpuid_leaf *find(const struct cpuid_leaf *l, int n, uint32_t fn)
{
	const struct cpuid_leaf *r = NULL;
	for (int i = 0; i < n; i++)
		if (l[i].function == fn) {
			ASSERT_TRUE(r == NULL);
			r = &l[i];
		}
	return r;
}

int main(void)
{
	const struct cpuid_leaf base[] = {
		{.function = 0, .eax = 0xd},
		{.function = 1, .ebx = 0xff000800, .ecx = 0x1},
		{.function = 0xb, .index = 1, .flags = CPUID_LEAF_SIGNIFICANT_INDEX, .edx = 0},
		{.function = 0x40000000, .eax = 0x40000001, .ebx = 0x4b4d564b}, /* "KVMK" */
		{.function = 0x40000001, .eax = 0xffffffff},
		{.function = 0x40000100, .eax = 1},
	};
	const struct cpuid_leaf hv[] = {
		{.function = HV_CPUID_VERSION, .eax = 0x3839, .ebx = 0xa0000},
		{.function = HV_CPUID_FEATURES, .eax = 0xffffffff, .ebx = 0xffffffff, .edx = 0xffffffff},
		{.function = HV_CPUID_IMPLEMENTATION_LIMITS, .eax = 1024},
	};
	struct cpuid_leaf out[32];
	int n = hv_cpuid_build(base, 6, hv, 3, 3, out, 32);

	ASSERT_EQ(n, 3 + 6);
	ASSERT_TRUE(find(out, n, 0x40000100) == NULL);
	const struct cpuid_leaf *l = find(out, n, HV_CPUID_VENDOR_AND_MAX);
	ASSERT_UEQ(l->eax, 0x40000005);
	ASSERT_TRUE(memcmp(&l->ebx, "Micr", 4) == 0);
	ASSERT_TRUE(memcmp(&l->ecx, "osof", 4) == 0);
	ASSERT_TRUE(memcmp(&l->edx, "t Hv", 4) == 0);
	l = find(out, n, HV_CPUID_INTERFACE);
	ASSERT_TRUE(memcmp(&l->eax, "Hv#1", 4) == 0);
	l = find(out, n, HV_CPUID_FEATURES);
	ASSERT_UEQ(l->eax, HV_CPUID_SERVED_EAX);
	ASSERT_UEQ(l->ebx, HV_CPUID_SERVED_EBX);
	ASSERT_UEQ(l->edx, HV_CPUID_SERVED_EDX);
	ASSERT_EQ(l->eax & HV_PRIV_SYNTIMER, 0);          /* timer messages would share SINT 2 */
	ASSERT_EQ(l->ebx & HV_PRIV_ACCESS_PARTITION_ID, 0); /* Linux would BUG without the call */
	l = find(out, n, HV_CPUID_ENLIGHTENMENT_INFO);
	ASSERT_UEQ(l->eax, HV_HINT_RELAXED_TIMING);
	l = find(out, n, HV_CPUID_IMPLEMENTATION_LIMITS);
	ASSERT_UEQ(l->eax, 1024);
	l = find(out, n, 1);
	ASSERT_UEQ(l->ebx >> 24, 3);
	ASSERT_UEQ(l->ebx & 0xffffff, 0x800);
	ASSERT_UEQ(l->ecx, 0x80000001);
	l = find(out, n, 0xb);
	ASSERT_UEQ(l->edx, 3);

	/* A partition without the SynIC cannot host VMBus. */
	struct cpuid_leaf nosynic[] = {{.function = HV_CPUID_FEATURES, .eax = HV_PRIV_HYPERCALL | HV_PRIV_VP_INDEX,
					 .ebx = HV_CPUID_REQUIRED_EBX}};
	ASSERT_EQ(hv_cpuid_build(base, 6, nosynic, 1, 0, out, 32), -ENOTSUP);
	ASSERT_EQ(hv_cpuid_build(base, 6, hv, 1, 0, out, 32), -ENOTSUP); /* no features leaf */
	ASSERT_EQ(hv_cpuid_build(base, 6, hv, 3, 0, out, 4), -E2BIG);
	ASSERT_EQ(hv_cpuid_build(base, 6, hv, 3, 0, out, 8), -E2BIG);
	return 0;
}
