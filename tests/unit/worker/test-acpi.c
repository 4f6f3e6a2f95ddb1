/* SPDX-License-Identifier: MIT */
/* ACPI tables: every checksum, the pointer chain RSDP -> XSDT -> FADT -> DSDT, the MADT
 * and the VMBus device in the DSDT. */
#include <errno.h>
#include <stdbool.h>

#include "acpi.h"
#include "test.h"

#define BASE 0xe0000u

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static const uint8_t *table(const uint8_t *buf, size_t used, uint64_t gpa, const char *sig)
{
	ASSERT_GE(gpa, BASE);
	ASSERT_LT(gpa - BASE + 36, used + 1);
	const uint8_t *t = buf + (gpa - BASE);
	ASSERT_TRUE(memcmp(t, sig, 4) == 0);
	ASSERT_LE(gpa - BASE + rd32(t + 4), used);
	ASSERT_EQ(acpi_checksum(t, rd32(t + 4)), 0);
	return t;
}

static bool contains(const uint8_t *p, size_t n, const void *needle, size_t m)
{
	for (size_t i = 0; i + m <= n; i++)
		if (memcmp(p + i, needle, m) == 0)
			return true;
	return false;
}

static void test_tables(uint32_t vcpus)
{
	static uint8_t buf[0x20000];
	int used = acpi_build(buf, sizeof(buf), BASE, vcpus);
	ASSERT_GT(used, 0);

	ASSERT_TRUE(memcmp(buf, "RSD PTR ", 8) == 0);
	ASSERT_EQ(acpi_checksum(buf, 20), 0);
	ASSERT_EQ(acpi_checksum(buf, 36), 0);
	ASSERT_EQ(buf[15], 2);
	const uint8_t *xsdt = table(buf, (size_t)used, rd64(buf + 24), "XSDT");
	ASSERT_EQ(rd32(xsdt + 4), 36 + 16);
	const uint8_t *fadt = table(buf, (size_t)used, rd64(xsdt + 36), "FACP");
	const uint8_t *madt = table(buf, (size_t)used, rd64(xsdt + 44), "APIC");
	ASSERT_EQ(rd32(fadt + 112) & (1u << 20), 1u << 20); /* hardware-reduced */
	ASSERT_EQ(fadt[109] & 0x2, 0);                      /* no 8042 */
	ASSERT_EQ(rd32(fadt + 40), rd64(fadt + 140));
	const uint8_t *dsdt = table(buf, (size_t)used, rd64(fadt + 140), "DSDT");
	size_t dlen = rd32(dsdt + 4);
	ASSERT_TRUE(contains(dsdt, dlen, "\x08_HID\x0dVMBUS\0", 12));
	ASSERT_TRUE(contains(dsdt, dlen, "VMBS", 4));
	ASSERT_TRUE(contains(dsdt, dlen, "\x0c\x41\xd0\x05\x01", 5)); /* COM1 PNP0501 */
	ASSERT_TRUE(contains(dsdt, dlen, "\x0c\x41\xd0\x0b\x00", 5)); /* RTC PNP0B00 */
	/* S5: Name(_S5_, Package(2) {5, 0}) and the sleep registers as byte-wide I/O ports. */
	ASSERT_TRUE(contains(dsdt, dlen, "\x08_S5_\x12\x06\x02\x0a\x05\x0a\x00", 12));
	ASSERT_EQ(fadt[244], 1); /* SLEEP_CONTROL_REG: system I/O */
	ASSERT_EQ(fadt[245], 8);
	ASSERT_EQ(rd64(fadt + 248), ACPI_SLEEP_CONTROL_PORT);
	ASSERT_EQ(fadt[256], 1); /* SLEEP_STATUS_REG */
	ASSERT_EQ(rd64(fadt + 260), ACPI_SLEEP_STATUS_PORT);

	/* MADT: header, LAPIC address, flags, then entries. */
	size_t mlen = rd32(madt + 4), off = 44;
	uint32_t lapics = 0, ioapics = 0, isos = 0;
	ASSERT_EQ(rd32(madt + 36), ACPI_LAPIC_GPA);
	while (off < mlen) {
		uint8_t type = madt[off], len = madt[off + 1];
		ASSERT_GE(len, 2);
		ASSERT_LE(off + len, mlen);
		if (type == 0) {
			ASSERT_EQ(madt[off + 3], lapics);
			lapics++;
		} else if (type == 1) {
			ASSERT_EQ(rd32(madt + off + 4), ACPI_IOAPIC_GPA);
			ioapics++;
		} else if (type == 2) {
			ASSERT_EQ(madt[off + 3], 0);
			ASSERT_EQ(rd32(madt + off + 4), 2);
			isos++;
		}
		off += len;
	}
	ASSERT_EQ(off, mlen);
	ASSERT_EQ(lapics, vcpus);
	ASSERT_EQ(ioapics, 1);
	ASSERT_EQ(isos, 1);
}

int main(void)
{
	static uint8_t small[128];
	test_tables(1);
	test_tables(4);
	test_tables(255);
	ASSERT_EQ(acpi_build(small, sizeof(small), BASE, 1), -ENOSPC);
	ASSERT_EQ(acpi_build(small, sizeof(small), BASE, 0), -EINVAL);
	ASSERT_EQ(acpi_build(small, sizeof(small), BASE, 256), -EINVAL);
	return 0;
}
