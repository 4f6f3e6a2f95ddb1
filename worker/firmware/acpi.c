/* SPDX-License-Identifier: MIT */
#include "acpi.h"

#include <errno.h>
#include <string.h>

#include "aml.h"

#define SDT_HEADER_SIZE 36
#define RSDP_SIZE 36
#define FADT_SIZE 276 /* revision 6 */
#define FADT_OFF_DSDT 40
#define FADT_OFF_IAPC_BOOT_ARCH 109
#define FADT_OFF_FLAGS 112
#define FADT_OFF_MINOR 131
#define FADT_OFF_X_DSDT 140
#define FADT_OFF_SLEEP_CONTROL 244 /* generic address structures, 12 bytes each */
#define FADT_OFF_SLEEP_STATUS 256
#define FADT_OFF_HYPERVISOR_ID 268
#define GAS_SYSTEM_IO 1
#define GAS_ACCESS_BYTE 1
#define FADT_FLAG_WBINVD (1u << 0)
#define FADT_FLAG_PWR_BUTTON (1u << 4) /* no fixed power button */
#define FADT_FLAG_SLP_BUTTON (1u << 5)
#define FADT_FLAG_HW_REDUCED_ACPI (1u << 20)
#define IAPC_VGA_NOT_PRESENT (1u << 2)

#define MADT_LAPIC 0
#define MADT_IOAPIC 1
#define MADT_ISO 2

struct builder {
	uint8_t *buf;
	size_t size, len;
	uint64_t base;
	int err;
};

static size_t reserve(struct builder *b, size_t n)
{
	size_t at = (b->len + 15) & ~(size_t)15;
	if (b->err || at > b->size || n > b->size - at) {
		b->err = -ENOSPC;
		return 0;
	}
	memset(b->buf + at, 0, n);
	b->len = at + n;
	return at;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

uint8_t acpi_checksum(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *b++);
	return s;
}

static void sdt_header(uint8_t *t, const char sig[4], uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	put32(t + 4, len);
	t[8] = rev;
	memcpy(t + 10, "MHCL  ", 6);
	memcpy(t + 16, "MHCLVP  ", 8);
	put32(t + 24, 1);
	memcpy(t + 28, "MHCL", 4);
	put32(t + 32, 1);
}

static void sdt_finish(uint8_t *t, uint32_t len)
{
	t[9] = 0;
	t[9] = (uint8_t)(0x100 - acpi_checksum(t, len));
}

static void dsdt_body(struct aml *out)
{
	/* _CRS: one 32-bit memory window for VMBus children, then the end tag. */
	uint8_t crs[26 + 2];
	struct aml dev, sb;

	memset(crs, 0, sizeof(crs));
	crs[0] = 0x87;             /* large item: DWord address space descriptor */
	put16(crs + 1, 23);
	crs[3] = 0;                /* memory range */
	crs[4] = 0x0c;             /* min and max fixed, positive decode */
	crs[5] = 0x01;             /* read/write, non-cacheable */
	put32(crs + 6, 0);         /* granularity */
	put32(crs + 10, ACPI_VMBUS_MMIO_BASE);
	put32(crs + 14, ACPI_VMBUS_MMIO_BASE + ACPI_VMBUS_MMIO_SIZE - 1);
	put32(crs + 18, 0);        /* translation */
	put32(crs + 22, ACPI_VMBUS_MMIO_SIZE);
	crs[26] = 0x79;            /* end tag; checksum 0 = not checked */
	crs[27] = 0;

	aml_init(&dev);
	aml_name(&dev, "_HID");
	aml_string(&dev, "VMBUS");
	aml_name(&dev, "_UID");
	aml_integer(&dev, 0);
	aml_name(&dev, "_DDN");
	aml_string(&dev, "VMBUS");
	aml_name(&dev, "_CRS");
	aml_buffer(&dev, crs, sizeof(crs));

	/* COM1: without it a hardware-reduced platform has no mapping for ISA IRQ 4 (there
	 * is no legacy PIC), and the serial driver cannot get its interrupt. */
	const uint8_t com1_crs[] = {
		0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08, /* IO(Decode16, 0x3f8, 0x3f8, 1, 8) */
		0x22, 0x10, 0x00,                               /* IRQNoFlags() {4} */
		0x79, 0x00,                                     /* end tag */
	};
	struct aml com1;
	aml_init(&com1);
	aml_name(&com1, "_HID");
	aml_eisaid(&com1, "PNP0501");
	aml_name(&com1, "_UID");
	aml_integer(&com1, 1);
	aml_name(&com1, "_CRS");
	aml_buffer(&com1, com1_crs, sizeof(com1_crs));

	/* The CMOS RTC, for the same reason (ISA IRQ 8). */
	const uint8_t rtc_crs[] = {
		0x47, 0x01, 0x70, 0x00, 0x70, 0x00, 0x01, 0x02, /* IO(Decode16, 0x70, 0x70, 1, 2) */
		0x22, 0x00, 0x01,                               /* IRQNoFlags() {8} */
		0x79, 0x00,
	};
	struct aml rtc;
	aml_init(&rtc);
	aml_name(&rtc, "_HID");
	aml_eisaid(&rtc, "PNP0B00");
	aml_name(&rtc, "_CRS");
	aml_buffer(&rtc, rtc_crs, sizeof(rtc_crs));

	/* \_S5: sleep type 5 (the value written to the sleep control register); the second
	 * element is unused on hardware-reduced platforms. */
	static const uint8_t s5_pkg[] = {0x12, 0x06, 0x02, 0x0a, ACPI_S5_SLP_TYP, 0x0a, 0x00};
	aml_name(out, "_S5_");
	aml_bytes(out, s5_pkg, sizeof(s5_pkg));

	aml_init(&sb);
	aml_device(&sb, "COM1", &com1);
	aml_device(&sb, "RTC_", &rtc);
	aml_device(&sb, "VMBS", &dev);
	aml_scope(out, "\\_SB_", &sb);
}

int acpi_build(uint8_t *buf, size_t size, uint64_t base, uint32_t vcpu_count)
{
	struct builder b = {.buf = buf, .size = size, .base = base};
	struct aml body;
	size_t rsdp, xsdt, fadt, dsdt, madt;
	uint32_t dsdt_len, madt_len, xsdt_len;
	uint8_t *t;

	if (vcpu_count == 0 || vcpu_count > 255)
		return -EINVAL;
	aml_init(&body);
	dsdt_body(&body);
	if (body.overflow)
		return -ENOSPC;

	rsdp = reserve(&b, RSDP_SIZE);
	xsdt_len = SDT_HEADER_SIZE + 2 * 8;
	xsdt = reserve(&b, xsdt_len);
	fadt = reserve(&b, FADT_SIZE);
	dsdt_len = (uint32_t)(SDT_HEADER_SIZE + body.len);
	dsdt = reserve(&b, dsdt_len);
	madt_len = SDT_HEADER_SIZE + 8 + 8 * vcpu_count + 12 + 10;
	madt = reserve(&b, madt_len);
	if (b.err)
		return b.err;

	/* DSDT */
	t = buf + dsdt;
	sdt_header(t, "DSDT", dsdt_len, 2);
	memcpy(t + SDT_HEADER_SIZE, body.b, body.len);
	sdt_finish(t, dsdt_len);

	/* FADT: hardware-reduced ACPI, so no PM blocks, SCI or FACS. */
	t = buf + fadt;
	sdt_header(t, "FACP", FADT_SIZE, 6);
	put32(t + FADT_OFF_DSDT, (uint32_t)(base + dsdt));
	put16(t + FADT_OFF_IAPC_BOOT_ARCH, IAPC_VGA_NOT_PRESENT);
	put32(t + FADT_OFF_FLAGS, FADT_FLAG_WBINVD | FADT_FLAG_PWR_BUTTON | FADT_FLAG_SLP_BUTTON |
					 FADT_FLAG_HW_REDUCED_ACPI);
	t[FADT_OFF_MINOR] = 3;
	for (int i = 0; i < 2; i++) {
		uint8_t *gas = t + (i ? FADT_OFF_SLEEP_STATUS : FADT_OFF_SLEEP_CONTROL);
		gas[0] = GAS_SYSTEM_IO;
		gas[1] = 8; /* bit width */
		gas[2] = 0; /* bit offset */
		gas[3] = GAS_ACCESS_BYTE;
		put64(gas + 4, i ? ACPI_SLEEP_STATUS_PORT : ACPI_SLEEP_CONTROL_PORT);
	}
	put64(t + FADT_OFF_X_DSDT, base + dsdt);
	sdt_finish(t, FADT_SIZE);

	/* MADT: local APIC address, flags 0 (no legacy PIC in use), one LAPIC per VP with
	 * APIC id = VP index, the IO-APIC at GSI 0, and ISA IRQ0 -> GSI 2. */
	t = buf + madt;
	sdt_header(t, "APIC", madt_len, 4);
	put32(t + 36, ACPI_LAPIC_GPA);
	put32(t + 40, 0);
	uint8_t *e = t + 44;
	for (uint32_t i = 0; i < vcpu_count; i++, e += 8) {
		e[0] = MADT_LAPIC;
		e[1] = 8;
		e[2] = (uint8_t)i;
		e[3] = (uint8_t)i;
		put32(e + 4, 1);
	}
	e[0] = MADT_IOAPIC;
	e[1] = 12;
	e[2] = 0;
	put32(e + 4, ACPI_IOAPIC_GPA);
	put32(e + 8, 0);
	e += 12;
	e[0] = MADT_ISO;
	e[1] = 10;
	e[2] = 0;
	e[3] = 0;
	put32(e + 4, 2);
	put16(e + 8, 0);
	sdt_finish(t, madt_len);

	/* XSDT */
	t = buf + xsdt;
	sdt_header(t, "XSDT", xsdt_len, 1);
	put64(t + SDT_HEADER_SIZE, base + fadt);
	put64(t + SDT_HEADER_SIZE + 8, base + madt);
	sdt_finish(t, xsdt_len);

	/* RSDP (revision 2): the first 20 bytes have their own checksum, all 36 another. */
	t = buf + rsdp;
	memcpy(t, "RSD PTR ", 8);
	memcpy(t + 9, "MHCL  ", 6);
	t[15] = 2;
	put32(t + 16, 0);
	put32(t + 20, RSDP_SIZE);
	put64(t + 24, base + xsdt);
	t[8] = (uint8_t)(0x100 - acpi_checksum(t, 20));
	t[32] = (uint8_t)(0x100 - acpi_checksum(t, RSDP_SIZE));
	return (int)b.len;
}
