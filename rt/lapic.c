/* SPDX-License-Identifier: MIT */
/* Local APIC in xAPIC mode (MMIO at 0xfee00000, identity-mapped). */
#include "rt.h"
#include "x86.h"

#define LAPIC_ID 0x020
#define LAPIC_EOI 0x0b0
#define LAPIC_SVR 0x0f0
#define LAPIC_ESR 0x280
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310

#define ICR_FIXED 0x00000
#define ICR_INIT 0x00500
#define ICR_STARTUP 0x00600
#define ICR_PENDING (1u << 12)
#define ICR_ASSERT (1u << 14)
#define ICR_LEVEL (1u << 15)

static uint32_t rd(uint32_t reg)
{
	return mmio_read32(RT_LAPIC_BASE + reg);
}

static void wr(uint32_t reg, uint32_t v)
{
	mmio_write32(RT_LAPIC_BASE + reg, v);
}

uint32_t rt_lapic_id(void)
{
	return rd(LAPIC_ID) >> 24;
}

void rt_lapic_enable(uint8_t spurious_vector)
{
	wrmsr(X86_MSR_APIC_BASE, rdmsr(X86_MSR_APIC_BASE) | (1u << 11));
	wr(LAPIC_SVR, (1u << 8) | spurious_vector);
}

void rt_lapic_disable(void)
{
	wr(LAPIC_SVR, rd(LAPIC_SVR) & ~(1u << 8));
}

void rt_lapic_eoi(void)
{
	wr(LAPIC_EOI, 0);
}

static void send(uint32_t apic_id, uint32_t lo)
{
	for (int i = 0; i < 1000000 && (rd(LAPIC_ICR_LO) & ICR_PENDING); i++)
		cpu_relax();
	wr(LAPIC_ESR, 0);
	wr(LAPIC_ICR_HI, apic_id << 24);
	wr(LAPIC_ICR_LO, lo);
	for (int i = 0; i < 1000000 && (rd(LAPIC_ICR_LO) & ICR_PENDING); i++)
		cpu_relax();
}

void rt_lapic_send_fixed(uint32_t apic_id, uint8_t vector)
{
	send(apic_id, ICR_FIXED | ICR_ASSERT | vector);
}

void rt_lapic_send_init(uint32_t apic_id)
{
	send(apic_id, ICR_INIT | ICR_LEVEL | ICR_ASSERT);
}

void rt_lapic_send_sipi(uint32_t apic_id, uint8_t page)
{
	send(apic_id, ICR_STARTUP | page);
}
