/* SPDX-License-Identifier: MIT */
/*
 * Starting the sidecar on every non-boot CPU, driving it, and handing CPUs
 * to Linux. Protocol and layouts: include/defs/sidecar_defs.h.
 */
#include <errno.h>
#include <string.h>

#include "rt.h"
#include "shim.h"
#include "x86.h"

extern const uint8_t shim_sidecar_blob[], shim_sidecar_blob_end[];
extern const uint8_t shim_trampoline_start[], shim_trampoline_end[];
extern uint64_t shim_tramp_entry[];
extern uint32_t shim_tramp_cr3[], shim_tramp_table[], shim_tramp_count[];

struct tramp_slot {
	uint32_t apic_id;
	uint32_t start_block;
};
static struct tramp_slot tramp_table[SHIM_MAX_CPUS];

#define START_TIMEOUT_US 5000000ull
#define COMMAND_TIMEOUT_US 10000000ull

/* Address, inside the copied trampoline, of a symbol of the original. */
static void *tramp_var(const void *sym)
{
	return (void *)(uintptr_t)(SHIM_TRAMPOLINE_BASE +
				   ((const uint8_t *)sym - shim_trampoline_start));
}

static struct sidecar_control_page *ctrl_of(const struct shim_sidecar_node *n)
{
	return (struct sidecar_control_page *)(uintptr_t)n->ctrl_pa;
}

static struct sidecar_command_page *cmd_of(const struct shim_sidecar_node *n, uint32_t i)
{
	return (struct sidecar_command_page *)(uintptr_t)(n->ctrl_pa + SIDECAR_PAGE_SIZE * (1 + i));
}

static uint64_t load_sidecar_image(struct shim *s, uint64_t *ret_entry)
{
	struct sidecar_image_header h;
	size_t blob = (size_t)(shim_sidecar_blob_end - shim_sidecar_blob);

	if (blob < sizeof(h))
		rt_panic("embedded sidecar image missing");
	memcpy(&h, shim_sidecar_blob, sizeof(h));
	if (h.magic != SIDECAR_IMAGE_MAGIC || h.version != SIDECAR_VERSION ||
	    h.load_addr != SHIM_SIDECAR_BASE || h.file_size != blob || h.image_size < h.file_size ||
	    h.ap_entry < h.load_addr || h.ap_entry >= h.load_addr + h.file_size ||
	    h.load_addr + h.image_size > SHIM_SIDECAR_LIMIT)
		rt_panic("embedded sidecar image header is inconsistent");
	if (!shim_fw_is_ram(s, h.load_addr, h.image_size))
		rt_panic("sidecar load address 0x%lx is not RAM", (unsigned long)h.load_addr);
	memcpy((void *)(uintptr_t)h.load_addr, shim_sidecar_blob, h.file_size);
	memset((void *)(uintptr_t)(h.load_addr + h.file_size), 0, h.image_size - h.file_size);
	*ret_entry = h.ap_entry;
	return h.load_addr + h.image_size;
}

void shim_sidecar_start(struct shim *s)
{
	uint32_t ncpu = s->topo.cpu_count, slots = 0;

	s->owner[0] = SHIM_CPU_LINUX;
	for (uint32_t i = 1; i < ncpu; i++)
		s->owner[i] = SHIM_CPU_OFFLINE;
	if (!s->opts.sidecar || ncpu < 2) {
		rt_log("sidecar: not started (%s)",
		       s->opts.sidecar ? "single CPU" : "mhcl.sidecar=off");
		return;
	}
	if (rdmsr(X86_MSR_APIC_BASE) & (1u << 10)) {
		/* x2APIC mode: the xAPIC MMIO window the trampoline and sidecar use is gone. */
		rt_log("sidecar: not started (local APIC is in x2APIC mode)");
		return;
	}
	if (!shim_fw_is_ram(s, SHIM_TRAMPOLINE_BASE, 4096))
		rt_panic("trampoline page 0x%lx is not RAM", (unsigned long)SHIM_TRAMPOLINE_BASE);

	uint64_t entry;
	uint64_t next = load_sidecar_image(s, &entry);
	next = RT_ALIGN_UP(next, 4096ull);
	uint64_t start = SHIM_SIDECAR_BASE;

	/* One control page per NUMA node that has CPUs to park. */
	for (uint32_t node = 0; node < s->topo.node_count && node < SIDECAR_MAX_NODES; node++) {
		struct shim_sidecar_node *n = &s->nodes[s->node_count];
		n->node = node;
		n->cpu_count = 0;
		for (uint32_t i = 1; i < ncpu; i++)
			if (s->topo.cpu[i].node == node)
				n->cpu_index[n->cpu_count++] = i;
		if (!n->cpu_count)
			continue;
		if (n->cpu_count > SIDECAR_MAX_NODE_CPUS)
			rt_panic("node %u: %u cpus exceed one control page", node, n->cpu_count);
		uint64_t bytes = sidecar_node_pages(n->cpu_count) * SIDECAR_PAGE_SIZE;
		if (next + bytes > SHIM_SIDECAR_LIMIT || !shim_fw_is_ram(s, next, bytes))
			rt_panic("sidecar memory for node %u does not fit below 0x%lx", node,
				 (unsigned long)SHIM_SIDECAR_LIMIT);
		memset((void *)(uintptr_t)next, 0, bytes);
		n->ctrl_pa = next;
		n->shmem_pa = next + SIDECAR_PAGE_SIZE;
		n->shmem_size = bytes - SIDECAR_PAGE_SIZE;
		next += bytes;

		struct sidecar_control_page *c = ctrl_of(n);
		c->magic = SIDECAR_CONTROL_MAGIC;
		c->version = SIDECAR_VERSION;
		c->node_index = node;
		c->base_cpu = n->cpu_index[0];
		c->cpu_count = n->cpu_count;
		c->request_vector = SIDECAR_REQUEST_VECTOR;
		c->response_apic_id = s->boot_apic_id;
		c->response_vector = 0; /* the shim polls */
		c->command_pages = n->ctrl_pa + SIDECAR_PAGE_SIZE;

		uint64_t priv = n->ctrl_pa + SIDECAR_PAGE_SIZE * (1 + n->cpu_count);
		for (uint32_t k = 0; k < n->cpu_count; k++) {
			uint32_t ci = n->cpu_index[k];
			uint64_t base =
			    priv + (uint64_t)k * SIDECAR_PRIVATE_PAGES * SIDECAR_PAGE_SIZE;
			struct sidecar_start_block *sb =
			    (struct sidecar_start_block *)(uintptr_t)base;
			cmd_of(n, k)->cpu_index = ci;
			sb->control_page = n->ctrl_pa;
			sb->command_page = (uint64_t)(uintptr_t)cmd_of(n, k);
			sb->stack_bottom = base + SIDECAR_PAGE_SIZE;
			sb->stack_top = base + SIDECAR_PRIVATE_PAGES * SIDECAR_PAGE_SIZE;
			sb->cpu_index = ci;
			sb->node_cpu = k;
			sb->apic_id = s->topo.cpu[ci].apic_id;
			sb->node = node;
			sb->tsc_khz = rt_tsc_khz();
			rt_stack_guard_set((uint64_t *)(uintptr_t)sb->stack_bottom);
			c->cpu_status[k] = SIDECAR_CPU_STARTING;
			tramp_table[slots++] = (struct tramp_slot){sb->apic_id, (uint32_t)base};
			s->owner[ci] = SHIM_CPU_FAILED; /* until it reports IDLE */
		}
		s->node_count++;
	}
	s->sidecar_end = next;
	shim_reserve(s, start, next - start);

	/* Trampoline below 1 MiB, patched with the table, page tables and entry. */
	size_t tsize = (size_t)(shim_trampoline_end - shim_trampoline_start);
	memcpy((void *)(uintptr_t)SHIM_TRAMPOLINE_BASE, shim_trampoline_start, tsize);
	*(uint64_t *)tramp_var(shim_tramp_entry) = entry;
	*(uint32_t *)tramp_var(shim_tramp_cr3) = (uint32_t)(uintptr_t)rt_pml4;
	*(uint32_t *)tramp_var(shim_tramp_table) = (uint32_t)(uintptr_t)tramp_table;
	*(uint32_t *)tramp_var(shim_tramp_count) = slots;
	rt_log("sidecar: image at 0x%lx, %u node(s), memory [0x%lx, 0x%lx); starting %u CPUs",
	       (unsigned long)start, s->node_count, (unsigned long)start, (unsigned long)next,
	       slots);

	/* INIT, 10 ms, SIPI, 200 us, SIPI (Intel SDM 8.4.4.1); a started CPU ignores the 2nd. */
	rt_lapic_enable(0xff);
	for (uint32_t i = 0; i < slots; i++)
		rt_lapic_send_init(tramp_table[i].apic_id);
	rt_udelay(10000);
	for (uint32_t pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0; i < slots; i++)
			rt_lapic_send_sipi(tramp_table[i].apic_id,
					   (uint8_t)(SHIM_TRAMPOLINE_BASE >> 12));
		rt_udelay(200);
	}

	/* Wait until every CPU left STARTING (or time runs out). */
	uint64_t t0 = rdtsc(), limit = START_TIMEOUT_US * rt_tsc_khz() / 1000;
	uint32_t ready = 0, pending;
	do {
		pending = 0;
		for (uint32_t ni = 0; ni < s->node_count; ni++) {
			struct sidecar_control_page *c = ctrl_of(&s->nodes[ni]);
			for (uint32_t k = 0; k < s->nodes[ni].cpu_count; k++)
				if (RT_LOAD_ACQUIRE(&c->cpu_status[k]) == SIDECAR_CPU_STARTING)
					pending++;
		}
		if (pending)
			cpu_relax();
	} while (pending && rdtsc() - t0 < limit);

	for (uint32_t ni = 0; ni < s->node_count; ni++) {
		struct shim_sidecar_node *n = &s->nodes[ni];
		struct sidecar_control_page *c = ctrl_of(n);
		for (uint32_t k = 0; k < n->cpu_count; k++) {
			uint32_t ci = n->cpu_index[k];
			uint8_t st = RT_LOAD_ACQUIRE(&c->cpu_status[k]);
			if (st == SIDECAR_CPU_IDLE) {
				s->owner[ci] = SHIM_CPU_SIDECAR;
				ready++;
			} else {
				/*
				 * Put it back into wait-for-SIPI so a late arrival cannot run
				 * the trampoline page after Linux has reused it.
				 */
				rt_lapic_send_init(s->topo.cpu[ci].apic_id);
				rt_log("sidecar: CPU %u (APIC ID %u) did not start (status %u)", ci,
				       s->topo.cpu[ci].apic_id, st);
				c->cpu_status[k] = SIDECAR_CPU_FAILED;
				s->owner[ci] = SHIM_CPU_FAILED;
			}
		}
	}
	rt_log("sidecar CPUs ready: %u", ready);
}

/* Posts cmd to CPU k of node n: command page, IDLE -> RUN, IPI. */
static bool post(struct shim_sidecar_node *n, uint32_t k)
{
	uint8_t idle = SIDECAR_CPU_IDLE;
	struct sidecar_control_page *c = ctrl_of(n);

	if (!__atomic_compare_exchange_n(&c->cpu_status[k], &idle, (uint8_t)SIDECAR_CPU_RUN, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return false;
	rt_lapic_send_fixed(cmd_of(n, k)->apic_id, SIDECAR_REQUEST_VECTOR);
	return true;
}

static uint8_t wait_not(struct shim_sidecar_node *n, uint32_t k, uint8_t busy)
{
	struct sidecar_control_page *c = ctrl_of(n);
	uint64_t t0 = rdtsc(), limit = COMMAND_TIMEOUT_US * rt_tsc_khz() / 1000;
	uint8_t st;
	while ((st = RT_LOAD_ACQUIRE(&c->cpu_status[k])) == busy && rdtsc() - t0 < limit)
		cpu_relax();
	return st;
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

/*
 * Proves every parked CPU executes commands: each checksums its own slice
 * of the kernel image, all in parallel, and the boot CPU checks the results.
 */
/* STATUS to every parked CPU: each must answer with its own APIC ID. */
static void status_round(struct shim *s)
{
	uint32_t posted = 0, good = 0;

	for (uint32_t ni = 0; ni < s->node_count; ni++) {
		struct shim_sidecar_node *n = &s->nodes[ni];
		for (uint32_t c = 0; c < n->cpu_count; c++) {
			if (s->owner[n->cpu_index[c]] != SHIM_CPU_SIDECAR)
				continue;
			struct sidecar_command_page *cmd = cmd_of(n, c);
			cmd->command = SIDECAR_CMD_STATUS;
			cmd->seq++;
			if (post(n, c))
				posted++;
		}
	}
	for (uint32_t ni = 0; ni < s->node_count; ni++) {
		struct shim_sidecar_node *n = &s->nodes[ni];
		for (uint32_t c = 0; c < n->cpu_count; c++) {
			uint32_t ci = n->cpu_index[c];
			if (s->owner[ci] != SHIM_CPU_SIDECAR)
				continue;
			struct sidecar_command_page *cmd = cmd_of(n, c);
			uint8_t st = wait_not(n, c, SIDECAR_CPU_RUN);
			if (st == SIDECAR_CPU_IDLE && cmd->result == 0 &&
			    cmd->done_seq == cmd->seq && cmd->out[0] == s->topo.cpu[ci].apic_id)
				good++;
			else
				rt_log(
				    "sidecar: CPU %u status failed (status %u result %d apic %lu)",
				    ci, st, cmd->result, (unsigned long)cmd->out[0]);
		}
	}
	rt_log("sidecar status: %u/%u CPUs answered with their APIC ID", good, posted);
}

void shim_sidecar_work(struct shim *s)
{
	const struct mhcl_payload_item *k = &s->payload.item[MHCL_PAYLOAD_KERNEL];
	uint64_t slice = 64 * 1024, base = s->mod_base + k->offset;
	uint32_t posted = 0, good = 0, idx = 0;

	if (!s->node_count)
		return;
	status_round(s);
	for (uint32_t ni = 0; ni < s->node_count; ni++) {
		struct shim_sidecar_node *n = &s->nodes[ni];
		for (uint32_t c = 0; c < n->cpu_count; c++, idx++) {
			if (s->owner[n->cpu_index[c]] != SHIM_CPU_SIDECAR)
				continue;
			struct sidecar_command_page *cmd = cmd_of(n, c);
			uint64_t off = (idx * slice) % (k->size > slice ? k->size - slice : 1);
			cmd->command = SIDECAR_CMD_CHECKSUM;
			cmd->seq++;
			cmd->args[0] = base + off;
			cmd->args[1] = k->size < slice ? k->size : slice;
			if (post(n, c))
				posted++;
		}
	}
	for (uint32_t ni = 0; ni < s->node_count; ni++) {
		struct shim_sidecar_node *n = &s->nodes[ni];
		for (uint32_t c = 0; c < n->cpu_count; c++) {
			uint32_t ci = n->cpu_index[c];
			if (s->owner[ci] != SHIM_CPU_SIDECAR)
				continue;
			struct sidecar_command_page *cmd = cmd_of(n, c);
			uint8_t st = wait_not(n, c, SIDECAR_CPU_RUN);
			uint64_t want =
			    fnv1a((const uint8_t *)(uintptr_t)cmd->args[0], cmd->args[1]);
			if (st == SIDECAR_CPU_IDLE && cmd->result == 0 &&
			    cmd->done_seq == cmd->seq && cmd->out[0] == want)
				good++;
			else
				rt_log("sidecar: CPU %u work item failed (status %u result %d sum "
				       "%lx want %lx)",
				       ci, st, cmd->result, (unsigned long)cmd->out[0],
				       (unsigned long)want);
		}
	}
	/* A command the sidecar must refuse: a range past the 4 GiB it maps. */
	struct shim_sidecar_node *n0 = &s->nodes[0];
	bool refused = false;
	if (s->owner[n0->cpu_index[0]] == SHIM_CPU_SIDECAR) {
		struct sidecar_command_page *cmd = cmd_of(n0, 0);
		cmd->command = SIDECAR_CMD_CHECKSUM;
		cmd->seq++;
		cmd->args[0] = 0xfffff000ull;
		cmd->args[1] = 0x2000;
		if (post(n0, 0) && wait_not(n0, 0, SIDECAR_CPU_RUN) == SIDECAR_CPU_IDLE)
			refused = cmd->result == -EINVAL;
	}
	rt_log("sidecar work items: %u/%u checksums match; out-of-range request %s", good, posted,
	       refused ? "refused" : "NOT refused");
}

/* Hands CPUs 1 .. boot_cpus-1 from the sidecar to Linux (one-way). */
void shim_sidecar_handoff(struct shim *s)
{
	uint32_t handed = 0, parked = 0;

	for (uint32_t ni = 0; ni < s->node_count; ni++) {
		struct shim_sidecar_node *n = &s->nodes[ni];
		struct sidecar_control_page *c = ctrl_of(n);
		for (uint32_t k = 0; k < n->cpu_count; k++) {
			uint32_t ci = n->cpu_index[k];
			if (ci >= s->opts.boot_cpus || s->owner[ci] != SHIM_CPU_SIDECAR)
				continue;
			uint8_t idle = SIDECAR_CPU_IDLE;
			if (!__atomic_compare_exchange_n(&c->cpu_status[k], &idle,
							 (uint8_t)SIDECAR_CPU_REMOVE, false,
							 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
				continue;
			rt_lapic_send_fixed(s->topo.cpu[ci].apic_id, SIDECAR_REQUEST_VECTOR);
			if (wait_not(n, k, SIDECAR_CPU_REMOVE) == SIDECAR_CPU_REMOVED) {
				s->owner[ci] = SHIM_CPU_LINUX;
				handed++;
			} else {
				rt_log("sidecar: CPU %u did not leave the sidecar", ci);
			}
		}
	}
	for (uint32_t i = 1; i < s->topo.cpu_count; i++) {
		if (i < s->opts.boot_cpus && s->owner[i] != SHIM_CPU_SIDECAR)
			s->owner[i] =
			    SHIM_CPU_LINUX; /* failed or offline: Linux starts it from reset */
		if (s->owner[i] == SHIM_CPU_SIDECAR)
			parked++;
	}
	if (s->node_count)
		rt_log("sidecar CPUs handed to Linux: %u; parked in the sidecar: %u", handed,
		       parked);
}
