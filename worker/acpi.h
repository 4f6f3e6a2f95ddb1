/* SPDX-License-Identifier: MIT */
/*
 * The guest's ACPI tables (ACPI 6.x, section 5.2): RSDP -> XSDT -> FADT (hardware-reduced,
 * no 8042, no VGA) -> DSDT, and a MADT with one local APIC per VP and the IO-APIC. The
 * DSDT holds the VMBus device (_HID "VMBUS"): Linux 6.1 finds VMBus only through it.
 */
#ifndef MHCL_WORKER_ACPI_H
#define MHCL_WORKER_ACPI_H

#include <stddef.h>
#include <stdint.h>

#define ACPI_IOAPIC_GPA 0xfec00000u
#define ACPI_LAPIC_GPA 0xfee00000u
/* The MMIO window the VMBus device offers its children (_CRS). */
#define ACPI_VMBUS_MMIO_BASE 0xf8000000u
#define ACPI_VMBUS_MMIO_SIZE 0x04000000u

/* Builds the tables for a partition of vcpu_count VPs into buf (which will be placed at
 * guest physical base), RSDP first. Returns the bytes used, or -ENOSPC. */
int acpi_build(uint8_t *buf, size_t size, uint64_t base, uint32_t vcpu_count);

/* Sum of bytes mod 256 (0 for a correctly checksummed table). */
uint8_t acpi_checksum(const void *p, size_t n);

#endif
