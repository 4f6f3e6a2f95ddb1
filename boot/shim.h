/* SPDX-License-Identifier: MIT */
/* Boot shim internals shared by main.c, smp.c, dt.c and linux.c. */
#ifndef MHCL_BOOT_SHIM_H
#define MHCL_BOOT_SHIM_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "defs/boot_params.h"
#include "defs/sidecar_defs.h"

#define SHIM_TRAMPOLINE_BASE 0x8000ull	/* SIPI page 0x08; see x86_64/trampoline.S */
#define SHIM_SIDECAR_BASE 0x800000ull	/* sidecar.ld links the sidecar here */
#define SHIM_SIDECAR_LIMIT 0x1000000ull /* sidecar image + node memory stay below 16 MiB */
#define SHIM_MAX_RESERVED 16u
#define SHIM_E820_NVS 4u
#define SHIM_SETUP_DTB 2u /* setup_data type: flattened device tree */

/* Linux setup_data (bootparam.h): a list of extra boot data, next == 0 ends it. */
struct shim_setup_data {
	uint64_t next;
	uint32_t type;
	uint32_t len;
	uint8_t data[];
};

enum shim_cpu_owner {
	SHIM_CPU_LINUX,	  /* the boot CPU, or handed over by the sidecar */
	SHIM_CPU_SIDECAR, /* parked in the sidecar dispatch loop */
	SHIM_CPU_FAILED,  /* did not start: Linux may still start it itself */
	SHIM_CPU_OFFLINE, /* sidecar disabled: waits in reset for Linux */
};

struct shim_sidecar_node {
	uint32_t node;
	uint64_t ctrl_pa;  /* control page */
	uint64_t shmem_pa; /* command pages and private pages */
	uint64_t shmem_size;
	uint32_t cpu_count;
	uint32_t cpu_index[SHIM_MAX_CPUS]; /* global indices, in cpu_status order */
};

struct shim {
	bool igvm;		  /* entered through igvm_entry (defs/mhcl_igvm.h) */
	struct hvm_start_info si; /* PVH entry only */
	/* Where the loader left its command line and device tree, both validated bounds. */
	uint64_t host_cmdline_pa;
	uint32_t host_cmdline_max; /* bytes the string may take, its NUL included */
	uint64_t host_dt_pa;	   /* IGVM entry: the device tree area; 0: fw_cfg */
	uint32_t host_dt_max;
	/* The host tree, copied into private memory before the command line is parsed. */
	enum { SHIM_HOST_DT_NONE, SHIM_HOST_DT_COPIED, SHIM_HOST_DT_REJECTED } host_dt;
	uint32_t host_dt_size;
	struct shim_error host_dt_err; /* why, when REJECTED before parsing */
	struct shim_range fw_map[SHIM_MAX_RANGES];
	uint32_t fw_count;

	uint64_t mod_base, mod_size;
	struct mhcl_payload_header payload;

	struct shim_options opts;
	char cmdline[SHIM_MAX_CMDLINE]; /* what Linux gets */

	struct shim_topology topo;
	const char *topo_source;
	bool host_mem; /* topo.mem restricts Linux's RAM */
	uint64_t rsdp;
	uint32_t boot_apic_id;

	enum shim_cpu_owner owner[SHIM_MAX_CPUS];
	struct shim_sidecar_node nodes[SIDECAR_MAX_NODES];
	uint32_t node_count;
	uint64_t sidecar_end; /* end of sidecar image + node memory */

	struct shim_range reserved[SHIM_MAX_RESERVED];
	uint32_t reserved_count;

	uint64_t kernel_load; /* where the protected-mode kernel went */

	uint8_t *dtb; /* device tree for Linux, in setup_data */
	uint32_t dtb_size;
};

void shim_reserve(struct shim *s, uint64_t base, uint64_t size);
bool shim_fw_is_ram(const struct shim *s, uint64_t base, uint64_t size);

/* smp.c */
void shim_sidecar_start(struct shim *s);
void shim_sidecar_work(struct shim *s);
void shim_sidecar_handoff(struct shim *s);

/* dt.c: builds s->dtb (inside setup_data) for Linux. */
void shim_dt_build(struct shim *s, struct shim_setup_data *sd, uint32_t room, const char *bootargs);

/* linux.c */
void shim_linux_load(struct shim *s);
_Noreturn void shim_linux_boot(struct shim *s);

#endif
