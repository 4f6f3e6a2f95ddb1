/* SPDX-License-Identifier: MIT */
/*
 * servers/net/netvsp.c: every guest message type parsed from the bytes Linux sends,
 * each one cut one byte short refused, host-only and unknown types refused, the versions
 * Linux 6.1 tries, and the bytes of every host message checked field by field.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "netvsp.h"
#include "test.h"

#define LE16(x) (uint8_t)(x), (uint8_t)((x) >> 8)
#define LE32(x) LE16(x), LE16((uint32_t)(x) >> 16)
#define LE64(x) LE32(x), LE32((uint64_t)(x) >> 32)

static uint32_t get32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A 40-byte message as Linux sends it: type, the body bytes, zeros. */
static void linux_msg(uint8_t out[40], uint32_t type, const uint8_t *body, size_t n)
{
	memset(out, 0, 40);
	memcpy(out, &type, 4);
	memcpy(out + 4, body, n);
}

/* Parses msg[0, need) and msg[0, 40); refuses msg[0, need - 1). */
static struct netvsp_msg parse_all_lengths(const uint8_t msg[40], uint32_t need)
{
	struct netvsp_msg m, m40;
	const char *why = NULL;

	ASSERT_EQ(netvsp_parse(msg, need - 1, &m, &why), -EBADMSG);
	ASSERT_TRUE(why != NULL);
	why = NULL;
	ASSERT_OK(netvsp_parse(msg, need, &m, &why));
	ASSERT_OK(netvsp_parse(msg, 40, &m40, &why));
	ASSERT_TRUE(why == NULL);
	ASSERT_OK(memcmp(&m, &m40, sizeof(m)));
	return m;
}

static void test_parse_every_type(void)
{
	uint8_t msg[40];
	struct netvsp_msg m;

	linux_msg(msg, NETVSP_MSG_INIT, (uint8_t[]){LE32(0x60001), LE32(0x60001)}, 8);
	m = parse_all_lengths(msg, 12);
	ASSERT_EQ(m.type, NETVSP_MSG_INIT);
	ASSERT_EQ(m.u.init.min_version, NETVSP_VERSION_61);
	ASSERT_EQ(m.u.init.max_version, NETVSP_VERSION_61);

	linux_msg(msg, NETVSP_MSG_SEND_NDIS_VER, (uint8_t[]){LE32(6), LE32(30)}, 8);
	m = parse_all_lengths(msg, 12);
	ASSERT_EQ(m.u.ndis_ver.major, 6);
	ASSERT_EQ(m.u.ndis_ver.minor, 30);

	linux_msg(msg, NETVSP_MSG_SEND_NDIS_CONFIG,
		  (uint8_t[]){LE32(1514), LE32(0), LE64(NETVSP_CAP_IEEE8021Q | NETVSP_CAP_RSC)},
		  16);
	m = parse_all_lengths(msg, 20);
	ASSERT_EQ(m.u.ndis_config.mtu, 1514);
	ASSERT_UEQ(m.u.ndis_config.capabilities, 0x88);

	linux_msg(msg, NETVSP_MSG_SEND_RECV_BUF, (uint8_t[]){LE32(0x1234), LE16(0xCAFE)}, 6);
	m = parse_all_lengths(msg, 10);
	ASSERT_EQ(m.type, NETVSP_MSG_SEND_RECV_BUF);
	ASSERT_EQ(m.u.buf.gpadl, 0x1234);
	ASSERT_EQ(m.u.buf.id, NETVSP_RECV_BUF_ID);

	linux_msg(msg, NETVSP_MSG_SEND_SEND_BUF, (uint8_t[]){LE32(0x99), LE16(0)}, 6);
	m = parse_all_lengths(msg, 10);
	ASSERT_EQ(m.u.buf.gpadl, 0x99);
	ASSERT_EQ(m.u.buf.id, 0);

	linux_msg(msg, NETVSP_MSG_REVOKE_RECV_BUF, (uint8_t[]){LE16(0xCAFE)}, 2);
	m = parse_all_lengths(msg, 6);
	ASSERT_EQ(m.u.revoke.id, 0xCAFE);
	linux_msg(msg, NETVSP_MSG_REVOKE_SEND_BUF, (uint8_t[]){LE16(7)}, 2);
	m = parse_all_lengths(msg, 6);
	ASSERT_EQ(m.type, NETVSP_MSG_REVOKE_SEND_BUF);
	ASSERT_EQ(m.u.revoke.id, 7);

	linux_msg(msg, NETVSP_MSG_SEND_RNDIS_PKT,
		  (uint8_t[]){LE32(1), LE32(NETVSP_NO_SECTION), LE32(0)}, 12);
	m = parse_all_lengths(msg, 16);
	ASSERT_EQ(m.u.rndis.channel_type, NETVSP_CHANNEL_CONTROL);
	ASSERT_UEQ(m.u.rndis.section_index, NETVSP_NO_SECTION);
	linux_msg(msg, NETVSP_MSG_SEND_RNDIS_PKT, (uint8_t[]){LE32(0), LE32(169), LE32(1514)}, 12);
	m = parse_all_lengths(msg, 16);
	ASSERT_EQ(m.u.rndis.channel_type, NETVSP_CHANNEL_DATA);
	ASSERT_EQ(m.u.rndis.section_index, 169);
	ASSERT_EQ(m.u.rndis.section_size, 1514);

	linux_msg(msg, NETVSP_MSG_SEND_RNDIS_PKT_COMPLETE, (uint8_t[]){LE32(1)}, 4);
	m = parse_all_lengths(msg, 8);
	ASSERT_EQ(m.u.rndis_complete.status, NETVSP_STATUS_SUCCESS);

	linux_msg(msg, NETVSP_MSG_SUBCHANNEL, (uint8_t[]){LE32(1), LE32(3)}, 8);
	m = parse_all_lengths(msg, 12);
	ASSERT_EQ(m.u.subchannel.op, NETVSP_SUBCHANNEL_ALLOCATE);
	ASSERT_EQ(m.u.subchannel.num, 3);

	linux_msg(msg, NETVSP_MSG_SEND_VF_ASSOCIATION, (uint8_t[]){LE32(1), LE32(42)}, 8);
	m = parse_all_lengths(msg, 12);
	ASSERT_EQ(m.u.vf.a, 1);
	ASSERT_EQ(m.u.vf.b, 42);

	linux_msg(msg, NETVSP_MSG_SWITCH_DATA_PATH, (uint8_t[]){LE32(1)}, 4);
	m = parse_all_lengths(msg, 8);
	ASSERT_EQ(m.u.vf.a, 1);
	ASSERT_EQ(m.u.vf.b, 0);
}

static void test_parse_refusals(void)
{
	static const uint32_t not_from_guest[] = {
	    0,
	    NETVSP_MSG_INIT_COMPLETE,
	    NETVSP_MSG_SEND_RECV_BUF_COMPLETE,
	    NETVSP_MSG_SEND_SEND_BUF_COMPLETE,
	    109,
	    NETVSP_MSG_OID_QUERY_EX,
	    NETVSP_MSG_SEND_INDIRECTION_TABLE,
	    135,
	    0xFFFFFFFF,
	};
	uint8_t msg[40] = {0};
	struct netvsp_msg m = {.type = 0x5555};
	const char *why = NULL;

	for (size_t i = 0; i < sizeof(not_from_guest) / sizeof(not_from_guest[0]); i++) {
		linux_msg(msg, not_from_guest[i], (uint8_t[]){0}, 0);
		why = NULL;
		ASSERT_EQ(netvsp_parse(msg, 40, &m, &why), -EBADMSG);
		ASSERT_TRUE(why != NULL);
	}
	for (uint32_t len = 0; len < 4; len++)
		ASSERT_EQ(netvsp_parse(msg, len, &m, &why), -EBADMSG);
	/* Nothing is written on failure. */
	ASSERT_EQ(m.type, 0x5555);

	/* Longer than 40 bytes is still one message. */
	uint8_t big[64] = {LE32(NETVSP_MSG_INIT), LE32(2), LE32(0x30002)};
	why = NULL;
	ASSERT_OK(netvsp_parse(big, sizeof(big), &m, &why));
	ASSERT_EQ(m.u.init.max_version, NETVSP_VERSION_2);
}

static void test_versions(void)
{
	/* What Linux 6.1 tries, newest first. */
	static const uint32_t linux_tries[] = {0x60001, 0x60000, 0x50000, 0x40000, 0x30002, 0x2};

	for (size_t i = 0; i < sizeof(linux_tries) / sizeof(linux_tries[0]); i++)
		ASSERT_TRUE(netvsp_version_supported(linux_tries[i]));
	ASSERT_FALSE(netvsp_version_supported(0));
	ASSERT_FALSE(netvsp_version_supported(0x30000));
	ASSERT_FALSE(netvsp_version_supported(0x60002));
	ASSERT_FALSE(netvsp_version_supported(0x70000));
}

static void check_tail_zero(const uint8_t *out, uint32_t from)
{
	for (uint32_t i = from; i < NETVSP_MSG_SIZE; i++)
		ASSERT_EQ(out[i], 0);
}

static void test_builders(void)
{
	uint8_t out[NETVSP_MSG_SIZE];

	memset(out, 0xAA, sizeof(out));
	ASSERT_EQ(netvsp_build_init_complete(out, NETVSP_STATUS_SUCCESS, NETVSP_VERSION_61), 40);
	ASSERT_EQ(get32(out + 0), 2);	    /* INIT_COMPLETE */
	ASSERT_EQ(get32(out + 4), 0x60001); /* negotiated version */
	ASSERT_EQ(get32(out + 8), 0);	    /* max MDL chain length */
	ASSERT_EQ(get32(out + 12), 1);	    /* status SUCCESS */
	check_tail_zero(out, 16);

	memset(out, 0xAA, sizeof(out));
	ASSERT_EQ(netvsp_build_recv_buf_complete(out, NETVSP_STATUS_SUCCESS, 1728, 9709), 40);
	ASSERT_EQ(get32(out + 0), 102);
	ASSERT_EQ(get32(out + 4), 1);		 /* status */
	ASSERT_EQ(get32(out + 8), 1);		 /* one section */
	ASSERT_EQ(get32(out + 12), 0);		 /* at offset 0 */
	ASSERT_EQ(get32(out + 16), 1728);	 /* sub-allocation size */
	ASSERT_EQ(get32(out + 20), 9709);	 /* count */
	ASSERT_EQ(get32(out + 24), 1728 * 9709); /* end offset */
	check_tail_zero(out, 28);

	memset(out, 0xAA, sizeof(out));
	ASSERT_EQ(netvsp_build_send_buf_complete(out, NETVSP_STATUS_FAILURE, 6144), 40);
	ASSERT_EQ(get32(out + 0), 105);
	ASSERT_EQ(get32(out + 4), 2);
	ASSERT_EQ(get32(out + 8), 6144);
	check_tail_zero(out, 12);

	memset(out, 0xAA, sizeof(out));
	ASSERT_EQ(netvsp_build_rndis_complete(out, NETVSP_STATUS_SUCCESS), 40);
	ASSERT_EQ(get32(out + 0), 108);
	ASSERT_EQ(get32(out + 4), 1);
	check_tail_zero(out, 8);

	memset(out, 0xAA, sizeof(out));
	ASSERT_EQ(netvsp_build_subchannel_complete(out, NETVSP_STATUS_SUCCESS, 3), 40);
	ASSERT_EQ(get32(out + 0), 133);
	ASSERT_EQ(get32(out + 4), 1);
	ASSERT_EQ(get32(out + 8), 3);
	check_tail_zero(out, 12);

	memset(out, 0xAA, sizeof(out));
	ASSERT_EQ(netvsp_build_rndis_pkt(out, NETVSP_CHANNEL_CONTROL), 40);
	ASSERT_EQ(get32(out + 0), 107);
	ASSERT_EQ(get32(out + 4), 1);
	ASSERT_UEQ(get32(out + 8), 0xFFFFFFFFu);
	ASSERT_EQ(get32(out + 12), 0);
	check_tail_zero(out, 16);

	/* A host message parses back as what the host would see from a guest. */
	struct netvsp_msg m;
	const char *why;
	netvsp_build_rndis_pkt(out, NETVSP_CHANNEL_DATA);
	ASSERT_OK(netvsp_parse(out, sizeof(out), &m, &why));
	ASSERT_EQ(m.u.rndis.section_index, NETVSP_NO_SECTION);
}

static void test_names(void)
{
	ASSERT_STREQ(netvsp_msg_name(NETVSP_MSG_INIT), "INIT");
	ASSERT_STREQ(netvsp_msg_name(NETVSP_MSG_SEND_RNDIS_PKT), "SEND_RNDIS_PKT");
	ASSERT_STREQ(netvsp_msg_name(NETVSP_MSG_SUBCHANNEL), "SUBCHANNEL");
	ASSERT_STREQ(netvsp_msg_name(12345), "unknown");
}

int main(void)
{
	test_parse_every_type();
	test_parse_refusals();
	test_versions();
	test_builders();
	test_names();
	return 0;
}
