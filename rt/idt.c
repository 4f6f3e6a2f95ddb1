/* SPDX-License-Identifier: MIT */
/* IDT: every exception prints vector, error code and registers on COM1, then halts. */
#include "rt.h"
#include "x86.h"

struct idt_gate {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type;
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t zero;
};
_Static_assert(sizeof(struct idt_gate) == 16, "IDT gate is 16 bytes");

extern const uint8_t rt_isr_stubs[];
void rt_isr_dispatch(struct rt_regs *r);

static struct idt_gate idt[256] __attribute__((aligned(16)));
static rt_irq_fn handlers[256];

static const char *const exc_names[32] = {
    "#DE divide error",
    "#DB debug",
    "NMI",
    "#BP breakpoint",
    "#OF overflow",
    "#BR bound range",
    "#UD invalid opcode",
    "#NM device not available",
    "#DF double fault",
    "coprocessor overrun",
    "#TS invalid TSS",
    "#NP segment not present",
    "#SS stack fault",
    "#GP general protection",
    "#PF page fault",
    "reserved",
    "#MF x87 error",
    "#AC alignment check",
    "#MC machine check",
    "#XM SIMD error",
    "#VE virtualization",
    "#CP control protection",
};

void rt_idt_init(void)
{
	for (unsigned v = 0; v < 256; v++) {
		uint64_t a = (uint64_t)(uintptr_t)(rt_isr_stubs + 16 * v);
		idt[v] = (struct idt_gate){
		    .off_lo = (uint16_t)a,
		    .sel = RT_SEL_CODE64,
		    .type = 0x8e, /* present, DPL 0, 64-bit interrupt gate */
		    .off_mid = (uint16_t)(a >> 16),
		    .off_hi = (uint32_t)(a >> 32),
		};
	}
	rt_idt_load();
}

void rt_idt_load(void)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} d = {sizeof(idt) - 1, (uint64_t)(uintptr_t)idt};
	__asm__ volatile("lidt %0" : : "m"(d));
}

void rt_idt_set_handler(uint8_t vector, rt_irq_fn fn)
{
	__atomic_store_n(&handlers[vector], fn, __ATOMIC_RELEASE);
}

static _Noreturn void report(struct rt_regs *r)
{
	const char *name = r->vector < 32 && exc_names[r->vector] ? exc_names[r->vector] : "?";

	rt_log("EXCEPTION vector %lu (%s) error 0x%lx on APIC %u", (unsigned long)r->vector, name,
	       (unsigned long)r->error, rt_lapic_id());
	rt_log("  rip %016lx cs %04lx rflags %016lx rsp %016lx ss %04lx", (unsigned long)r->rip,
	       (unsigned long)r->cs, (unsigned long)r->rflags, (unsigned long)r->rsp,
	       (unsigned long)r->ss);
	rt_log("  rax %016lx rbx %016lx rcx %016lx rdx %016lx", (unsigned long)r->rax,
	       (unsigned long)r->rbx, (unsigned long)r->rcx, (unsigned long)r->rdx);
	rt_log("  rsi %016lx rdi %016lx rbp %016lx r8  %016lx", (unsigned long)r->rsi,
	       (unsigned long)r->rdi, (unsigned long)r->rbp, (unsigned long)r->r8);
	rt_log("  r9  %016lx r10 %016lx r11 %016lx r12 %016lx", (unsigned long)r->r9,
	       (unsigned long)r->r10, (unsigned long)r->r11, (unsigned long)r->r12);
	rt_log("  r13 %016lx r14 %016lx r15 %016lx", (unsigned long)r->r13, (unsigned long)r->r14,
	       (unsigned long)r->r15);
	rt_log("  cr0 %016lx cr2 %016lx cr3 %016lx cr4 %016lx", (unsigned long)read_cr0(),
	       (unsigned long)read_cr2(), (unsigned long)read_cr3(), (unsigned long)read_cr4());
	rt_log("halted");
	rt_halt();
}

void rt_isr_dispatch(struct rt_regs *r)
{
	if (r->vector == 2) {
		/* NMI (e.g. a backtrace request broadcast by Linux): note it, carry on. */
		rt_log("NMI on APIC %u at rip %016lx, ignoring", rt_lapic_id(),
		       (unsigned long)r->rip);
		return;
	}
	if (r->vector < 32)
		report(r);
	if (r->vector == 0xff)
		return; /* spurious: no EOI */
	rt_irq_fn fn = __atomic_load_n(&handlers[r->vector], __ATOMIC_ACQUIRE);
	if (fn) {
		fn(r);
		return;
	}
	rt_lapic_eoi();
}
