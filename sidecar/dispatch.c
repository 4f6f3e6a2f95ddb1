/* SPDX-License-Identifier: MIT */
/*
 * Sidecar dispatch loop. Each secondary CPU waits, halted, on its status byte
 * in the node's control page; a request is a command page plus IDLE -> RUN
 * and a fixed IPI (protocol in sidecar_defs.h). Command pages are shared with
 * the requester, so every field is read once into a local and validated there.
 */
#include <errno.h>
#include <stdint.h>

#include "defs/sidecar_defs.h"
#include "rt.h"
#include "x86.h"

void sidecar_main(struct sidecar_start_block *sb);

enum { IDT_NONE, IDT_BUSY, IDT_READY };
static uint32_t idt_state;

/*
 * Poll tick. A requester in Linux user space (mhcl-sidecard, through
 * /dev/mem) cannot send the request IPI, so every parked CPU also wakes on a
 * periodic local APIC timer and re-reads its status byte: such a request is
 * picked up within one period. The shim and any kernel requester still IPI.
 */
#define POLL_VECTOR 0xefu
#define POLL_PERIOD_US 10000u
#define LAPIC_LVT_TIMER 0x320u
#define LAPIC_TIMER_INIT 0x380u
#define LAPIC_TIMER_CUR 0x390u
#define LAPIC_TIMER_DIV 0x3e0u
#define LVT_MASKED (1u << 16)
#define LVT_PERIODIC (1u << 17)
static uint32_t poll_ticks; /* timer counts per POLL_PERIOD_US, set once */

static void on_request(struct rt_regs *regs)
{
	(void)regs;
	rt_lapic_eoi();
}

/* Counts of the local APIC timer (divide by 16) in one poll period, measured
 * against the calibrated TSC. Runs once, on the first CPU to arrive. */
static uint32_t poll_calibrate(void)
{
	mmio_write32(RT_LAPIC_BASE + LAPIC_TIMER_DIV, 0x3); /* divide by 16 */
	mmio_write32(RT_LAPIC_BASE + LAPIC_LVT_TIMER, LVT_MASKED | POLL_VECTOR);
	mmio_write32(RT_LAPIC_BASE + LAPIC_TIMER_INIT, 0xffffffffu);
	rt_udelay(1000);
	uint32_t per_ms = 0xffffffffu - mmio_read32(RT_LAPIC_BASE + LAPIC_TIMER_CUR);
	mmio_write32(RT_LAPIC_BASE + LAPIC_TIMER_INIT, 0);
	uint64_t t = (uint64_t)per_ms * (POLL_PERIOD_US / 1000u);
	return t == 0 ? 1u : t > 0xffffffffu ? 0xffffffffu : (uint32_t)t;
}

static void poll_start(void)
{
	mmio_write32(RT_LAPIC_BASE + LAPIC_TIMER_DIV, 0x3);
	mmio_write32(RT_LAPIC_BASE + LAPIC_LVT_TIMER, LVT_PERIODIC | POLL_VECTOR);
	mmio_write32(RT_LAPIC_BASE + LAPIC_TIMER_INIT, poll_ticks);
}

static void poll_stop(void)
{
	mmio_write32(RT_LAPIC_BASE + LAPIC_LVT_TIMER, LVT_MASKED | POLL_VECTOR);
	mmio_write32(RT_LAPIC_BASE + LAPIC_TIMER_INIT, 0);
}

static uint64_t fnv1a(const uint8_t *p, uint64_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (uint64_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

struct cpu {
	struct sidecar_control_page *ctrl;
	struct sidecar_command_page *cmd;
	uint8_t *status;
	const uint64_t *stack_bottom;
	uint32_t apic_id;
};

static void run_command(struct cpu *c)
{
	struct sidecar_command_page *cmd = c->cmd;
	uint32_t op = __atomic_load_n(&cmd->command, __ATOMIC_RELAXED);
	uint32_t seq = __atomic_load_n(&cmd->seq, __ATOMIC_RELAXED);
	uint64_t a0 = __atomic_load_n(&cmd->args[0], __ATOMIC_RELAXED);
	uint64_t a1 = __atomic_load_n(&cmd->args[1], __ATOMIC_RELAXED);
	int32_t result = 0;

	switch (op) {
	case SIDECAR_CMD_STATUS:
		cmd->out[0] = c->apic_id;
		cmd->out[1] = cmd->served;
		cmd->out[2] = rdtsc();
		break;
	case SIDECAR_CMD_CHECKSUM:
		/* The range must lie inside the identity-mapped low 4 GiB. */
		if (a1 > SIDECAR_CHECKSUM_LIMIT || a0 > SIDECAR_CHECKSUM_LIMIT - a1) {
			result = -EINVAL;
			break;
		}
		cmd->out[0] = fnv1a((const uint8_t *)(uintptr_t)a0, a1);
		cmd->out[1] = a1;
		break;
	default:
		result = -EOPNOTSUPP;
		break;
	}
	cmd->result = result;
	cmd->done_seq = seq;
	cmd->served++;
}

static void raise_attention(struct cpu *c)
{
	uint32_t vector = __atomic_load_n(&c->ctrl->response_vector, __ATOMIC_RELAXED);
	uint32_t target = __atomic_load_n(&c->ctrl->response_apic_id, __ATOMIC_RELAXED);

	__atomic_store_n(&c->ctrl->needs_attention, 1, __ATOMIC_RELEASE);
	if (vector >= 32 && vector <= 255 && target < 255)
		rt_lapic_send_fixed(target, (uint8_t)vector);
}

static _Noreturn void dispatch(struct cpu *c)
{
	for (;;) {
		irq_disable();
		uint8_t st = RT_LOAD_ACQUIRE(c->status);
		if (st == SIDECAR_CPU_RUN) {
			run_command(c);
			rt_stack_check(c->stack_bottom);
			/* Release: the command page results are visible before IDLE. */
			RT_STORE_RELEASE(c->status, (uint8_t)SIDECAR_CPU_IDLE);
			raise_attention(c);
			continue;
		}
		if (st == SIDECAR_CPU_REMOVE) {
			/* One-way hand-off: quiesce, then wait for Linux's INIT-SIPI-SIPI. */
			poll_stop();
			rt_lapic_disable();
			RT_STORE_RELEASE(c->status, (uint8_t)SIDECAR_CPU_REMOVED);
			raise_attention(c);
			rt_halt();
		}
		/* IDLE (or a value we do not own): wait for the next IPI. */
		irq_enable_and_halt();
	}
}

void sidecar_main(struct sidecar_start_block *sb)
{
	struct sidecar_start_block s = *sb;
	struct cpu c;
	uint32_t expected = IDT_NONE;

	rt_tsc_set_khz(s.tsc_khz);
	if (__atomic_compare_exchange_n(&idt_state, &expected, IDT_BUSY, false, __ATOMIC_ACQ_REL,
					__ATOMIC_ACQUIRE)) {
		rt_console_attach("sidecar"); /* the shim owns the UART setup */
		rt_idt_init();
		rt_idt_set_handler(SIDECAR_REQUEST_VECTOR, on_request);
		rt_idt_set_handler(POLL_VECTOR, on_request);
		rt_lapic_enable(0xff);
		__atomic_store_n(&poll_ticks, poll_calibrate(), __ATOMIC_RELAXED);
		__atomic_store_n(&idt_state, IDT_READY, __ATOMIC_RELEASE);
	} else {
		while (__atomic_load_n(&idt_state, __ATOMIC_ACQUIRE) != IDT_READY)
			cpu_relax();
		rt_idt_load();
	}
	rt_tls_init(sb->tls, rdtsc() ^ s.apic_id);

	c.ctrl = (struct sidecar_control_page *)(uintptr_t)s.control_page;
	c.cmd = (struct sidecar_command_page *)(uintptr_t)s.command_page;
	c.stack_bottom = (const uint64_t *)(uintptr_t)s.stack_bottom;
	if (s.node_cpu >= SIDECAR_MAX_NODE_CPUS)
		rt_panic("cpu %u: node slot %u out of range", s.cpu_index, s.node_cpu);
	c.status = &c.ctrl->cpu_status[s.node_cpu];
	rt_stack_check(c.stack_bottom);

	rt_lapic_enable(0xff);
	poll_start();
	c.apic_id = rt_lapic_id();
	if (c.apic_id != s.apic_id) {
		RT_STORE_RELEASE(c.status, (uint8_t)SIDECAR_CPU_FAILED);
		rt_panic("cpu %u: APIC ID %u, expected %u", s.cpu_index, c.apic_id, s.apic_id);
	}
	c.cmd->apic_id = c.apic_id;
	uint8_t starting = SIDECAR_CPU_STARTING;
	if (!__atomic_compare_exchange_n(c.status, &starting, (uint8_t)SIDECAR_CPU_IDLE, false,
					 __ATOMIC_RELEASE, __ATOMIC_RELAXED))
		rt_panic("cpu %u: status %u at start, expected STARTING", s.cpu_index, starting);
	dispatch(&c);
}
