/* SPDX-License-Identifier: MIT */
/* TSC rate from PIT channel 2 (the gate-controlled one, no interrupt needed). */
#include "rt.h"
#include "x86.h"

#define PIT_HZ 1193182u
#define CALIBRATE_MS 10u

static uint64_t tsc_khz;

uint64_t rt_tsc_calibrate(void)
{
	uint32_t ticks = PIT_HZ * CALIBRATE_MS / 1000;

	/* Gate on, speaker off; channel 2, lobyte/hibyte, mode 0 (one-shot). */
	outb(0x61, (uint8_t)((inb(0x61) & ~0x02) | 0x01));
	outb(0x43, 0xb0);
	outb(0x42, (uint8_t)(ticks & 0xff));
	outb(0x42, (uint8_t)(ticks >> 8));
	uint64_t start = rdtsc();
	uint64_t spins = 0;
	/* OUT2 (bit 5 of port 0x61) goes high when the count reaches 0. */
	while (!(inb(0x61) & 0x20)) {
		if (++spins > 100000000ull)
			return 0;
	}
	uint64_t delta = rdtsc() - start;
	tsc_khz = delta / CALIBRATE_MS;
	return tsc_khz;
}

uint64_t rt_tsc_khz(void)
{
	return tsc_khz;
}

void rt_tsc_set_khz(uint64_t khz)
{
	tsc_khz = khz;
}

uint64_t rt_tsc_to_us(uint64_t tsc)
{
	if (!tsc_khz)
		return 0;
	return tsc / tsc_khz * 1000 + (tsc % tsc_khz) * 1000 / tsc_khz;
}

void rt_udelay(uint64_t us)
{
	uint64_t khz = tsc_khz ? tsc_khz : 1000000; /* assume 1 GHz before calibration */
	uint64_t end = rdtsc() + us * khz / 1000;
	while (rdtsc() < end)
		cpu_relax();
}
