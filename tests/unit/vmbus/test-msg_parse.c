/* SPDX-License-Identifier: MIT */
/* Decoding of guest->host channel messages (lib/vmbus/msg_parse.c). */
#include <errno.h>
#include <string.h>

#include "test.h"
#include "vmbus.h"

/* Sizes Linux 6.1 posts for each message it sends (sizeof its structs). */
static const struct {
	uint32_t type;
	size_t len;
} linux_sends[] = {
    {VMBUS_MSG_INITIATE_CONTACT, 40},
    {VMBUS_MSG_REQUESTOFFERS, 8},
    {VMBUS_MSG_OPENCHANNEL, 148},
    {VMBUS_MSG_CLOSECHANNEL, 12},
    {VMBUS_MSG_GPADL_TEARDOWN, 16},
    {VMBUS_MSG_RELID_RELEASED, 12},
    {VMBUS_MSG_UNLOAD, 8},
    {VMBUS_MSG_MODIFYCHANNEL, 16},
    {VMBUS_MSG_TL_CONNECT_REQUEST, 40},
    {VMBUS_MSG_GPADL_HEADER, 20 + 8 + 26 * 8},
    {VMBUS_MSG_GPADL_BODY, 16 + 28 * 8},
};

static void test_linux_sizes_accepted(void)
{
	for (size_t i = 0; i < sizeof(linux_sends) / sizeof(linux_sends[0]); i++) {
		uint8_t buf[VMBUS_MSG_MAX];
		struct vmbus_msg m;
		const char *why = NULL;

		memset(buf, 0xa5, sizeof(buf));
		memcpy(buf, &linux_sends[i].type, 4);
		ASSERT_LE(linux_sends[i].len, VMBUS_MSG_MAX);
		ASSERT_OK(vmbus_msg_parse(buf, linux_sends[i].len, &m, &why));
		ASSERT_EQ(m.type, linux_sends[i].type);
		ASSERT_EQ(m.len, linux_sends[i].len);
		ASSERT_LE(vmbus_msg_min_len(m.type), linux_sends[i].len);
		/* One byte less than the minimum is refused with a reason. */
		size_t min = vmbus_msg_min_len(m.type);
		struct vmbus_msg untouched = {.type = 12345};
		ASSERT_EQ(vmbus_msg_parse(buf, min - 1, &untouched, &why), -EBADMSG);
		ASSERT_TRUE(why && *why);
		ASSERT_EQ(untouched.type, 12345); /* ret written only on success */
	}
}

static void test_gpadl_data(void)
{
	uint8_t buf[VMBUS_MSG_MAX] = {0};
	struct vmbus_msg m;
	uint32_t t = VMBUS_MSG_GPADL_HEADER;
	uint64_t v = 0x1122334455667788ull;

	memcpy(buf, &t, 4);
	memcpy(buf + 20, &v, 8); /* u64 data at offset 20: not 8-aligned */
	memcpy(buf + 20 + 26 * 8, &v, 8);
	ASSERT_OK(vmbus_msg_parse(buf, 20 + 27 * 8 + 4, &m, NULL)); /* + 4 stray bytes */
	ASSERT_EQ(m.data_u64, 27);
	ASSERT_UEQ(vmbus_msg_u64(&m, 0), v);
	ASSERT_UEQ(vmbus_msg_u64(&m, 26), v);
	/* The decoded copy does not alias the input. */
	buf[20] = 0;
	ASSERT_UEQ(vmbus_msg_u64(&m, 0), v);

	t = VMBUS_MSG_GPADL_BODY;
	memcpy(buf, &t, 4);
	ASSERT_OK(vmbus_msg_parse(buf, VMBUS_MSG_MAX, &m, NULL));
	ASSERT_EQ(m.data_u64, VMBUS_GPADL_BODY_MAX_U64);
	ASSERT_OK(vmbus_msg_parse(buf, 16, &m, NULL));
	ASSERT_EQ(m.data_u64, 0);
}

static void test_refused(void)
{
	uint8_t buf[VMBUS_MSG_MAX + 8] = {0};
	struct vmbus_msg m;
	const char *why;

	ASSERT_EQ(vmbus_msg_parse(buf, VMBUS_MSG_MAX + 1, &m, &why), -EBADMSG);
	ASSERT_TRUE(strstr(why, "240"));
	ASSERT_EQ(vmbus_msg_parse(NULL, 8, &m, &why), -EBADMSG);
	ASSERT_EQ(vmbus_msg_parse(buf, 0, &m, &why), -EBADMSG);
	for (uint32_t t = 0; t < 64; t++) {
		memcpy(buf, &t, 4);
		int r = vmbus_msg_parse(buf, VMBUS_MSG_MAX, &m, &why);
		if (vmbus_msg_min_len(t))
			ASSERT_OK(r);
		else
			ASSERT_EQ(r, -EBADMSG);
	}
	/* Host-only types never parse as guest messages. */
	ASSERT_EQ(vmbus_msg_min_len(VMBUS_MSG_OFFERCHANNEL), 0);
	ASSERT_EQ(vmbus_msg_min_len(VMBUS_MSG_VERSION_RESPONSE), 0);
	ASSERT_EQ(vmbus_msg_min_len(0xffffffffu), 0);
	ASSERT_STREQ(vmbus_msg_type_to_string(VMBUS_MSG_GPADL_BODY), "GPADL_BODY");
	ASSERT_STREQ(vmbus_msg_type_to_string(999), "unknown");
}

/* Text GUIDs (--device-allow) parse back to the wire bytes vmbus_guid_to_string prints. */
static void test_guid_text(void)
{
	const struct hv_guid hb = HV_GUID_INIT(0x57164f39, 0x9115, 0x4e78, 0xab, 0x55, 0x38, 0x2f,
					       0x3b, 0xd5, 0x42, 0x2d);
	char buf[VMBUS_GUID_STRING_MAX];
	struct hv_guid g;

	ASSERT_OK(vmbus_guid_from_string("57164f39-9115-4e78-ab55-382f3bd5422d", &g));
	ASSERT_OK(memcmp(&g, &hb, sizeof(g)));
	ASSERT_OK(vmbus_guid_from_string("57164F39-9115-4E78-AB55-382F3BD5422D", &g));
	ASSERT_OK(memcmp(&g, &hb, sizeof(g)));
	ASSERT_STREQ(vmbus_guid_to_string(&g, buf), "57164f39-9115-4e78-ab55-382f3bd5422d");

	memset(&g, 0xee, sizeof(g));
	ASSERT_EQ(vmbus_guid_from_string("", &g), -EINVAL);
	ASSERT_EQ(vmbus_guid_from_string("57164f39-9115-4e78-ab55-382f3bd5422", &g), -EINVAL);
	ASSERT_EQ(vmbus_guid_from_string("57164f39-9115-4e78-ab55-382f3bd5422d0", &g), -EINVAL);
	ASSERT_EQ(vmbus_guid_from_string("57164f39-9115-4e78-ab55-382f3bd5422d,", &g), -EINVAL);
	ASSERT_EQ(vmbus_guid_from_string("57164f39x9115-4e78-ab55-382f3bd5422d", &g), -EINVAL);
	ASSERT_EQ(vmbus_guid_from_string("57164f3g-9115-4e78-ab55-382f3bd5422d", &g), -EINVAL);
	ASSERT_EQ(vmbus_guid_from_string("{57164f39-9115-4e78-ab55-382f3bd5422d}", &g), -EINVAL);
	ASSERT_EQ(g.b[0], 0xee); /* not written on failure */
}

int main(void)
{
	test_linux_sizes_accepted();
	test_gpadl_data();
	test_refused();
	test_guid_text();
	printf("ok\n");
	return 0;
}
