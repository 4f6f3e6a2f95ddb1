/* SPDX-License-Identifier: MIT */
/*
 * Boot shim configuration: everything the shim learns from outside (PVH
 * start info, the payload module, the command line, the host device tree,
 * ACPI MADT/SRAT) is parsed and validated here into plain structs. Pure C
 * over caller-supplied buffers (no hardware access) so it builds hosted for
 * unit tests and fuzzing. Functions return 0 or -errno and explain a refusal
 * in struct shim_error; they do not log.
 */
#ifndef MHCL_BOOT_CONFIG_H
#define MHCL_BOOT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmdline.h"
#include "defs/host_guest_defs.h"
#include "defs/pvh_defs.h"
#include "error.h"

#define SHIM_MAX_CPUS 256u
#define SHIM_MAX_RANGES 64u
#define SHIM_MAX_NODES 64u
#define SHIM_HOST_DT_MAX (256u * 1024u)
#define SHIM_MAX_APIC_ID 254u /* xAPIC physical destination; 255 = broadcast */

/*
 * Linux boot protocol constants the shim uses (Documentation/x86/boot.rst,
 * arch/x86/include/uapi/asm/{bootparam,e820}.h); layouts are in defs/boot_params.h.
 */
#define SHIM_E820_RAM 1u
#define SHIM_E820_RESERVED 2u
#define SHIM_E820_ACPI 3u
#define SHIM_E820_MAX 128u
#define SHIM_HDRS_MAGIC 0x53726448u /* "HdrS" at 0x202 */
#define SHIM_BOOT_FLAG 0xaa55u
#define SHIM_SETUP_HEADER_OFFSET 0x1f1u
#define SHIM_XLF_KERNEL_64 (1u << 0)
#define SHIM_XLF_ABOVE_4G (1u << 1) /* kernel, zero page, cmdline, initrd may sit anywhere */
#define SHIM_LOADER_UNDEFINED 0xffu
#define SHIM_LOADED_HIGH (1u << 0)
#define SHIM_ENTRY64_OFFSET 0x200u

struct shim_cpu {
	uint32_t apic_id;
	uint32_t node;
};

struct shim_range {
	uint64_t base;
	uint64_t size;
	uint32_t type; /* e820 type (E820_TYPE_*) */
	uint32_t node;
};

/* The VTL0 guest the host asks for (/guest in the host tree); 0, "" or false = not said.
 * init puts them in the manifest's ${GUEST_VPS}, ${GUEST_MEMORY_MIB}, ${GUEST_DATA_DISK},
 * ${GUEST_NVME} and ${GUEST_NIC_MAC}. */
struct shim_guest {
	uint32_t vps, memory_mib;
	/* The host block devices behind its data disks (a string list, data_disks_len bytes
	 * with their NULs; 0: not said). */
	char data_disks[HOST_GUEST_DISK_LIST_MAX];
	uint32_t data_disks_len, ndata_disks;
	/* The NVMe functions behind its NVMe-backed disks (a string list, as above). */
	char nvme[HOST_GUEST_NVME_LIST_MAX];
	uint32_t nvme_len, nnvme;
	/* Its NICs' MACs, 6 bytes each (nnic_macs of them; 0: not said). */
	uint8_t nic_macs[HOST_GUEST_NIC_MAC_LIST_MAX];
	uint32_t nnic_macs;
};

struct shim_topology {
	struct shim_cpu cpu[SHIM_MAX_CPUS];
	uint32_t cpu_count;
	struct shim_range mem[SHIM_MAX_RANGES]; /* VTL2 RAM, type RAM, with NUMA node */
	uint32_t mem_count;
	uint32_t node_count; /* highest node + 1 */
	bool isolated;	     /* host tree asked for isolation */
	struct shim_guest guest;
};

#define SHIM_GUEST_VPS_MAX 64
#define SHIM_GUEST_MEMORY_MIB_MIN 64
#define SHIM_GUEST_MEMORY_MIB_MAX 3072

/*
 * Validates a payload module (mod points at mod_size bytes, copied or owned
 * by the caller) and returns the items' offsets checked against mod_size.
 */
int shim_payload_parse(const void *mod, uint64_t mod_size, struct mhcl_payload_header *ret_hdr,
		       struct shim_error *err);

/*
 * Validates the host device tree (schema in boot/README.md) and fills topo
 * with its CPUs and memory. fdt is untrusted: checked with fdt_check_full
 * before any walk. -EBADMSG with err set when refused; topo may be partly
 * written then and must be discarded.
 */
int shim_host_dt_parse(const void *fdt, size_t size, struct shim_topology *topo,
		       struct shim_error *err);

/*
 * Whether a host tree asks for isolation (/chosen/mhcl,isolated): read before
 * the command line is parsed, so that isolation applies to all of it. Only a
 * structurally sound tree (header, fdt_check_full) is looked at; the request
 * counts even if the tree is refused later for its contents, since isolation
 * can only tighten what the shim accepts.
 */
bool shim_host_dt_isolated(const void *fdt, size_t size);

/*
 * Reads CPUs from an ACPI MADT (and, when srat != NULL, NUMA nodes from the
 * SRAT, both as mapped table images of the given lengths). Memory affinity
 * ranges from the SRAT go to topo->mem with their node.
 */
int shim_acpi_parse(const void *madt, size_t madt_len, const void *srat, size_t srat_len,
		    uint32_t boot_apic_id, struct shim_topology *topo, struct shim_error *err);

/*
 * Checks topology memory (from the host tree) against the firmware RAM map:
 * every range page-aligned, non-empty, inside RAM, and no two overlapping.
 * -ERANGE / -EEXIST with err set otherwise.
 */
int shim_mem_validate(const struct shim_range *mem, uint32_t count, const struct shim_range *ram,
		      uint32_t ram_count, struct shim_error *err);

/*
 * Builds the e820 map for Linux: firmware entries (ram_map, any type), with
 * RAM restricted to `allowed` when allowed_count > 0, and the `reserved`
 * ranges carved out of RAM and added as reserved. Sorted, coalesced.
 * Returns the entry count, or -E2BIG if more than max entries result.
 */
int shim_e820_build(const struct shim_range *ram_map, uint32_t ram_count,
		    const struct shim_range *allowed, uint32_t allowed_count,
		    const struct shim_range *reserved, uint32_t reserved_count,
		    struct shim_range *out, uint32_t max);

#endif
