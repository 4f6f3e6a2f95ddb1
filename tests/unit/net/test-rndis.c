/* SPDX-License-Identifier: MIT */
/*
 * servers/net/rndis_*.c: Linux 6.1's rndis_filter_device_add sequence end to end by bytes,
 * each answer checked the way rndis_filter_query_device and rndis_query_hwcaps check it;
 * the SETs Linux sends (offloads, RSS disable then enable, packet filter, MAC address);
 * control messages with lying lengths and offsets; data packets with every PPI kind,
 * overrunning PPIs and frames outside the message; the receive header read back the way
 * rndis_filter_receive_data reads it; the IP header fixes LSO needs.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "rndis.h"
#include "test.h"

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static const struct rndis_config cfg = {
    .mac = {0x00, 0x15, 0x5d, 0x12, 0x34, 0x56},
    .mtu = 1500,
    .link_speed_bps = 10000000000ull,
    .max_queues = 4,
    .offload_caps = NET_OFFLOAD_CAP_TX_CSUM | NET_OFFLOAD_CAP_TX_LSO | NET_OFFLOAD_CAP_RX_CSUM,
    .friendly_name = "mhcl-net0",
};

static struct rndis_state st;
static uint32_t next_id = 1;

/* Runs one control message through parse and answer; returns the answer's length. */
static uint32_t run(const struct rndis_config *c_cfg, const uint8_t *msg, uint32_t len,
		    uint8_t *out)
{
	struct rndis_ctl c;
	const char *why = NULL, *note = NULL;
	uint32_t n;

	ASSERT_OK(rndis_parse_ctl(msg, len, &c, &why));
	memset(out, 0xEE, RNDIS_MAX_RESPONSE);
	n = rndis_control(c_cfg, &st, &c, out, &note);
	ASSERT_LE(n, RNDIS_MAX_RESPONSE);
	if (n)
		ASSERT_EQ(get32(out + 4), n); /* message length is the answer's */
	return n;
}

/* A QUERY or SET as Linux builds it: info right after the 20-byte request. */
static uint32_t oid_msg(uint8_t *msg, uint32_t type, uint32_t id, uint32_t oid, const void *info,
			uint32_t info_len)
{
	uint32_t len = 8 + 20 + info_len;

	put32(msg, type);
	put32(msg + 4, len);
	put32(msg + 8, id);
	put32(msg + 12, oid);
	put32(msg + 16, info_len);
	put32(msg + 20, 20);
	put32(msg + 24, 0);
	if (info_len)
		memcpy(msg + 28, info, info_len);
	return len;
}

/*
 * A QUERY checked as rndis_filter_query_device checks the answer: the id echoed, the
 * buffer offset at least the completion's size, the buffer inside the message and no
 * bigger than the caller's room. Returns the RNDIS status; the buffer goes to result.
 */
static uint32_t linux_query(const struct rndis_config *c_cfg, uint32_t oid, const void *in,
			    uint32_t in_len, void *result, uint32_t *size)
{
	uint8_t msg[1024], out[RNDIS_MAX_RESPONSE];
	uint32_t id = next_id++;
	uint32_t n = run(c_cfg, msg, oid_msg(msg, RNDIS_MSG_QUERY, id, oid, in, in_len), out);

	ASSERT_EQ(get32(out), RNDIS_MSG_QUERY_C);
	ASSERT_GE(n - 8, 16);
	ASSERT_EQ(get32(out + 8), id);
	uint32_t status = get32(out + 12), len = get32(out + 16), off = get32(out + 20);
	if (status != RNDIS_STATUS_SUCCESS) {
		ASSERT_EQ(len, 0);
		ASSERT_EQ(off, 0);
		return status;
	}
	ASSERT_LE(len, *size);
	ASSERT_GE(off, 16);
	ASSERT_LE(off, n - 8);
	ASSERT_LE(len, n - 8 - off);
	memcpy(result, out + 8 + off, len);
	*size = len;
	return status;
}

static uint32_t query_u32(uint32_t oid)
{
	uint32_t v = 0xDEADBEEF, size = 4;

	ASSERT_EQ(linux_query(&cfg, oid, NULL, 0, &v, &size), RNDIS_STATUS_SUCCESS);
	ASSERT_EQ(size, 4);
	return v;
}

/* A SET; returns SET_C's status after checking its shape. */
static uint32_t linux_set(const struct rndis_config *c_cfg, uint32_t oid, const void *info,
			  uint32_t info_len)
{
	uint8_t msg[1024], out[RNDIS_MAX_RESPONSE];
	uint32_t id = next_id++;
	uint32_t n = run(c_cfg, msg, oid_msg(msg, RNDIS_MSG_SET, id, oid, info, info_len), out);

	ASSERT_EQ(n, 16);
	ASSERT_EQ(get32(out), RNDIS_MSG_SET_C);
	ASSERT_EQ(get32(out + 8), id);
	return get32(out + 12);
}

static void test_init(void)
{
	uint8_t msg[24] = {0}, out[RNDIS_MAX_RESPONSE];

	st.packet_filter = 0x20; /* from an earlier driver: INIT forgets it */
	put32(msg, RNDIS_MSG_INIT);
	put32(msg + 4, 24);
	put32(msg + 8, 77);
	put32(msg + 12, 1);
	put32(msg + 16, 0);
	put32(msg + 20, 0x4000);
	ASSERT_EQ(run(&cfg, msg, 24, out), 52);
	ASSERT_EQ(get32(out), RNDIS_MSG_INIT_C);
	ASSERT_EQ(get32(out + 8), 77);	   /* request id */
	ASSERT_EQ(get32(out + 12), 0);	   /* status */
	ASSERT_EQ(get32(out + 16), 1);	   /* major */
	ASSERT_EQ(get32(out + 20), 0);	   /* minor */
	ASSERT_EQ(get32(out + 24), 1);	   /* connectionless */
	ASSERT_EQ(get32(out + 28), 0);	   /* 802.3 */
	ASSERT_EQ(get32(out + 32), 8);	   /* packets per message */
	ASSERT_GE(get32(out + 36), 65550); /* an LSO frame fits */
	ASSERT_EQ(get32(out + 40), 3);	   /* Linux aligns to 1 << 3 */
	ASSERT_EQ(get32(out + 44), 0);
	ASSERT_EQ(get32(out + 48), 0);
	ASSERT_EQ(st.initialized, 1);
	ASSERT_EQ(st.packet_filter, 0);
}

/* What rndis_netdev_set_hwcaps reads from the capabilities. */
struct linux_hw {
	bool tcp4, udp4, lso4, tcp6, udp6, lso6;
	uint32_t gso_max;
};

static struct linux_hw linux_hwcaps(const struct rndis_config *c_cfg, uint8_t revision,
				    uint16_t size)
{
	/* Linux sends a zeroed object of the size its NVSP version implies. */
	struct ndis_offload caps, in = {.header = {NDIS_OBJECT_TYPE_OFFLOAD, revision, size}};
	uint32_t caps_len = sizeof(caps);
	struct linux_hw hw = {.gso_max = 65536};

	memset(&caps, 0, sizeof(caps));
	ASSERT_EQ(linux_query(c_cfg, RNDIS_OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES, &in, size, &caps,
			      &caps_len),
		  RNDIS_STATUS_SUCCESS);
	/* rndis_query_hwcaps */
	ASSERT_EQ(caps.header.type, 0xA7);
	ASSERT_GE(caps.header.revision, 1);
	ASSERT_LE(caps.header.size, caps_len);
	ASSERT_GE(caps.header.size, 112);
	/* rndis_netdev_set_hwcaps */
	if ((caps.csum.ip4_tx_csum & 0x14) == 0x14) {
		hw.tcp4 = true;
		if (caps.lsov2.ip4_encap & 2) {
			hw.lso4 = true;
			if (caps.lsov2.ip4_max_size < hw.gso_max)
				hw.gso_max = caps.lsov2.ip4_max_size;
		}
		hw.udp4 = caps.csum.ip4_tx_csum & 0x40;
	}
	if ((caps.csum.ip6_tx_csum & 0x15) == 0x15) {
		hw.tcp6 = true;
		if ((caps.lsov2.ip6_encap & 2) && (caps.lsov2.ip6_options & 5) == 5) {
			hw.lso6 = true;
			if (caps.lsov2.ip6_max_size < hw.gso_max)
				hw.gso_max = caps.lsov2.ip6_max_size;
		}
		hw.udp6 = caps.csum.ip6_tx_csum & 0x40;
	}
	ASSERT_EQ(caps.rsc.ip4, 0); /* no LRO offered */
	return hw;
}

static void test_linux_probe(void)
{
	uint8_t mac[6], name[512];
	uint32_t size;

	/* MTU: Linux keeps the smaller of its own and this. */
	ASSERT_EQ(query_u32(RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE), 1500);

	/* MAC: exactly 6 bytes fit Linux's room. */
	size = 6;
	ASSERT_EQ(linux_query(&cfg, RNDIS_OID_802_3_PERMANENT_ADDRESS, NULL, 0, mac, &size),
		  RNDIS_STATUS_SUCCESS);
	ASSERT_EQ(size, 6);
	ASSERT_OK(memcmp(mac, cfg.mac, 6));

	/* Friendly name: UTF-16LE with a terminator. */
	size = sizeof(name);
	ASSERT_EQ(linux_query(&cfg, RNDIS_OID_GEN_FRIENDLY_NAME, NULL, 0, name, &size),
		  RNDIS_STATUS_SUCCESS);
	ASSERT_EQ(size, 2 * strlen("mhcl-net0") + 2);
	for (size_t i = 0; i < strlen("mhcl-net0"); i++)
		ASSERT_EQ(get16(name + 2 * i), "mhcl-net0"[i]);
	ASSERT_EQ(get16(name + size - 2), 0);

	/* Offload capabilities, NVSP >= 5 (revision 3) and NVSP < 4 (revision 1). */
	struct linux_hw hw = linux_hwcaps(&cfg, 3, 156);
	ASSERT_TRUE(hw.tcp4 && hw.udp4 && hw.lso4 && hw.tcp6 && hw.udp6 && hw.lso6);
	ASSERT_EQ(hw.gso_max, 62780);
	hw = linux_hwcaps(&cfg, 1, 112);
	ASSERT_TRUE(hw.tcp4 && hw.lso6);
	static const struct rndis_config no_lso = {
	    .mtu = 1500, .max_queues = 1, .offload_caps = NET_OFFLOAD_CAP_TX_CSUM};
	hw = linux_hwcaps(&no_lso, 3, 156);
	ASSERT_TRUE(hw.tcp4 && hw.tcp6);
	ASSERT_FALSE(hw.lso4 || hw.lso6);
	static const struct rndis_config none = {.mtu = 1500, .max_queues = 1};
	hw = linux_hwcaps(&none, 3, 156);
	ASSERT_FALSE(hw.tcp4 || hw.tcp6 || hw.lso4);

	/* Offload parameters as Linux sets them from those capabilities (NVSP >= 5). */
	struct ndis_offload_params p = {
	    .header = {NDIS_OBJECT_TYPE_DEFAULT, 3, sizeof(p)},
	    .ip4_csum = NDIS_OFFLOAD_PARAMS_TX_RX_DISABLED,
	    .tcp4_csum = NDIS_OFFLOAD_PARAMS_TX_RX_ENABLED,
	    .udp4_csum = NDIS_OFFLOAD_PARAMS_TX_RX_ENABLED,
	    .tcp6_csum = NDIS_OFFLOAD_PARAMS_TX_RX_ENABLED,
	    .udp6_csum = NDIS_OFFLOAD_PARAMS_TX_RX_ENABLED,
	    .lsov2_ip4 = NDIS_OFFLOAD_PARAMS_LSOV2_ENABLED,
	    .lsov2_ip6 = NDIS_OFFLOAD_PARAMS_LSOV2_ENABLED,
	};
	ASSERT_EQ(linux_set(&cfg, RNDIS_OID_TCP_OFFLOAD_PARAMETERS, &p, sizeof(p)),
		  RNDIS_STATUS_SUCCESS);
	ASSERT_EQ(st.tx_csum, NET_OFFLOAD_CAP_TX_CSUM);
	ASSERT_EQ(st.rx_csum, NET_OFFLOAD_CAP_RX_CSUM);
	ASSERT_EQ(st.tx_lso, NET_OFFLOAD_CAP_TX_LSO);
	/* NVSP <= 4 sends 22 bytes; "no change" leaves the rest alone. */
	struct ndis_offload_params off = {.tcp4_csum = NDIS_OFFLOAD_PARAMS_RX_ENABLED_TX_DISABLED,
					  .lsov2_ip4 = NDIS_OFFLOAD_PARAMS_LSOV2_DISABLED};
	ASSERT_EQ(linux_set(&cfg, RNDIS_OID_TCP_OFFLOAD_PARAMETERS, &off, 22),
		  RNDIS_STATUS_SUCCESS);
	ASSERT_EQ(st.tx_csum, 0);
	ASSERT_EQ(st.rx_csum, NET_OFFLOAD_CAP_RX_CSUM);
	ASSERT_EQ(st.tx_lso, 0);
	/* Never more than the backend can do. */
	ASSERT_EQ(linux_set(&no_lso, RNDIS_OID_TCP_OFFLOAD_PARAMETERS, &p, sizeof(p)),
		  RNDIS_STATUS_SUCCESS);
	ASSERT_EQ(st.tx_csum, NET_OFFLOAD_CAP_TX_CSUM);
	ASSERT_EQ(st.tx_lso, 0);
	ASSERT_EQ(st.rx_csum, 0);
	ASSERT_EQ(linux_set(&cfg, RNDIS_OID_TCP_OFFLOAD_PARAMETERS, &p, sizeof(p)),
		  RNDIS_STATUS_SUCCESS);
	/* Refusals. */
	ASSERT_EQ(linux_set(&cfg, RNDIS_OID_TCP_OFFLOAD_PARAMETERS, &p, 12),
		  RNDIS_STATUS_INVALID_LENGTH);
	struct ndis_offload_params bad = p;
	bad.tcp6_csum = 5;
	ASSERT_EQ(linux_set(&cfg, RNDIS_OID_TCP_OFFLOAD_PARAMETERS, &bad, sizeof(bad)),
		  RNDIS_STATUS_INVALID_DATA);
	ASSERT_EQ(st.tx_lso, NET_OFFLOAD_CAP_TX_LSO);

	/* Link: connected is 0; speed in 100 bps units. */
	ASSERT_EQ(query_u32(RNDIS_OID_GEN_MEDIA_CONNECT_STATUS), 0);
	ASSERT_EQ(query_u32(RNDIS_OID_GEN_LINK_SPEED), 100000000);

	/* RSS capabilities: Linux sends a header and has room for 18 bytes. */
	struct ndis_recv_scale_cap cap;
	struct ndis_object_header ch = {NDIS_OBJECT_TYPE_RSS_CAPABILITIES, 2, 18};
	size = sizeof(cap);
	memset(&cap, 0, sizeof(cap));
	ASSERT_EQ(linux_query(&cfg, RNDIS_OID_GEN_RECEIVE_SCALE_CAPABILITIES, &ch, sizeof(ch), &cap,
			      &size),
		  RNDIS_STATUS_SUCCESS);
	ASSERT_EQ(size, 18);
	ASSERT_EQ(cap.header.type, 0x88);
	ASSERT_EQ(cap.num_recv_queues, 4);
	ASSERT_EQ(cap.num_indirection_entries, 128);
}

/* The RSS SET Linux builds (rndis_set_rss_param_msg): 40-byte header, 128 u32, 40 key. */
static uint32_t rss_msg(uint8_t *buf, uint16_t flags, uint32_t queues)
{
	struct ndis_recv_scale_param p = {
	    .header = {NDIS_OBJECT_TYPE_RSS_PARAMETERS, 2, sizeof(p)},
	    .flags = flags,
	    .hash_info = NDIS_HASH_FUNC_TOEPLITZ | NDIS_HASH_IPV4 | NDIS_HASH_TCP_IPV4 |
			 NDIS_HASH_IPV6 | NDIS_HASH_TCP_IPV6,
	    .table_size = 4 * 128,
	    .table_offset = sizeof(p),
	    .key_size = 40,
	    .key_offset = sizeof(p) + 4 * 128,
	};

	memcpy(buf, &p, sizeof(p));
	for (uint32_t i = 0; i < 128; i++)
		put32(buf + sizeof(p) + 4 * i, i % queues);
	for (uint32_t i = 0; i < 40; i++)
		buf[sizeof(p) + 512 + i] = (uint8_t)(0x6d + i);
	return sizeof(p) + 512 + 40;
}

static void test_rss(void)
{
	uint8_t buf[600];
	uint32_t n;

	n = rss_msg(buf, NDIS_RSS_PARAM_FLAG_DISABLE_RSS, 4);
	ASSERT_EQ(n, 592);
	st.rss_enabled = 1;
	ASSERT_EQ(linux_set(&cfg, RNDIS_OID_GEN_RECEIVE_SCALE_PARAMETERS, buf, n),
		  RNDIS_STATUS_SUCCESS);
	ASSERT_EQ(st.rss_enabled, 0);

	n = rss_msg(buf, 0, 4);
	ASSERT_EQ(linux_set(&cfg, RNDIS_OID_GEN_RECEIVE_SCALE_PARAMETERS, buf, n),
		  RNDIS_STATUS_SUCCESS);
	ASSERT_EQ(st.rss_enabled, 1);
	ASSERT_EQ(st.rss_table_size, 128);
	ASSERT_EQ(st.rss_key_size, 40);
	ASSERT_EQ(st.rss_table[5], 1);
	ASSERT_EQ(st.rss_table[127], 3);
	ASSERT_EQ(st.rss_key[0], 0x6d);
	ASSERT_EQ(st.rss_key[39], 0x6d + 39);
	ASSERT_EQ(st.rss_hash_info & 0xFF, 1);

	/* A queue that does not exist: refused, nothing changed. */
	n = rss_msg(buf, 0, 5);
	ASSERT_EQ(linux_set(&cfg, RNDIS_OID_GEN_RECEIVE_SCALE_PARAMETERS, buf, n),
		  RNDIS_STATUS_INVALID_DATA);
	ASSERT_EQ(st.rss_table[4], 0);
	/* Table and key outside the buffer, or of silly sizes. */
	struct ndis_recv_scale_param *p = (struct ndis_recv_scale_param *)buf;
	n = rss_msg(buf, 0, 2);
	p->table_offset = 100;
	ASSERT_EQ(linux_set(&cfg, RNDIS_OID_GEN_RECEIVE_SCALE_PARAMETERS, buf, n),
		  RNDIS_STATUS_INVALID_DATA);
	n = rss_msg(buf, 0, 2);
	p->key_offset = 560;
	ASSERT_EQ(linux_set(&cfg, RNDIS_OID_GEN_RECEIVE_SCALE_PARAMETERS, buf, n),
		  RNDIS_STATUS_INVALID_DATA);
	n = rss_msg(buf, 0, 2);
	p->table_size = 4 * 129;
	ASSERT_EQ(linux_set(&cfg, RNDIS_OID_GEN_RECEIVE_SCALE_PARAMETERS, buf, n),
		  RNDIS_STATUS_INVALID_DATA);
	n = rss_msg(buf, 0, 2);
	p->key_size = 41;
	ASSERT_EQ(linux_set(&cfg, RNDIS_OID_GEN_RECEIVE_SCALE_PARAMETERS, buf, n),
		  RNDIS_STATUS_INVALID_DATA);
	n = rss_msg(buf, 0, 2);
	p->header.type = NDIS_OBJECT_TYPE_RSS_CAPABILITIES;
	ASSERT_EQ(linux_set(&cfg, RNDIS_OID_GEN_RECEIVE_SCALE_PARAMETERS, buf, n),
		  RNDIS_STATUS_INVALID_DATA);
	ASSERT_EQ(linux_set(&cfg, RNDIS_OID_GEN_RECEIVE_SCALE_PARAMETERS, buf, 20),
		  RNDIS_STATUS_INVALID_LENGTH);
	ASSERT_EQ(st.rss_table[5], 1);
	ASSERT_EQ(st.rss_enabled, 1);
	/* Table unchanged, new key. */
	n = rss_msg(buf, NDIS_RSS_PARAM_FLAG_ITABLE_UNCHANGED, 1);
	buf[sizeof(*p) + 512] = 0x11;
	ASSERT_EQ(linux_set(&cfg, RNDIS_OID_GEN_RECEIVE_SCALE_PARAMETERS, buf, n),
		  RNDIS_STATUS_SUCCESS);
	ASSERT_EQ(st.rss_table[5], 1);
	ASSERT_EQ(st.rss_key[0], 0x11);
}

static void test_filter_mac_misc(void)
{
	uint32_t filter =
	    NDIS_PACKET_TYPE_DIRECTED | NDIS_PACKET_TYPE_ALL_MULTICAST | NDIS_PACKET_TYPE_BROADCAST;
	uint8_t mac[6], buf[128];
	uint32_t size;

	ASSERT_EQ(linux_set(&cfg, RNDIS_OID_GEN_CURRENT_PACKET_FILTER, &filter, 4),
		  RNDIS_STATUS_SUCCESS);
	ASSERT_EQ(st.packet_filter, 0xD);
	ASSERT_EQ(query_u32(RNDIS_OID_GEN_CURRENT_PACKET_FILTER), 0xD);
	ASSERT_EQ(linux_set(&cfg, RNDIS_OID_GEN_CURRENT_PACKET_FILTER, &filter, 2),
		  RNDIS_STATUS_INVALID_LENGTH);

	/* rndis_filter_set_device_mac: config parameter, name then value, UTF-16. */
	struct rndis_config_param cp = {.name_offset = sizeof(cp),
					.name_len = 28,
					.type = 2,
					.value_offset = sizeof(cp) + 28,
					.value_len = 24};
	const char *name = "NetworkAddress", *value = "02AbCd00eF01";
	memset(buf, 0, sizeof(buf));
	memcpy(buf, &cp, sizeof(cp));
	for (int i = 0; i < 14; i++)
		buf[sizeof(cp) + 2 * i] = (uint8_t)name[i];
	for (int i = 0; i < 12; i++)
		buf[sizeof(cp) + 28 + 2 * i] = (uint8_t)value[i];
	ASSERT_EQ(linux_set(&cfg, RNDIS_OID_GEN_RNDIS_CONFIG_PARAMETER, buf, 72),
		  RNDIS_STATUS_SUCCESS);
	size = 6;
	ASSERT_EQ(linux_query(&cfg, RNDIS_OID_802_3_CURRENT_ADDRESS, NULL, 0, mac, &size),
		  RNDIS_STATUS_SUCCESS);
	ASSERT_OK(memcmp(mac, (uint8_t[]){0x02, 0xab, 0xcd, 0x00, 0xef, 0x01}, 6));
	ASSERT_OK(memcmp(rndis_mac(&cfg, &st), mac, 6));
	ASSERT_EQ(linux_query(&cfg, RNDIS_OID_802_3_PERMANENT_ADDRESS, NULL, 0, mac, &size),
		  RNDIS_STATUS_SUCCESS);
	ASSERT_OK(memcmp(mac, cfg.mac, 6));
	/* A multicast address, a short one, a lying value offset. */
	buf[sizeof(cp) + 28 + 2] = '1';
	ASSERT_EQ(linux_set(&cfg, RNDIS_OID_GEN_RNDIS_CONFIG_PARAMETER, buf, 72),
		  RNDIS_STATUS_INVALID_DATA);
	ASSERT_EQ(linux_set(&cfg, RNDIS_OID_GEN_RNDIS_CONFIG_PARAMETER, buf, 70),
		  RNDIS_STATUS_INVALID_DATA);
	put32(buf + 12, 200);
	ASSERT_EQ(linux_set(&cfg, RNDIS_OID_GEN_RNDIS_CONFIG_PARAMETER, buf, 72),
		  RNDIS_STATUS_INVALID_DATA);
	ASSERT_EQ(rndis_mac(&cfg, &st)[0], 0x02);

	ASSERT_EQ(linux_set(&cfg, RNDIS_OID_802_3_MULTICAST_LIST, buf, 12), RNDIS_STATUS_SUCCESS);
	ASSERT_EQ(linux_set(&cfg, RNDIS_OID_802_3_MULTICAST_LIST, buf, 7),
		  RNDIS_STATUS_INVALID_LENGTH);
	ASSERT_EQ(linux_set(&cfg, RNDIS_OID_GEN_XMIT_OK, buf, 4), RNDIS_STATUS_NOT_SUPPORTED);
	size = 64;
	ASSERT_EQ(linux_query(&cfg, RNDIS_OID_GEN_XMIT_OK, NULL, 0, buf, &size),
		  RNDIS_STATUS_NOT_SUPPORTED);
	ASSERT_EQ(linux_query(&cfg, 0x12345678, NULL, 0, buf, &size), RNDIS_STATUS_NOT_SUPPORTED);
}

/* Every OID the supported list names answers within RNDIS_MAX_RESPONSE. */
static void test_supported_list(void)
{
	uint8_t list[RNDIS_MAX_RESPONSE], buf[RNDIS_MAX_RESPONSE];
	uint32_t size = sizeof(list);

	ASSERT_EQ(linux_query(&cfg, RNDIS_OID_GEN_SUPPORTED_LIST, NULL, 0, list, &size),
		  RNDIS_STATUS_SUCCESS);
	ASSERT_GE(size, 4 * 20);
	ASSERT_EQ(size % 4, 0);
	for (uint32_t i = 0; i < size; i += 4) {
		uint32_t oid = get32(list + i), n = sizeof(buf);
		uint32_t status = linux_query(&cfg, oid, NULL, 0, buf, &n);

		ASSERT_TRUE(strcmp(rndis_oid_name(oid), "unknown") != 0);
		/* Set-only OIDs may refuse a QUERY; the rest answer. */
		if (oid != RNDIS_OID_GEN_RECEIVE_SCALE_PARAMETERS &&
		    oid != RNDIS_OID_GEN_RNDIS_CONFIG_PARAMETER &&
		    oid != RNDIS_OID_802_3_MULTICAST_LIST &&
		    oid != RNDIS_OID_TCP_OFFLOAD_PARAMETERS)
			ASSERT_EQ(status, RNDIS_STATUS_SUCCESS);
	}
}

static void test_other_control(void)
{
	uint8_t msg[16] = {0}, out[RNDIS_MAX_RESPONSE];

	put32(msg, RNDIS_MSG_KEEPALIVE);
	put32(msg + 4, 12);
	put32(msg + 8, 99);
	ASSERT_EQ(run(&cfg, msg, 12, out), 16);
	ASSERT_EQ(get32(out), RNDIS_MSG_KEEPALIVE_C);
	ASSERT_EQ(get32(out + 8), 99);
	ASSERT_EQ(get32(out + 12), 0);

	put32(msg, RNDIS_MSG_RESET);
	ASSERT_EQ(run(&cfg, msg, 12, out), 16);
	ASSERT_EQ(get32(out), RNDIS_MSG_RESET_C);
	ASSERT_EQ(get32(out + 8), 0); /* status */
	ASSERT_EQ(get32(out + 12), 0);
	ASSERT_EQ(st.initialized, 1);

	put32(msg, RNDIS_MSG_HALT);
	ASSERT_EQ(run(&cfg, msg, 12, out), 0);
	ASSERT_EQ(st.initialized, 0);

	ASSERT_EQ(rndis_build_indicate(out, RNDIS_STATUS_MEDIA_CONNECT), 20);
	ASSERT_EQ(get32(out), RNDIS_MSG_INDICATE);
	ASSERT_EQ(get32(out + 4), 20);
	ASSERT_EQ(get32(out + 8), RNDIS_STATUS_MEDIA_CONNECT);
	ASSERT_EQ(get32(out + 12), 0);
	ASSERT_EQ(get32(out + 16), 0);

	ASSERT_EQ(rndis_msg_type(msg, 7), 0);
	ASSERT_EQ(rndis_msg_type(msg, 8), RNDIS_MSG_HALT);
	ASSERT_STREQ(rndis_msg_name(RNDIS_MSG_QUERY_C), "QUERY_C");
	ASSERT_STREQ(rndis_oid_name(RNDIS_OID_GEN_LINK_SPEED), "GEN_LINK_SPEED");
}

static void expect_bad_ctl(const uint8_t *msg, uint32_t len)
{
	struct rndis_ctl c = {.type = 0x4242};
	const char *why = NULL;

	ASSERT_EQ(rndis_parse_ctl(msg, len, &c, &why), -EBADMSG);
	ASSERT_TRUE(why != NULL);
	ASSERT_EQ(c.type, 0x4242);
}

static void test_lying_control(void)
{
	uint8_t msg[64];
	uint32_t v = 1,
		 len = oid_msg(msg, RNDIS_MSG_SET, 1, RNDIS_OID_GEN_CURRENT_PACKET_FILTER, &v, 4);
	struct rndis_ctl c;
	const char *why;

	ASSERT_OK(rndis_parse_ctl(msg, len, &c, &why));
	ASSERT_EQ(c.info_len, 4);
	ASSERT_TRUE(c.info == msg + 28);
	expect_bad_ctl(msg, len - 1); /* length says more than was received */
	expect_bad_ctl(msg, 7);
	put32(msg + 4, 7); /* length under a header */
	expect_bad_ctl(msg, len);
	put32(msg + 4, len);
	put32(msg + 20, 16); /* buffer inside the request */
	expect_bad_ctl(msg, len);
	put32(msg + 20, 21); /* buffer running past the end */
	expect_bad_ctl(msg, len);
	put32(msg + 20, 0xFFFFFFFF);
	expect_bad_ctl(msg, len);
	put32(msg + 20, 20);
	put32(msg + 16, 0xFFFFFFF0);
	expect_bad_ctl(msg, len);
	put32(msg + 16, 4);
	put32(msg + 4, 27); /* a body too short for a SET */
	expect_bad_ctl(msg, len);
	put32(msg + 4, len);
	put32(msg, RNDIS_MSG_PACKET);
	expect_bad_ctl(msg, len);
	put32(msg, RNDIS_MSG_INIT_C);
	expect_bad_ctl(msg, len);
	put32(msg, RNDIS_MSG_INIT);
	put32(msg + 4, 23);
	expect_bad_ctl(msg, 64);
	put32(msg, RNDIS_MSG_HALT);
	put32(msg + 4, 11);
	expect_bad_ctl(msg, 64);
	/* A longer buffer than the message: the message's own length rules. */
	put32(msg, RNDIS_MSG_HALT);
	put32(msg + 4, 12);
	ASSERT_OK(rndis_parse_ctl(msg, 64, &c, &why));
	/* A QUERY with no buffer has no pointer. */
	len = oid_msg(msg, RNDIS_MSG_QUERY, 3, RNDIS_OID_GEN_LINK_SPEED, NULL, 0);
	put32(msg + 20, 0x7777);
	ASSERT_OK(rndis_parse_ctl(msg, len, &c, &why));
	ASSERT_TRUE(c.info == NULL);
	ASSERT_EQ(c.oid, RNDIS_OID_GEN_LINK_SPEED);
}

/* ---- Data ---------------------------------------------------------------- */

static uint8_t pkt[70000];

/* A PACKET as netvsc_xmit builds it: header, PPIs, frame. Returns the message length. */
static uint32_t data_msg(const uint8_t *ppi, uint32_t ppi_len, uint32_t frame_len)
{
	uint32_t len = 8 + 36 + ppi_len + frame_len;

	memset(pkt, 0, 8 + 36 + ppi_len);
	put32(pkt, RNDIS_MSG_PACKET);
	put32(pkt + 4, len);
	put32(pkt + 8, 36 + ppi_len); /* data offset */
	put32(pkt + 12, frame_len);
	put32(pkt + 8 + 20, ppi_len ? 36 : 0);
	put32(pkt + 8 + 24, ppi_len);
	if (ppi_len)
		memcpy(pkt + 44, ppi, ppi_len);
	for (uint32_t i = 0; i < frame_len; i++)
		pkt[44 + ppi_len + i] = (uint8_t)i;
	return len;
}

static uint32_t ppi(uint8_t *p, uint32_t type, uint32_t v)
{
	put32(p, 16);
	put32(p + 4, type);
	put32(p + 8, 12);
	put32(p + 12, v);
	return 16;
}

static int parse(uint32_t len, struct rndis_tx *tx, uint32_t head_len)
{
	const char *why = NULL;
	int r = rndis_parse_packet(pkt, head_len, len, 1514, &st, tx, &why);

	if (r < 0)
		ASSERT_TRUE(why != NULL);
	else
		ASSERT_LE(tx->frame_offset + tx->frame_len, len);
	return r;
}

static void test_data(void)
{
	uint8_t p[128];
	struct rndis_tx tx;
	uint32_t len, n;

	len = data_msg(NULL, 0, 60);
	ASSERT_OK(parse(len, &tx, len));
	ASSERT_EQ(tx.frame_offset, 44);
	ASSERT_EQ(tx.frame_len, 60);
	ASSERT_EQ(tx.offload.flags, 0);
	ASSERT_FALSE(tx.has_vlan);

	/* Hash (ignored on TX), VLAN, TCPv4 checksum: the order netvsc_xmit uses. */
	n = ppi(p, RNDIS_PPI_NBL_HASH_VALUE, 0x1234);
	n += ppi(p + n, RNDIS_PPI_IEEE_8021Q, 5 | 1u << 3 | 100u << 4);
	n += ppi(p + n, RNDIS_PPI_TCPIP_CHKSUM, RNDIS_CSUM_TX_IPV4 | RNDIS_CSUM_TX_TCP | 34u << 16);
	len = data_msg(p, n, 1514);
	ASSERT_OK(parse(len, &tx, 44 + n));
	ASSERT_EQ(tx.frame_offset, 44 + n);
	ASSERT_TRUE(tx.has_vlan);
	ASSERT_EQ(tx.vlan_tci, 5 << 13 | 1 << 12 | 100);
	ASSERT_EQ(tx.offload.flags, NET_OFFLOAD_CSUM);
	ASSERT_EQ(tx.offload.csum_start, 34);
	ASSERT_EQ(tx.offload.csum_offset, 16);
	ASSERT_EQ(tx.offload.gso_type, NET_GSO_NONE);
	ASSERT_FALSE(tx.ip_hdr_csum);

	/* UDPv6 with the IP header bit refused (no IPv6 header checksum); plain UDPv6. */
	n = ppi(p, RNDIS_PPI_TCPIP_CHKSUM, RNDIS_CSUM_TX_IPV6 | RNDIS_CSUM_TX_UDP | 54u << 16);
	len = data_msg(p, n, 200);
	ASSERT_OK(parse(len, &tx, len));
	ASSERT_EQ(tx.offload.csum_start, 54);
	ASSERT_EQ(tx.offload.csum_offset, 6);
	ppi(p, RNDIS_PPI_TCPIP_CHKSUM, RNDIS_CSUM_TX_IPV6 | RNDIS_CSUM_TX_IP_HEADER);
	len = data_msg(p, n, 200);
	ASSERT_EQ(parse(len, &tx, len), -EBADMSG);
	ppi(p, RNDIS_PPI_TCPIP_CHKSUM, RNDIS_CSUM_TX_IPV4 | RNDIS_CSUM_TX_IP_HEADER);
	len = data_msg(p, n, 200);
	ASSERT_OK(parse(len, &tx, len));
	ASSERT_TRUE(tx.ip_hdr_csum);
	ASSERT_EQ(tx.offload.flags, 0);
	/* Both TCP and UDP; a transport header outside the frame or inside Ethernet. */
	ppi(p, RNDIS_PPI_TCPIP_CHKSUM, RNDIS_CSUM_TX_TCP | RNDIS_CSUM_TX_UDP | 34u << 16);
	ASSERT_EQ(parse(data_msg(p, n, 200), &tx, 200), -EBADMSG);
	ppi(p, RNDIS_PPI_TCPIP_CHKSUM, RNDIS_CSUM_TX_TCP | 190u << 16);
	ASSERT_EQ(parse(data_msg(p, n, 200), &tx, 200), -EBADMSG);
	ppi(p, RNDIS_PPI_TCPIP_CHKSUM, RNDIS_CSUM_TX_UDP | 192u << 16);
	ASSERT_OK(parse(data_msg(p, n, 200), &tx, 200));
	ppi(p, RNDIS_PPI_TCPIP_CHKSUM, RNDIS_CSUM_TX_UDP | 10u << 16);
	ASSERT_EQ(parse(data_msg(p, n, 200), &tx, 200), -EBADMSG);

	/* LSOv2, IPv4 and IPv6, over the MTU. */
	n = ppi(p, RNDIS_PPI_LSO, RNDIS_LSO_TYPE_V2 | 34u << 20 | 1448);
	len = data_msg(p, n, 30000);
	ASSERT_OK(parse(len, &tx, 44 + n));
	ASSERT_EQ(tx.offload.gso_type, NET_GSO_TCPV4);
	ASSERT_EQ(tx.offload.gso_size, 1448);
	ASSERT_EQ(tx.offload.flags, NET_OFFLOAD_CSUM);
	ASSERT_EQ(tx.offload.csum_start, 34);
	ASSERT_EQ(tx.offload.csum_offset, 16);
	ppi(p, RNDIS_PPI_LSO, RNDIS_LSO_TYPE_V2 | RNDIS_LSO_IPV6 | 54u << 20 | 1428);
	ASSERT_OK(parse(data_msg(p, n, 65550), &tx, 44 + n));
	ASSERT_EQ(tx.offload.gso_type, NET_GSO_TCPV6);
	ASSERT_EQ(tx.offload.csum_start, 54);
	ASSERT_EQ(parse(data_msg(p, n, 65551), &tx, 44 + n), -EMSGSIZE);
	ppi(p, RNDIS_PPI_LSO, 34u << 20 | 1448); /* LSOv1 */
	ASSERT_EQ(parse(data_msg(p, n, 3000), &tx, 44 + n), -EBADMSG);
	ppi(p, RNDIS_PPI_LSO, RNDIS_LSO_TYPE_V2 | 34u << 20); /* mss 0 */
	ASSERT_EQ(parse(data_msg(p, n, 3000), &tx, 44 + n), -EBADMSG);
	ppi(p, RNDIS_PPI_LSO, RNDIS_LSO_TYPE_V2 | 34u << 20 | 0x10000);
	ASSERT_EQ(parse(data_msg(p, n, 3000), &tx, 44 + n), -EBADMSG);

	/* Over the MTU without LSO. */
	ASSERT_EQ(parse(data_msg(NULL, 0, 1515), &tx, 44), -EMSGSIZE);
	ASSERT_OK(parse(data_msg(NULL, 0, 1514), &tx, 44));

	/* Unknown and internal types are skipped, but still bounds-checked. */
	n = ppi(p, 0x33, 0);
	n += ppi(p + n, RNDIS_PPI_INTERNAL | RNDIS_PPI_INTERNAL_PKTINFO_ID, 0);
	ASSERT_OK(parse(data_msg(p, n, 100), &tx, 44 + n));
	ASSERT_EQ(tx.offload.flags, 0);
	put32(p + 16, 17); /* second entry one byte longer than the region */
	ASSERT_EQ(parse(data_msg(p, n, 100), &tx, 44 + n), -EBADMSG);
}

static void test_data_lying(void)
{
	uint8_t p[64];
	struct rndis_tx tx = {.frame_len = 4242};
	uint32_t n = ppi(p, RNDIS_PPI_IEEE_8021Q, 7), len;

	/* PPI entries that lie. */
	put32(p, 11);
	ASSERT_EQ(parse(data_msg(p, n, 100), &tx, 44 + n), -EBADMSG);
	put32(p, 17);
	ASSERT_EQ(parse(data_msg(p, n, 100), &tx, 44 + n), -EBADMSG);
	put32(p, 0);
	ASSERT_EQ(parse(data_msg(p, n, 100), &tx, 44 + n), -EBADMSG);
	put32(p, 16);
	put32(p + 8, 17); /* data offset past the entry */
	ASSERT_EQ(parse(data_msg(p, n, 100), &tx, 44 + n), -EBADMSG);
	put32(p + 8, 14); /* two bytes of data for a u32 */
	ASSERT_EQ(parse(data_msg(p, n, 100), &tx, 44 + n), -EBADMSG);
	put32(p + 8, 4); /* data inside the entry's header */
	ASSERT_EQ(parse(data_msg(p, n, 100), &tx, 44 + n), -EBADMSG);
	put32(p + 8, 12);
	/* The region: outside the head the caller copied, inside the packet header,
	 * running past the message. */
	len = data_msg(p, n, 100);
	ASSERT_EQ(parse(len, &tx, 44 + n - 1), -EBADMSG);
	put32(pkt + 8 + 20, 20);
	ASSERT_EQ(parse(len, &tx, len), -EBADMSG);
	put32(pkt + 8 + 20, 36);
	put32(pkt + 8 + 24, len);
	ASSERT_EQ(parse(len, &tx, len), -EBADMSG);
	put32(pkt + 8 + 24, 0xFFFFFFFF);
	ASSERT_EQ(parse(len, &tx, len), -EBADMSG);
	put32(pkt + 8 + 20, 0xFFFFFFF0);
	put32(pkt + 8 + 24, 0x20);
	ASSERT_EQ(parse(len, &tx, len), -EBADMSG);

	/* The frame outside the message; the message outside the bytes that exist. */
	len = data_msg(NULL, 0, 100);
	put32(pkt + 12, 101);
	ASSERT_EQ(parse(len, &tx, 44), -EBADMSG);
	put32(pkt + 12, 100);
	put32(pkt + 8, 37);
	ASSERT_EQ(parse(len, &tx, 44), -EBADMSG);
	put32(pkt + 8, 35); /* frame inside the packet header */
	ASSERT_EQ(parse(len, &tx, 44), -EBADMSG);
	put32(pkt + 8, 0xFFFFFFFF);
	ASSERT_EQ(parse(len, &tx, 44), -EBADMSG);
	put32(pkt + 8, 36);
	ASSERT_EQ(parse(len - 1, &tx, 44), -EBADMSG);
	put32(pkt + 12, 13); /* under an Ethernet header */
	ASSERT_EQ(parse(len, &tx, 44), -EBADMSG);
	put32(pkt + 12, 100);
	ASSERT_EQ(parse(len, &tx, 43), -EBADMSG);
	put32(pkt, RNDIS_MSG_INIT);
	ASSERT_EQ(parse(len, &tx, 44), -EBADMSG);
	put32(pkt, RNDIS_MSG_PACKET);
	put32(pkt + 4, 43);
	ASSERT_EQ(parse(len, &tx, 44), -EBADMSG);
	ASSERT_EQ(tx.frame_len, 4242); /* nothing written on failure */
}

/* rndis_get_ppi as Linux 6.1 runs it over a received message; returns the value. */
static bool linux_ppi(const uint8_t *msg, uint32_t type, uint32_t *value)
{
	uint32_t rpkt_len = get32(msg + 4) - 8, off = get32(msg + 8 + 20);
	uint32_t len = get32(msg + 8 + 24);

	if (!off)
		return false;
	ASSERT_GE(off, 36);
	ASSERT_LE(off, rpkt_len);
	ASSERT_GE(len, 12);
	ASSERT_LE(len, rpkt_len - off);
	const uint8_t *p = msg + 8 + off;
	while (len > 0) {
		uint32_t size = get32(p), t = get32(p + 4), o = get32(p + 8);

		ASSERT_LE(size, len);
		ASSERT_LT(o, size);
		if (t == type) {
			ASSERT_GE(size - o, 4);
			*value = get32(p + o);
			return true;
		}
		len -= size;
		p += size;
	}
	return false;
}

static void test_rx_header(void)
{
	static uint8_t msg[RNDIS_RX_HEADER_MAX + 1514];
	struct rndis_rx_info info = {.offload = {.flags = NET_OFFLOAD_CSUM_VALID},
				     .has_vlan = true,
				     .vlan_tci = 3 << 13 | 1 << 12 | 42,
				     .has_hash = true,
				     .hash = 0xABCD1234};
	uint32_t hdr, v;

	st.rx_csum = NET_OFFLOAD_CAP_RX_CSUM;
	memset(msg, 0xEE, sizeof(msg));
	hdr = rndis_rx_header(msg, 1514, &st, &info);
	ASSERT_LE(hdr, RNDIS_RX_HEADER_MAX);
	memset(msg + hdr, 0x5A, 1514);
	/* rndis_filter_receive / rndis_filter_receive_data */
	ASSERT_EQ(get32(msg), RNDIS_MSG_PACKET);
	ASSERT_EQ(get32(msg + 4), hdr + 1514);
	ASSERT_EQ(8 + get32(msg + 8), hdr); /* data offset */
	ASSERT_EQ(get32(msg + 12), 1514);
	ASSERT_TRUE(linux_ppi(msg, RNDIS_PPI_TCPIP_CHKSUM, &v));
	ASSERT_TRUE(v & RNDIS_CSUM_RX_TCP_SUCCEEDED);
	ASSERT_TRUE(v & RNDIS_CSUM_RX_UDP_SUCCEEDED);
	ASSERT_FALSE(v & (RNDIS_CSUM_RX_TCP_FAILED | RNDIS_CSUM_RX_UDP_FAILED));
	ASSERT_TRUE(linux_ppi(msg, RNDIS_PPI_IEEE_8021Q, &v));
	ASSERT_EQ(v & 7, 3);		 /* pri */
	ASSERT_TRUE(v & RNDIS_VLAN_CFI); /* cfi */
	ASSERT_EQ((v >> 4) & 0xFFF, 42); /* vlan id */
	ASSERT_TRUE(linux_ppi(msg, RNDIS_PPI_NBL_HASH_VALUE, &v));
	ASSERT_UEQ(v, 0xABCD1234u);

	/* The same bytes parse as a guest's packet would: the VLAN round-trips. */
	info.offload.flags = 0;
	hdr = rndis_rx_header(msg, 1514, &st, &info);
	ASSERT_FALSE(linux_ppi(msg, RNDIS_PPI_TCPIP_CHKSUM, &v));
	struct rndis_tx tx;
	const char *why;
	ASSERT_OK(rndis_parse_packet(msg, hdr, hdr + 1514, 1514, &st, &tx, &why));
	ASSERT_EQ(tx.frame_offset, hdr);
	ASSERT_EQ(tx.frame_len, 1514);
	ASSERT_TRUE(tx.has_vlan);
	ASSERT_EQ(tx.vlan_tci, info.vlan_tci);

	/* Checksums not offered while the guest has not turned receive checksums on. */
	st.rx_csum = 0;
	info.offload.flags = NET_OFFLOAD_CSUM;
	info.has_vlan = info.has_hash = false;
	hdr = rndis_rx_header(msg, 60, &st, &info);
	ASSERT_EQ(hdr, 44);
	ASSERT_EQ(get32(msg + 8 + 20), 0);
	ASSERT_EQ(get32(msg + 8 + 24), 0);
	ASSERT_OK(rndis_parse_packet(msg, hdr, hdr + 60, 1514, &st, &tx, &why));
	ASSERT_FALSE(tx.has_vlan);
}

static uint16_t fold_sum(const uint8_t *p, uint32_t len)
{
	uint32_t sum = 0;

	for (uint32_t i = 0; i < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xFFFF) + (sum >> 16);
	return (uint16_t)sum;
}

static void test_fix_headers(void)
{
	uint8_t h[128] = {0};
	struct rndis_tx tx = {.frame_len = 30000,
			      .offload = {.gso_type = NET_GSO_TCPV4, .gso_size = 1448}};
	const char *why = NULL;

	/* IPv4 with tot_len and checksum zeroed, as netvsc_xmit leaves them. */
	h[12] = 0x08;
	h[14] = 0x45;
	h[14 + 8] = 64;
	h[14 + 9] = 6;
	memcpy(h + 14 + 12, (uint8_t[]){10, 0, 0, 1, 10, 0, 0, 2}, 8);
	ASSERT_OK(rndis_tx_fix_headers(h, 54, &tx, &why));
	ASSERT_EQ(h[16] << 8 | h[17], 30000 - 14);
	ASSERT_EQ(fold_sum(h + 14, 20), 0xFFFF);
	ASSERT_EQ(rndis_tx_fix_headers(h, 33, &tx, &why), -EBADMSG);
	h[14] = 0x65; /* not version 4 */
	ASSERT_EQ(rndis_tx_fix_headers(h, 54, &tx, &why), -EBADMSG);
	h[14] = 0x4F; /* IHL past the bytes given */
	ASSERT_EQ(rndis_tx_fix_headers(h, 54, &tx, &why), -EBADMSG);

	/* IPv6: payload_len. */
	memset(h, 0, sizeof(h));
	h[12] = 0x86;
	h[13] = 0xDD;
	h[14] = 0x60;
	tx.offload.gso_type = NET_GSO_TCPV6;
	ASSERT_OK(rndis_tx_fix_headers(h, 74, &tx, &why));
	ASSERT_EQ(h[18] << 8 | h[19], 30000 - 14 - 40);
	ASSERT_EQ(rndis_tx_fix_headers(h, 53, &tx, &why), -EBADMSG);

	/* Only the checksum asked for; nothing asked. */
	memset(h, 0, sizeof(h));
	h[12] = 0x08;
	h[14] = 0x46;
	h[14 + 2] = 0x01;
	tx = (struct rndis_tx){.frame_len = 300, .ip_hdr_csum = true};
	ASSERT_OK(rndis_tx_fix_headers(h, 64, &tx, &why));
	ASSERT_EQ(h[16], 0x01); /* tot_len untouched */
	ASSERT_EQ(fold_sum(h + 14, 24), 0xFFFF);
	tx.ip_hdr_csum = false;
	ASSERT_OK(rndis_tx_fix_headers(h, 0, &tx, &why));
}

int main(void)
{
	test_init();
	test_linux_probe();
	test_rss();
	test_filter_mac_misc();
	test_supported_list();
	test_other_control();
	test_lying_control();
	test_data();
	test_data_lying();
	test_rx_header();
	test_fix_headers();
	return 0;
}
