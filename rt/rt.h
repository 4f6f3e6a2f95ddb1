/* SPDX-License-Identifier: MIT */
/*
 * rt: the freestanding runtime linked into the boot shim and the sidecar.
 * Serial console (COM1), formatted output, panic, TSC time, fw_cfg, IDT with
 * fatal exception reports, local APIC and the stack-protector word.
 * Single image, identity-mapped low 4 GiB, no allocation.
 */
#ifndef MHCL_RT_RT_H
#define MHCL_RT_RT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- formatted output (format.c; also builds hosted) ---- */

/* printf subset: %d %i %u %x %X %p %s %c %% with l/ll/z, width, '0' and '-'. */
int rt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int rt_snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- console (serial.c) ---- */

/* Programs COM1 and names the image in every line ("shim"); prefix is borrowed. */
void rt_console_init(const char *prefix);
/* Names the image without touching the UART (another image already set it up). */
void rt_console_attach(const char *prefix);
void rt_putc(char c);
void rt_puts(const char *s);
/* One line, prefixed "[<prefix> <seconds since TSC 0>] ", serialized across CPUs. */
void rt_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void rt_vlog(const char *fmt, va_list ap);
_Noreturn void rt_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void rt_halt(void);

/* ---- time (time.c) ---- */

/* Measures the TSC against PIT channel 2; returns kHz (0 if the PIT did not tick). */
uint64_t rt_tsc_calibrate(void);
uint64_t rt_tsc_khz(void);
/* Sets the rate without measuring (a sidecar CPU takes the shim's). */
void rt_tsc_set_khz(uint64_t khz);
uint64_t rt_tsc_to_us(uint64_t tsc);
void rt_udelay(uint64_t us);

/* ---- fw_cfg (fwcfg.c) ---- */

bool rt_fwcfg_present(void);
/* Looks a file up in the fw_cfg directory; 0, -ENOENT or -ENODEV. */
int rt_fwcfg_find(const char *name, uint16_t *ret_select, uint32_t *ret_size);
/* Copies exactly len bytes of item select into buf. */
void rt_fwcfg_read(uint16_t select, void *buf, uint32_t len);

/* ---- interrupts (idt.c, x86_64/isr.S) ---- */

struct rt_regs {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};

typedef void (*rt_irq_fn)(struct rt_regs *regs);

/* Fills the IDT: exceptions 0-31 report and halt; others are spurious. */
void rt_idt_init(void);
/* Loads the (already filled) IDT on this CPU. */
void rt_idt_load(void);
/* Routes vector (32..255) to fn; fn runs with interrupts off and must EOI itself. */
void rt_idt_set_handler(uint8_t vector, rt_irq_fn fn);

/* ---- local APIC, xAPIC MMIO (lapic.c) ---- */

#define RT_LAPIC_BASE 0xfee00000ull
uint32_t rt_lapic_id(void);
void rt_lapic_enable(uint8_t spurious_vector);
void rt_lapic_disable(void);
void rt_lapic_eoi(void);
void rt_lapic_send_fixed(uint32_t apic_id, uint8_t vector);
void rt_lapic_send_init(uint32_t apic_id);
void rt_lapic_send_sipi(uint32_t apic_id, uint8_t page);

/* ---- descriptor tables and page tables shared by both images (x86_64/tables.S) ---- */

#define RT_SEL_CODE64 0x10
#define RT_SEL_DATA 0x18
#define RT_SEL_CODE32 0x20
extern uint8_t rt_pml4[]; /* identity map of the low 4 GiB, 2 MiB pages */
void rt_gdt_load(void);

/* ---- stack protection (stack.c) ---- */

/* Points FS at tls (64 bytes) and seeds the compiler's stack-protector word in it. */
void rt_tls_init(uint64_t *tls, uint64_t seed);
/* The word at the bottom of a stack; checked by rt_stack_check. */
void rt_stack_guard_set(uint64_t *bottom);
void rt_stack_check(const uint64_t *bottom);

/* ---- atomics ---- */

#define RT_LOAD_ACQUIRE(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define RT_STORE_RELEASE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

#define RT_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define RT_ALIGN_UP(x, a) (((x) + ((a)-1)) & ~((__typeof__(x))(a)-1))
#define RT_ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a)-1))

#endif
