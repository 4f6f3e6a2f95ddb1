/* SPDX-License-Identifier: MIT */
/*
 * IGVM loader: places an IGVM file (include/defs/igvm_defs.h) into guest RAM the way a host
 * loads a paravisor image, and returns VP 0's starting registers.
 *
 * The file is untrusted: it is validated whole by the reader mhcl-image uses
 * (lib/igvm/igvm.h, igvm_parse) before anything is placed, then every directive
 * is checked against the partition (RAM bounds, the platform range below 1 MiB, register
 * names the backend can set). The loader picks the first VSM-isolation or native platform
 * the file declares and follows only the directives whose compatibility mask names it:
 *   PAGE_DATA          copied (or zeroed) into RAM; NORMAL pages only, never into
 *                      [IGVM_LOAD_PLATFORM_LO, 1 MiB) where the ACPI tables live
 *   PARAMETER_AREA +   the area's initial contents (file or zeroes) with each parameter
 *   parameters +       written at its byte offset, placed at the insert's address:
 *   PARAMETER_INSERT     COMMAND_LINE   the --cmdline string, NUL-terminated
 *                        MEMORY_MAP     the partition's RAM (igvm_vhs_memory_map_entry[]:
 *                                       low RAM, the platform range reserved, RAM from 1 MiB)
 *                        VP_COUNT       the VP count (u32)
 *                        DEVICE_TREE    a host device tree (boot/README.md): compatible
 *                                       "mhcl,host-v1", one cpu per VP (APIC ID = VP
 *                                       index, node 0), no memory node
 *                      other parameter types are refused (not provided by this loader)
 *   REQUIRED_MEMORY    must lie inside RAM (else: raise --mem)
 *   VP_CONTEXT         VP 0 only (VSM: the registers of the platform's highest VTL, which
 *                      this partition runs as its only VTL)
 *   VBS_MEASUREMENT, ERROR_RANGE, GUEST_POLICY, RELOCATABLE_REGION,
 *   PAGE_TABLE_RELOCATION_REGION, ignorable unknown types: nothing to do (the image loads
 *                      at its default addresses; nothing is measured here)
 */
#ifndef MHCL_WORKER_IGVM_LOAD_H
#define MHCL_WORKER_IGVM_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "guestmem.h"

#define IGVM_LOAD_PLATFORM_LO 0x9f000ull /* [this, 1 MiB): reserved, ACPI tables */

struct igvm_load_params {
	const char *cmdline; /* COMMAND_LINE parameter */
	uint32_t vp_count;   /* VP_COUNT parameter */
};

struct igvm_load_result {
	struct x86_boot_state boot; /* VP 0 */
	uint32_t pages, zero_pages, inserts, params;
};

/* Loads file (borrowed) into ram. Returns 0, or -EBADMSG (malformed file), -ENOTSUP
 * (something this loader does not do), -E2BIG (does not fit in RAM), -ENOMEM, with a
 * message in err. Guest RAM may be partly written on failure. */
int igvm_load(const struct guestmem *ram, const uint8_t *file, size_t len,
	      const struct igvm_load_params *params, struct igvm_load_result *ret, char *err,
	      size_t errlen);

#endif
