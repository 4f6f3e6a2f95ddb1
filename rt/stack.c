/* SPDX-License-Identifier: MIT */
/*
 * Stack protection. Code built with -fstack-protector (Debian's libfdt.a is)
 * reads its canary from %fs:0x28, so each CPU points FS_BASE at a small block
 * holding a per-boot value. Each stack also keeps a guard word at its lowest
 * address, checked at stage boundaries to catch overflow into whatever lies below.
 */
#include "rt.h"
#include "x86.h"

#define STACK_GUARD 0x4d48434c53544b21ull /* "!KTSLCHM" */

void rt_tls_init(uint64_t *tls, uint64_t seed)
{
	/* Keep a zero byte in the canary so string overflows cannot reproduce it. */
	tls[0x28 / 8] = (seed ^ 0x9e3779b97f4a7c15ull) & ~0xffull;
	wrmsr(X86_MSR_FS_BASE, (uint64_t)(uintptr_t)tls);
}

_Noreturn void __stack_chk_fail(void);
_Noreturn void __stack_chk_fail(void)
{
	rt_panic("stack-protector word clobbered (return address %p)", __builtin_return_address(0));
}

void rt_stack_guard_set(uint64_t *bottom)
{
	*bottom = STACK_GUARD;
}

void rt_stack_check(const uint64_t *bottom)
{
	if (*(const volatile uint64_t *)bottom != STACK_GUARD)
		rt_panic("stack guard word at %p overwritten: stack overflow",
			 (const void *)bottom);
}
