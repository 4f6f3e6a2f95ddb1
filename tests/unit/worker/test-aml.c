/* SPDX-License-Identifier: MIT */
/* AML emitter: PkgLength encodings, names, integers, EISA ids and nesting. */
#include "aml.h"
#include "test.h"

static size_t decode_pkg_length(const uint8_t *b, size_t *ret_len)
{
	size_t extra = b[0] >> 6;
	size_t v;
	if (!extra) {
		*ret_len = 1;
		return b[0] & 0x3f;
	}
	v = b[0] & 0x0f;
	for (size_t i = 0; i < extra; i++)
		v |= (size_t)b[1 + i] << (4 + 8 * i);
	*ret_len = extra + 1;
	return v;
}

static void test_pkg_length(void)
{
	uint8_t enc[4];
	for (size_t n = 0; n < (1u << 20); n += (n < 300 ? 1 : 997)) {
		size_t l = aml_pkg_length(enc, n), dl;
		ASSERT_GT(l, 0);
		ASSERT_EQ(decode_pkg_length(enc, &dl), n + l);
		ASSERT_EQ(dl, l);
		if (l > 1)
			ASSERT_EQ(enc[0] & 0x30, 0); /* bits 5:4 of a multi-byte lead are reserved */
	}
	ASSERT_EQ(aml_pkg_length(enc, 62), 1);
	ASSERT_EQ(aml_pkg_length(enc, 63), 2);
	ASSERT_EQ(aml_pkg_length(enc, 1u << 28), 0);
}

static void test_names(void)
{
	struct aml a;

	aml_init(&a);
	aml_name_string(&a, "\\_SB_.VMBS");
	ASSERT_EQ(a.len, 10);
	ASSERT_TRUE(memcmp(a.b, "\\\x2e_SB_VMBS", 10) == 0);

	aml_init(&a);
	aml_name_string(&a, "HID");
	ASSERT_TRUE(memcmp(a.b, "HID_", 4) == 0);

	aml_init(&a);
	aml_name_string(&a, "\\A.B.C");
	ASSERT_EQ(a.b[1], 0x2f);
	ASSERT_EQ(a.b[2], 3);
	ASSERT_FALSE(a.overflow);

	aml_init(&a);
	aml_name_string(&a, "TOOLONG");
	ASSERT_TRUE(a.overflow);
}

static void test_data(void)
{
	struct aml a;
	static const uint8_t want[] = {0x00, 0x01, 0x0a, 0x02, 0x0b, 0x34, 0x12, 0x0c, 0x78, 0x56, 0x34,
				       0x12, 0x0d, 'V', 'M', 'B', 'U', 'S', 0x00,
				       0x0c, 0x41, 0xd0, 0x05, 0x01};

	aml_init(&a);
	aml_integer(&a, 0);
	aml_integer(&a, 1);
	aml_integer(&a, 2);
	aml_integer(&a, 0x1234);
	aml_integer(&a, 0x12345678);
	aml_string(&a, "VMBUS");
	aml_eisaid(&a, "PNP0501");
	ASSERT_FALSE(a.overflow);
	ASSERT_EQ(a.len, sizeof(want));
	ASSERT_TRUE(memcmp(a.b, want, sizeof(want)) == 0);

	aml_init(&a);
	aml_eisaid(&a, "pnp0501");
	ASSERT_TRUE(a.overflow);
}

static void test_nesting_and_overflow(void)
{
	static struct aml a, dev, big;
	uint8_t payload[100] = {0};
	size_t l;

	aml_init(&dev);
	aml_name(&dev, "_UID");
	aml_integer(&dev, 0);
	aml_init(&a);
	aml_device(&a, "VMBS", &dev);
	/* ExtOpPrefix DeviceOp PkgLength NameSeg body */
	ASSERT_EQ(a.b[0], 0x5b);
	ASSERT_EQ(a.b[1], 0x82);
	ASSERT_EQ(decode_pkg_length(a.b + 2, &l), 1 + 4 + dev.len);
	ASSERT_EQ(a.len, 2 + 1 + 4 + dev.len);

	aml_init(&a);
	aml_buffer(&a, payload, sizeof(payload));
	ASSERT_EQ(a.b[0], 0x11);
	ASSERT_EQ(decode_pkg_length(a.b + 1, &l), l + 2 + sizeof(payload));

	aml_init(&big);
	for (int i = 0; i < 100; i++)
		aml_buffer(&big, payload, sizeof(payload));
	ASSERT_TRUE(big.overflow);
	ASSERT_LE(big.len, AML_MAX);
	aml_init(&a);
	aml_scope(&a, "\\_SB_", &big);
	ASSERT_TRUE(a.overflow);
}

int main(void)
{
	test_pkg_length();
	test_names();
	test_data();
	test_nesting_and_overflow();
	return 0;
}
