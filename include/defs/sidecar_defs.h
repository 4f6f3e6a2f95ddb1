/* SPDX-License-Identifier: MIT */
/*
 * Sidecar: the small kernel parked on every secondary CPU while Linux boots on
 * the boot CPU. Shared layouts only (boot shim, sidecar, and whatever later
 * drives the sidecar from Linux); no code.
 *
 * Memory per NUMA node (allocated by the shim, reserved in e820, published in
 * the device tree as sidecar@<ctrl> with reg = <ctrl 4096 shmem shmem_size>):
 *
 *   page 0                      struct sidecar_control_page
 *   pages 1 .. cpu_count        struct sidecar_command_page, one per CPU
 *   then, per CPU               SIDECAR_PRIVATE_PAGES private pages (start block + stack)
 *
 * Ownership protocol for cpu_status[i] (a byte in the control page):
 *   requester: writes the CPU's command page, then IDLE -> RUN (compare-and-swap),
 *              then sends a fixed IPI with request_vector to the CPU's APIC ID.
 *   sidecar:   on RUN executes the command, writes result/out, then stores IDLE
 *              (release: the command page writes are visible before IDLE), sets
 *              needs_attention and, if response_vector != 0, IPIs response_apic_id.
 *   hand-off:  requester IDLE -> REMOVE + IPI; the sidecar stores REMOVED and parks
 *              with interrupts off; the CPU then belongs to Linux (INIT-SIPI-SIPI).
 *              One-way: a REMOVED CPU never reads its pages again.
 * The shim sets STARTING before it sends INIT-SIPI-SIPI; the sidecar stores IDLE
 * once its dispatch loop runs. A CPU that never arrives stays STARTING and the
 * shim marks it FAILED.
 */
#ifndef MHCL_DEFS_SIDECAR_DEFS_H
#define MHCL_DEFS_SIDECAR_DEFS_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#define SIDECAR_PAGE_SIZE 4096u
#define SIDECAR_MAX_NODES 64u
#define SIDECAR_CONTROL_MAGIC 0x52434453u /* "SDCR" */
#define SIDECAR_IMAGE_MAGIC 0x47414d49u	  /* "IMAG" */
#define SIDECAR_VERSION 1u
#define SIDECAR_PRIVATE_PAGES 4u /* start block page + 3 stack pages */
#define SIDECAR_REQUEST_VECTOR 0xf0u

enum sidecar_cpu_status {
	SIDECAR_CPU_REMOVED = 0,  /* owned by Linux (or never in the sidecar) */
	SIDECAR_CPU_STARTING = 1, /* INIT-SIPI-SIPI sent, not yet in the loop */
	SIDECAR_CPU_IDLE = 2,	  /* waiting for a command */
	SIDECAR_CPU_RUN = 3,	  /* executing its command page */
	SIDECAR_CPU_REMOVE = 4,	  /* asked to hand the CPU to Linux */
	SIDECAR_CPU_FAILED = 5,	  /* did not start, or hit a fatal error */
	SIDECAR_CPU_STATUS_MAX,
};

enum sidecar_command {
	SIDECAR_CMD_NONE = 0,
	SIDECAR_CMD_STATUS = 1,	  /* out[0] = APIC ID, out[1] = commands served, out[2] = TSC */
	SIDECAR_CMD_CHECKSUM = 2, /* args[0] = phys addr, args[1] = length; out[0] = FNV-1a 64 */
	SIDECAR_CMD_MAX,
};

/* Largest range one CHECKSUM may cover; the sidecar maps the low 4 GiB only. */
#define SIDECAR_CHECKSUM_LIMIT (1ull << 32)

#define SIDECAR_CONTROL_HEADER 64u
#define SIDECAR_MAX_NODE_CPUS (SIDECAR_PAGE_SIZE - SIDECAR_CONTROL_HEADER)

struct sidecar_control_page {
	uint32_t magic;		   /* SIDECAR_CONTROL_MAGIC */
	uint32_t version;	   /* SIDECAR_VERSION */
	uint32_t node_index;	   /* NUMA node this page serves */
	uint32_t base_cpu;	   /* index (boot CPU = 0) of cpu_status[0] */
	uint32_t cpu_count;	   /* valid cpu_status entries */
	uint32_t request_vector;   /* vector the sidecar CPUs take requests on */
	uint32_t response_apic_id; /* who to tell when a command completes */
	uint32_t response_vector;  /* 0: requester polls */
	uint32_t needs_attention;  /* set by the sidecar, cleared by the requester */
	uint32_t reserved0;
	uint64_t command_pages; /* phys addr of cpu_count command pages */
	uint8_t reserved[16];
	uint8_t cpu_status[SIDECAR_MAX_NODE_CPUS]; /* enum sidecar_cpu_status */
};
static_assert(sizeof(struct sidecar_control_page) == SIDECAR_PAGE_SIZE, "control page is one page");
static_assert(offsetof(struct sidecar_control_page, command_pages) == 40, "command_pages");
static_assert(offsetof(struct sidecar_control_page, cpu_status) == SIDECAR_CONTROL_HEADER,
	      "cpu_status after the header");

struct sidecar_command_page {
	uint32_t command;   /* enum sidecar_command, written by the requester */
	uint32_t seq;	    /* requester's sequence number */
	int32_t result;	    /* 0 or -errno, written by the sidecar */
	uint32_t done_seq;  /* seq of the last completed command */
	uint32_t apic_id;   /* written by the sidecar when it starts */
	uint32_t cpu_index; /* written by the shim */
	uint64_t args[4];
	uint64_t out[4];
	uint64_t served; /* commands executed so far */
	uint8_t reserved[SIDECAR_PAGE_SIZE - 96];
};
static_assert(sizeof(struct sidecar_command_page) == SIDECAR_PAGE_SIZE, "command page is one page");
static_assert(offsetof(struct sidecar_command_page, args) == 24, "args");
static_assert(offsetof(struct sidecar_command_page, out) == 56, "out");
static_assert(offsetof(struct sidecar_command_page, served) == 88, "served");

/* First private page of each CPU: written by the shim, read by that CPU on entry. */
struct sidecar_start_block {
	uint64_t control_page; /* phys addr of the node's control page */
	uint64_t command_page; /* phys addr of this CPU's command page */
	uint64_t stack_top;    /* 16-byte aligned */
	uint64_t stack_bottom; /* lowest word: the runtime's stack guard */
	uint32_t cpu_index;    /* global index (boot CPU = 0) */
	uint32_t node_cpu;     /* index into the control page's cpu_status */
	uint32_t apic_id;      /* expected APIC ID */
	uint32_t node;
	uint64_t tsc_khz; /* the shim's calibration, for timestamps */
	uint64_t tls[8];  /* thread-pointer block (stack-protector word at 0x28) */
};
static_assert(offsetof(struct sidecar_start_block, tsc_khz) == 48, "tsc_khz");
static_assert(offsetof(struct sidecar_start_block, tls) == 56, "tls");

/*
 * The sidecar image (sidecar.bin) starts with this header. It is linked to run
 * at load_addr; the shim copies file_size bytes there and zeroes up to image_size.
 */
struct sidecar_image_header {
	uint32_t magic;	  /* SIDECAR_IMAGE_MAGIC */
	uint32_t version; /* SIDECAR_VERSION */
	uint64_t load_addr;
	uint64_t file_size;
	uint64_t image_size; /* including .bss */
	uint64_t ap_entry;   /* 64-bit entry, RDI = struct sidecar_start_block * */
};
static_assert(sizeof(struct sidecar_image_header) == 40, "sidecar image header");

static inline uint64_t sidecar_node_pages(uint32_t cpu_count)
{
	return 1 + (uint64_t)cpu_count * (1 + SIDECAR_PRIVATE_PAGES);
}

#endif
