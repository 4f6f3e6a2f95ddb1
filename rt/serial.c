/* SPDX-License-Identifier: MIT */
/* COM1 (16550 at 0x3f8) console with TSC-stamped lines; one lock per image. */
#include "rt.h"
#include "x86.h"

#define COM1 0x3f8

static const char *log_prefix = "rt";
static volatile uint32_t console_lock;

void rt_console_init(const char *prefix)
{
	log_prefix = prefix;
	outb(COM1 + 1, 0x00); /* no interrupts */
	outb(COM1 + 3, 0x80); /* DLAB */
	outb(COM1 + 0, 0x01); /* 115200 baud */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03); /* 8N1 */
	outb(COM1 + 2, 0xc7); /* FIFO on, cleared */
	outb(COM1 + 4, 0x03); /* DTR, RTS */
	rt_puts("\n");	      /* firmware may have left a partial line */
}

void rt_console_attach(const char *prefix)
{
	log_prefix = prefix;
}

void rt_putc(char c)
{
	for (int spins = 0; spins < 100000 && !(inb(COM1 + 5) & 0x20); spins++)
		cpu_relax();
	outb(COM1, (uint8_t)c);
}

void rt_puts(const char *s)
{
	for (; *s; s++) {
		if (*s == '\n')
			rt_putc('\r');
		rt_putc(*s);
	}
}

static void lock(void)
{
	while (__atomic_exchange_n(&console_lock, 1, __ATOMIC_ACQUIRE))
		cpu_relax();
}

static void unlock(void)
{
	__atomic_store_n(&console_lock, 0, __ATOMIC_RELEASE);
}

void rt_vlog(const char *fmt, va_list ap)
{
	char line[320];
	uint64_t us = rt_tsc_to_us(rdtsc());
	int n = rt_snprintf(line, sizeof(line), "[%s %5lu.%06lu] ", log_prefix,
			    (unsigned long)(us / 1000000), (unsigned long)(us % 1000000));
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	rt_vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	lock();
	rt_puts(line);
	rt_puts("\n");
	unlock();
}

void rt_log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	rt_vlog(fmt, ap);
	va_end(ap);
}

_Noreturn void rt_halt(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

_Noreturn void rt_panic(const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	rt_vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rt_log("PANIC: %s; halting", msg);
	rt_halt();
}
