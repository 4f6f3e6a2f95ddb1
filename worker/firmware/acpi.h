/* SPDX-License-Identifier: MIT */
/*
 * The guest's ACPI tables (ACPI 6.x, section 5.2): RSDP -> XSDT -> FADT (hardware-reduced,
 * no 8042, no VGA) -> DSDT, and a MADT with one local APIC per VP and the IO-APIC. The
 * DSDT holds the VMBus device (_HID "VMBUS"): Linux 6.1 finds VMBus only through it, and
 * \_S5 with the FADT's sleep control/status registers (I/O ports below), so the guest's
 * power off (S5) reaches the worker as a port write.
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

/* Hardware-reduced sleep registers (FADT SLEEP_CONTROL_REG / SLEEP_STATUS_REG, one byte
 * each): writing SLP_EN with SLP_TYP = ACPI_S5_SLP_TYP to the control port powers off. */
#define ACPI_SLEEP_CONTROL_PORT 0x600u
#define ACPI_SLEEP_STATUS_PORT 0x601u
#define ACPI_SLEEP_SLP_EN 0x20u
#define ACPI_SLEEP_SLP_TYP(v) (((v) >> 2) & 7u)
#define ACPI_S5_SLP_TYP 5u

/* Builds the tables for a partition of vcpu_count VPs into buf (which will be placed at
 * guest physical base), RSDP first. Returns the bytes used, or -ENOSPC. */
int acpi_build(uint8_t *buf, size_t size, uint64_t base, uint32_t vcpu_count);

/* Sum of bytes mod 256 (0 for a correctly checksummed table). */
uint8_t acpi_checksum(const void *p, size_t n);

#endif
