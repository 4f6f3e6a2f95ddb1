/* SPDX-License-Identifier: MIT */
/*
 * The OIDs mhcl answers, from the NIC's configuration and the guest's settings.
 *
 *   QUERY: GEN_SUPPORTED_LIST, HARDWARE_STATUS, MEDIA_SUPPORTED/IN_USE,
 *          MAXIMUM_FRAME_SIZE (the IP MTU), LINK_SPEED (100 bps units),
 *          TRANSMIT/RECEIVE_BLOCK_SIZE and MAXIMUM_TOTAL_SIZE (the frame), VENDOR_ID,
 *          VENDOR_DESCRIPTION, CURRENT_PACKET_FILTER, MEDIA_CONNECT_STATUS (connected),
 *          802_3_PERMANENT/CURRENT_ADDRESS, 802_3_MAXIMUM_LIST_SIZE, GEN_FRIENDLY_NAME,
 *          TCP_OFFLOAD_HARDWARE_CAPABILITIES, GEN_RECEIVE_SCALE_CAPABILITIES.
 *   SET:   CURRENT_PACKET_FILTER, TCP_OFFLOAD_PARAMETERS, GEN_RECEIVE_SCALE_PARAMETERS,
 *          GEN_RNDIS_CONFIG_PARAMETER ("NetworkAddress"), 802_3_MULTICAST_LIST.
 * Everything else (statistics included) is RNDIS_STATUS_NOT_SUPPORTED.
 */
#include <stdbool.h>
#include <string.h>

#include "rndis_internal.h"

#define ETH_HEADER 14u
#define MULTICAST_LIST_MAX 32u
/* What Linux caps its TSO frames to; a little under 64 KiB leaves room for headers. */
#define LSO_MAX_SIZE 62780u
#define LSO_MIN_SEGMENTS 2u
#define VENDOR_DESCRIPTION "mhcl synthetic network adapter"

static const uint32_t supported_oids[] = {
    RNDIS_OID_GEN_SUPPORTED_LIST,
    RNDIS_OID_GEN_HARDWARE_STATUS,
    RNDIS_OID_GEN_MEDIA_SUPPORTED,
    RNDIS_OID_GEN_MEDIA_IN_USE,
    RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE,
    RNDIS_OID_GEN_LINK_SPEED,
    RNDIS_OID_GEN_TRANSMIT_BLOCK_SIZE,
    RNDIS_OID_GEN_RECEIVE_BLOCK_SIZE,
    RNDIS_OID_GEN_VENDOR_ID,
    RNDIS_OID_GEN_VENDOR_DESCRIPTION,
    RNDIS_OID_GEN_CURRENT_PACKET_FILTER,
    RNDIS_OID_GEN_MAXIMUM_TOTAL_SIZE,
    RNDIS_OID_GEN_MEDIA_CONNECT_STATUS,
    RNDIS_OID_GEN_FRIENDLY_NAME,
    RNDIS_OID_GEN_RECEIVE_SCALE_CAPABILITIES,
    RNDIS_OID_GEN_RECEIVE_SCALE_PARAMETERS,
    RNDIS_OID_GEN_RNDIS_CONFIG_PARAMETER,
    RNDIS_OID_802_3_PERMANENT_ADDRESS,
    RNDIS_OID_802_3_CURRENT_ADDRESS,
    RNDIS_OID_802_3_MULTICAST_LIST,
    RNDIS_OID_802_3_MAXIMUM_LIST_SIZE,
    RNDIS_OID_TCP_OFFLOAD_PARAMETERS,
    RNDIS_OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES,
};

static uint32_t u32_answer(uint8_t *info, uint32_t *len, uint32_t v)
{
	rndis__put32(info, v);
	*len = sizeof(v);
	return RNDIS_STATUS_SUCCESS;
}

static uint32_t bytes_answer(uint8_t *info, uint32_t *len, const void *p, uint32_t n)
{
	memcpy(info, p, n);
	*len = n;
	return RNDIS_STATUS_SUCCESS;
}

/* The name in UTF-16LE with its terminator (Linux reads up to it); nothing if unset. */
static uint32_t friendly_name(const struct rndis_config *cfg, uint8_t *info, uint32_t *len)
{
	uint32_t n = 0;

	for (; n < sizeof(cfg->friendly_name) - 1 && cfg->friendly_name[n]; n++) {
		uint8_t ch = (uint8_t)cfg->friendly_name[n];

		info[2 * n] = ch < 0x80 ? ch : '?';
		info[2 * n + 1] = 0;
	}
	*len = n ? 2 * n + 2 : 0;
	return RNDIS_STATUS_SUCCESS;
}

/* The revision the guest asks for (its query carries an object header) and its size. */
static uint16_t hwcaps_size(const struct rndis_ctl *c, uint8_t *revision)
{
	struct ndis_object_header h;

	*revision = NDIS_OFFLOAD_REVISION_3;
	if (c->info_len >= sizeof(h)) {
		memcpy(&h, c->info, sizeof(h));
		if (h.type == NDIS_OBJECT_TYPE_OFFLOAD && h.revision == NDIS_OFFLOAD_REVISION_1) {
			*revision = h.revision;
			return NDIS_OFFLOAD_SIZE_6_0;
		}
		if (h.type == NDIS_OBJECT_TYPE_OFFLOAD && h.revision == NDIS_OFFLOAD_REVISION_2) {
			*revision = h.revision;
			return NDIS_OFFLOAD_SIZE_6_1;
		}
	}
	return NDIS_OFFLOAD_SIZE;
}

/* What Linux's rndis_netdev_set_hwcaps turns into NETIF_F_* features. */
static uint32_t hwcaps(const struct rndis_config *cfg, const struct rndis_ctl *c, uint8_t *info,
		       uint32_t *len)
{
	const uint32_t csum4 = NDIS_CSUM_CAP_IP4_OPTIONS | NDIS_CSUM_CAP_TCP_OPTIONS |
			       NDIS_CSUM_CAP_TCP | NDIS_CSUM_CAP_UDP | NDIS_CSUM_CAP_IP4;
	const uint32_t csum6 = NDIS_CSUM_CAP_IP6_EXT_HEADERS | NDIS_CSUM_CAP_TCP_OPTIONS |
			       NDIS_CSUM_CAP_TCP | NDIS_CSUM_CAP_UDP;
	struct ndis_offload o;
	uint8_t revision;
	uint16_t size = hwcaps_size(c, &revision);

	memset(&o, 0, sizeof(o));
	o.header.type = NDIS_OBJECT_TYPE_OFFLOAD;
	o.header.revision = revision;
	o.header.size = size;
	if (cfg->offload_caps & NET_OFFLOAD_CAP_TX_CSUM) {
		o.csum.ip4_tx_encap = o.csum.ip6_tx_encap = NDIS_OFFLOAD_ENCAP_8023;
		o.csum.ip4_tx_csum = csum4;
		o.csum.ip6_tx_csum = csum6;
	}
	if (cfg->offload_caps & NET_OFFLOAD_CAP_RX_CSUM) {
		o.csum.ip4_rx_encap = o.csum.ip6_rx_encap = NDIS_OFFLOAD_ENCAP_8023;
		o.csum.ip4_rx_csum = csum4;
		o.csum.ip6_rx_csum = csum6;
	}
	/* Linux only looks at LSO when it can checksum TCP: the backend does both. */
	if ((cfg->offload_caps & NET_OFFLOAD_CAP_TX_LSO) &&
	    (cfg->offload_caps & NET_OFFLOAD_CAP_TX_CSUM)) {
		o.lsov2.ip4_encap = o.lsov2.ip6_encap = NDIS_OFFLOAD_ENCAP_8023;
		o.lsov2.ip4_max_size = o.lsov2.ip6_max_size = LSO_MAX_SIZE;
		o.lsov2.ip4_min_segments = o.lsov2.ip6_min_segments = LSO_MIN_SEGMENTS;
		o.lsov2.ip6_options = NDIS_LSOV2_CAP_IP6_EXT_HEADERS | NDIS_LSOV2_CAP_TCP_OPTIONS;
	}
	return bytes_answer(info, len, &o, size);
}

static uint32_t rss_caps(const struct rndis_config *cfg, uint8_t *info, uint32_t *len)
{
	struct ndis_recv_scale_cap r = {
	    .header = {NDIS_OBJECT_TYPE_RSS_CAPABILITIES, NDIS_RSS_CAPS_REVISION_2,
		       sizeof(struct ndis_recv_scale_cap)},
	    .cap_flags = NDIS_RSS_CAPS_CLASSIFICATION_AT_DPC | NDIS_RSS_CAPS_HASH_TYPE_TCP_IPV4 |
			 NDIS_RSS_CAPS_HASH_TYPE_TCP_IPV6,
	    .num_int_msgs = 1,
	    .num_recv_queues = cfg->max_queues,
	    .num_indirection_entries = RNDIS_RSS_TABLE_MAX,
	};

	return bytes_answer(info, len, &r, sizeof(r));
}

uint32_t rndis__query(const struct rndis_config *cfg, const struct rndis_state *st,
		      const struct rndis_ctl *c, uint8_t *info, uint32_t *len, const char **note)
{
	uint32_t frame = cfg->mtu + ETH_HEADER;
	uint64_t speed = cfg->link_speed_bps / 100;
	const uint8_t *mac;

	static_assert(sizeof(supported_oids) <= RNDIS__QUERY_INFO_MAX, "OID list fits");
	static_assert(2 * sizeof(cfg->friendly_name) <= RNDIS__QUERY_INFO_MAX, "name fits");
	static_assert(NDIS_OFFLOAD_SIZE <= RNDIS__QUERY_INFO_MAX, "offload caps fit");
	*len = 0;
	switch (c->oid) {
	case RNDIS_OID_GEN_SUPPORTED_LIST:
		return bytes_answer(info, len, supported_oids, sizeof(supported_oids));
	case RNDIS_OID_GEN_HARDWARE_STATUS: /* NdisHardwareStatusReady */
	case RNDIS_OID_GEN_MEDIA_SUPPORTED:
	case RNDIS_OID_GEN_MEDIA_IN_USE:
		return u32_answer(info, len, RNDIS_MEDIUM_802_3);
	case RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE:
		return u32_answer(info, len, cfg->mtu);
	case RNDIS_OID_GEN_LINK_SPEED:
		return u32_answer(info, len, speed > UINT32_MAX ? UINT32_MAX : (uint32_t)speed);
	case RNDIS_OID_GEN_TRANSMIT_BLOCK_SIZE:
	case RNDIS_OID_GEN_RECEIVE_BLOCK_SIZE:
	case RNDIS_OID_GEN_MAXIMUM_TOTAL_SIZE:
		return u32_answer(info, len, frame);
	case RNDIS_OID_GEN_VENDOR_ID: /* the MAC's OUI, vendor-defined byte 0 */
		return u32_answer(info, len,
				  cfg->mac[0] | (uint32_t)cfg->mac[1] << 8 |
				      (uint32_t)cfg->mac[2] << 16);
	case RNDIS_OID_GEN_VENDOR_DESCRIPTION:
		return bytes_answer(info, len, VENDOR_DESCRIPTION, sizeof(VENDOR_DESCRIPTION));
	case RNDIS_OID_GEN_CURRENT_PACKET_FILTER:
		return u32_answer(info, len, st->packet_filter);
	case RNDIS_OID_GEN_MEDIA_CONNECT_STATUS:
		return u32_answer(info, len, RNDIS_MEDIA_STATE_CONNECTED);
	case RNDIS_OID_802_3_PERMANENT_ADDRESS:
		return bytes_answer(info, len, cfg->mac, sizeof(cfg->mac));
	case RNDIS_OID_802_3_CURRENT_ADDRESS:
		mac = rndis_mac(cfg, st);
		return bytes_answer(info, len, mac, sizeof(cfg->mac));
	case RNDIS_OID_802_3_MAXIMUM_LIST_SIZE:
		return u32_answer(info, len, MULTICAST_LIST_MAX);
	case RNDIS_OID_GEN_FRIENDLY_NAME:
		return friendly_name(cfg, info, len);
	case RNDIS_OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES:
		return hwcaps(cfg, c, info, len);
	case RNDIS_OID_GEN_RECEIVE_SCALE_CAPABILITIES:
		return rss_caps(cfg, info, len);
	default:
		*note = "OID not supported";
		return RNDIS_STATUS_NOT_SUPPORTED;
	}
}

/* ---- SET ----------------------------------------------------------------- */

/* Folds one NDIS_OFFLOAD_PARAMETERS checksum field into "any said", "any turned on". */
static void fold_csum(uint8_t v, bool *tx_said, bool *tx_on, bool *rx_said, bool *rx_on)
{
	if (v == NDIS_OFFLOAD_PARAMS_NO_CHANGE)
		return;
	*tx_said = *rx_said = true;
	*tx_on |= v == NDIS_OFFLOAD_PARAMS_TX_ENABLED_RX_DISABLED ||
		  v == NDIS_OFFLOAD_PARAMS_TX_RX_ENABLED;
	*rx_on |= v == NDIS_OFFLOAD_PARAMS_RX_ENABLED_TX_DISABLED ||
		  v == NDIS_OFFLOAD_PARAMS_TX_RX_ENABLED;
}

/*
 * The guest turns offloads on and off; mhcl records what it may ask for, never more than
 * the backend can do. The IPv4 header checksum field is ignored (Linux always turns it
 * off and checksums IP headers itself); each of tx_csum / rx_csum / tx_lso is on when any
 * of its TCP/UDP, v4/v6 fields turns it on.
 */
static uint32_t set_offload(const struct rndis_config *cfg, struct rndis_state *st,
			    const struct rndis_ctl *c, const char **note)
{
	struct ndis_offload_params p;
	bool tx_said = false, tx_on = false, rx_said = false, rx_on = false;
	bool lso_said = false, lso_on = false;

	if (c->info_len < NDIS_OFFLOAD_PARAMS_SIZE_MIN) {
		*note = "offload parameters too short";
		return RNDIS_STATUS_INVALID_LENGTH;
	}
	memset(&p, 0, sizeof(p));
	memcpy(&p, c->info, c->info_len < sizeof(p) ? c->info_len : sizeof(p));
	const uint8_t csum[] = {p.ip4_csum, p.tcp4_csum, p.udp4_csum, p.tcp6_csum, p.udp6_csum};
	for (size_t i = 0; i < sizeof(csum); i++) {
		if (csum[i] > NDIS_OFFLOAD_PARAMS_TX_RX_ENABLED) {
			*note = "unknown checksum offload setting";
			return RNDIS_STATUS_INVALID_DATA;
		}
	}
	if (p.lsov2_ip4 > NDIS_OFFLOAD_PARAMS_LSOV2_ENABLED ||
	    p.lsov2_ip6 > NDIS_OFFLOAD_PARAMS_LSOV2_ENABLED) {
		*note = "unknown LSOv2 setting";
		return RNDIS_STATUS_INVALID_DATA;
	}
	for (size_t i = 1; i < sizeof(csum); i++)
		fold_csum(csum[i], &tx_said, &tx_on, &rx_said, &rx_on);
	const uint8_t lso[] = {p.lsov2_ip4, p.lsov2_ip6};
	for (size_t i = 0; i < sizeof(lso); i++) {
		lso_said |= lso[i] != NDIS_OFFLOAD_PARAMS_NO_CHANGE;
		lso_on |= lso[i] == NDIS_OFFLOAD_PARAMS_LSOV2_ENABLED;
	}
	if (tx_said)
		st->tx_csum = tx_on ? cfg->offload_caps & NET_OFFLOAD_CAP_TX_CSUM : 0;
	if (rx_said)
		st->rx_csum = rx_on ? cfg->offload_caps & NET_OFFLOAD_CAP_RX_CSUM : 0;
	if (lso_said)
		st->tx_lso = lso_on ? cfg->offload_caps & NET_OFFLOAD_CAP_TX_LSO : 0;
	*note = "offload parameters set";
	return RNDIS_STATUS_SUCCESS;
}

/* A region [off, off + size) of the info buffer, or false. */
static bool region_ok(const struct rndis_ctl *c, uint32_t off, uint32_t size)
{
	return off <= c->info_len && size <= c->info_len - off;
}

/*
 * RSS: Linux disables, then enables with a full table (128 u32 queue numbers) and key.
 * Each of hash info, table and key may be marked unchanged; everything is checked before
 * anything is stored.
 */
static uint32_t set_rss(const struct rndis_config *cfg, struct rndis_state *st,
			const struct rndis_ctl *c, const char **note)
{
	struct ndis_recv_scale_param p;
	uint16_t table[RNDIS_RSS_TABLE_MAX];
	uint32_t entries = st->rss_table_size, hash_info = st->rss_hash_info;

	if (c->info_len < NDIS_RSS_PARAMS_SIZE_REVISION_1) {
		*note = "RSS parameters too short";
		return RNDIS_STATUS_INVALID_LENGTH;
	}
	memset(&p, 0, sizeof(p));
	memcpy(&p, c->info, c->info_len < sizeof(p) ? c->info_len : sizeof(p));
	if (p.header.type != NDIS_OBJECT_TYPE_RSS_PARAMETERS) {
		*note = "not an RSS parameters object";
		return RNDIS_STATUS_INVALID_DATA;
	}
	if (p.flags & NDIS_RSS_PARAM_FLAG_DISABLE_RSS) {
		st->rss_enabled = 0;
		*note = "RSS disabled";
		return RNDIS_STATUS_SUCCESS;
	}
	if (!(p.flags & NDIS_RSS_PARAM_FLAG_HASH_INFO_UNCHANGED)) {
		if ((p.hash_info & 0xFFu) != NDIS_HASH_FUNC_TOEPLITZ) {
			*note = "RSS hash function not Toeplitz";
			return RNDIS_STATUS_NOT_SUPPORTED;
		}
		hash_info = p.hash_info;
	}
	if (!(p.flags & NDIS_RSS_PARAM_FLAG_ITABLE_UNCHANGED)) {
		if (!p.table_size || p.table_size % NDIS_RSS_TABLE_ENTRY_SIZE ||
		    p.table_size > RNDIS_RSS_TABLE_MAX * NDIS_RSS_TABLE_ENTRY_SIZE ||
		    !region_ok(c, p.table_offset, p.table_size)) {
			*note = "RSS indirection table outside the buffer or too large";
			return RNDIS_STATUS_INVALID_DATA;
		}
		entries = p.table_size / NDIS_RSS_TABLE_ENTRY_SIZE;
		for (uint32_t i = 0; i < entries; i++) {
			uint32_t q =
			    rndis__get32(c->info + p.table_offset + i * NDIS_RSS_TABLE_ENTRY_SIZE);

			if (q >= cfg->max_queues) {
				*note = "RSS indirection table names a queue that does not exist";
				return RNDIS_STATUS_INVALID_DATA;
			}
			table[i] = (uint16_t)q;
		}
	}
	if (!entries) {
		*note = "RSS enabled without an indirection table";
		return RNDIS_STATUS_INVALID_DATA;
	}
	if (!(p.flags & NDIS_RSS_PARAM_FLAG_HASH_KEY_UNCHANGED)) {
		if (!p.key_size || p.key_size > RNDIS_RSS_KEY_MAX ||
		    !region_ok(c, p.key_offset, p.key_size)) {
			*note = "RSS key outside the buffer or too large";
			return RNDIS_STATUS_INVALID_DATA;
		}
		memset(st->rss_key, 0, sizeof(st->rss_key));
		memcpy(st->rss_key, c->info + p.key_offset, p.key_size);
		st->rss_key_size = p.key_size;
	}
	if (!(p.flags & NDIS_RSS_PARAM_FLAG_ITABLE_UNCHANGED)) {
		memcpy(st->rss_table, table, entries * sizeof(table[0]));
		st->rss_table_size = entries;
	}
	st->rss_hash_info = hash_info;
	st->rss_enabled = 1;
	*note = "RSS enabled";
	return RNDIS_STATUS_SUCCESS;
}

static int hex_digit(uint16_t ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Whether the UTF-16LE string at s (len bytes) is ascii, ignoring ASCII case. */
static bool utf16_equals(const uint8_t *s, uint32_t len, const char *ascii)
{
	size_t n = strlen(ascii);

	if (len != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		uint16_t ch = (uint16_t)(s[2 * i] | s[2 * i + 1] << 8);
		uint16_t want = (uint8_t)ascii[i];

		if (ch >= 'A' && ch <= 'Z')
			ch += 'a' - 'A';
		if (want >= 'A' && want <= 'Z')
			want += 'a' - 'A';
		if (ch != want)
			return false;
	}
	return true;
}

/* "NetworkAddress" = 12 hex digits (UTF-16LE, '-' and ':' allowed between bytes). */
static uint32_t set_config_param(struct rndis_state *st, const struct rndis_ctl *c,
				 const char **note)
{
	struct rndis_config_param p;
	uint8_t mac[6] = {0};
	uint32_t digits = 0;

	if (c->info_len < sizeof(p)) {
		*note = "configuration parameter too short";
		return RNDIS_STATUS_INVALID_LENGTH;
	}
	memcpy(&p, c->info, sizeof(p));
	if (!region_ok(c, p.name_offset, p.name_len) ||
	    !region_ok(c, p.value_offset, p.value_len)) {
		*note = "configuration parameter outside the buffer";
		return RNDIS_STATUS_INVALID_DATA;
	}
	if (!utf16_equals(c->info + p.name_offset, p.name_len, "NetworkAddress")) {
		/* Windows passes its registry settings this way; none concerns mhcl. */
		*note = "configuration parameter ignored";
		return RNDIS_STATUS_SUCCESS;
	}
	if (p.type != RNDIS_CONFIG_PARAM_STRING) {
		*note = "NetworkAddress not a string";
		return RNDIS_STATUS_INVALID_DATA;
	}
	for (uint32_t i = 0; i + 1 < p.value_len; i += 2) {
		const uint8_t *v = c->info + p.value_offset + i;
		uint16_t ch = (uint16_t)(v[0] | v[1] << 8);
		int d = hex_digit(ch);

		if (ch == 0)
			break;
		if (ch == '-' || ch == ':')
			continue;
		if (d < 0 || digits == 2 * sizeof(mac))
			goto bad_mac;
		mac[digits / 2] = (uint8_t)(mac[digits / 2] << 4 | d);
		digits++;
	}
	/* A unicast address, and not zero. */
	if (digits != 2 * sizeof(mac) || (mac[0] & 1) ||
	    !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
		goto bad_mac;
	memset(st->mac_override, 0, sizeof(st->mac_override));
	memcpy(st->mac_override, mac, sizeof(mac));
	st->has_mac_override = 1;
	*note = "MAC address changed";
	return RNDIS_STATUS_SUCCESS;

bad_mac:
	*note = "NetworkAddress not a unicast MAC";
	return RNDIS_STATUS_INVALID_DATA;
}

uint32_t rndis__set(const struct rndis_config *cfg, struct rndis_state *st,
		    const struct rndis_ctl *c, const char **note)
{
	switch (c->oid) {
	case RNDIS_OID_GEN_CURRENT_PACKET_FILTER:
		if (c->info_len < sizeof(uint32_t)) {
			*note = "packet filter too short";
			return RNDIS_STATUS_INVALID_LENGTH;
		}
		st->packet_filter = rndis__get32(c->info);
		*note = "packet filter set";
		return RNDIS_STATUS_SUCCESS;
	case RNDIS_OID_TCP_OFFLOAD_PARAMETERS:
		return set_offload(cfg, st, c, note);
	case RNDIS_OID_GEN_RECEIVE_SCALE_PARAMETERS:
		return set_rss(cfg, st, c, note);
	case RNDIS_OID_GEN_RNDIS_CONFIG_PARAMETER:
		return set_config_param(st, c, note);
	case RNDIS_OID_802_3_MULTICAST_LIST:
		/* Accepted: the backend delivers all multicast frames anyway. */
		if (c->info_len % 6 || c->info_len > 6 * MULTICAST_LIST_MAX) {
			*note = "multicast list not a list of addresses";
			return RNDIS_STATUS_INVALID_LENGTH;
		}
		return RNDIS_STATUS_SUCCESS;
	default:
		*note = "OID not supported";
		return RNDIS_STATUS_NOT_SUPPORTED;
	}
}

const char *rndis_oid_name(uint32_t oid)
{
	static const struct {
		uint32_t oid;
		const char *name;
	} names[] = {
	    {RNDIS_OID_GEN_SUPPORTED_LIST, "GEN_SUPPORTED_LIST"},
	    {RNDIS_OID_GEN_HARDWARE_STATUS, "GEN_HARDWARE_STATUS"},
	    {RNDIS_OID_GEN_MEDIA_SUPPORTED, "GEN_MEDIA_SUPPORTED"},
	    {RNDIS_OID_GEN_MEDIA_IN_USE, "GEN_MEDIA_IN_USE"},
	    {RNDIS_OID_GEN_MAXIMUM_LOOKAHEAD, "GEN_MAXIMUM_LOOKAHEAD"},
	    {RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE, "GEN_MAXIMUM_FRAME_SIZE"},
	    {RNDIS_OID_GEN_LINK_SPEED, "GEN_LINK_SPEED"},
	    {RNDIS_OID_GEN_TRANSMIT_BLOCK_SIZE, "GEN_TRANSMIT_BLOCK_SIZE"},
	    {RNDIS_OID_GEN_RECEIVE_BLOCK_SIZE, "GEN_RECEIVE_BLOCK_SIZE"},
	    {RNDIS_OID_GEN_VENDOR_ID, "GEN_VENDOR_ID"},
	    {RNDIS_OID_GEN_VENDOR_DESCRIPTION, "GEN_VENDOR_DESCRIPTION"},
	    {RNDIS_OID_GEN_CURRENT_PACKET_FILTER, "GEN_CURRENT_PACKET_FILTER"},
	    {RNDIS_OID_GEN_CURRENT_LOOKAHEAD, "GEN_CURRENT_LOOKAHEAD"},
	    {RNDIS_OID_GEN_DRIVER_VERSION, "GEN_DRIVER_VERSION"},
	    {RNDIS_OID_GEN_MAXIMUM_TOTAL_SIZE, "GEN_MAXIMUM_TOTAL_SIZE"},
	    {RNDIS_OID_GEN_MAC_OPTIONS, "GEN_MAC_OPTIONS"},
	    {RNDIS_OID_GEN_MEDIA_CONNECT_STATUS, "GEN_MEDIA_CONNECT_STATUS"},
	    {RNDIS_OID_GEN_MAXIMUM_SEND_PACKETS, "GEN_MAXIMUM_SEND_PACKETS"},
	    {RNDIS_OID_GEN_VENDOR_DRIVER_VERSION, "GEN_VENDOR_DRIVER_VERSION"},
	    {RNDIS_OID_GEN_NETWORK_LAYER_ADDRESSES, "GEN_NETWORK_LAYER_ADDRESSES"},
	    {RNDIS_OID_GEN_RECEIVE_SCALE_CAPABILITIES, "GEN_RECEIVE_SCALE_CAPABILITIES"},
	    {RNDIS_OID_GEN_RECEIVE_SCALE_PARAMETERS, "GEN_RECEIVE_SCALE_PARAMETERS"},
	    {RNDIS_OID_GEN_RNDIS_CONFIG_PARAMETER, "GEN_RNDIS_CONFIG_PARAMETER"},
	    {RNDIS_OID_GEN_XMIT_OK, "GEN_XMIT_OK"},
	    {RNDIS_OID_GEN_RCV_OK, "GEN_RCV_OK"},
	    {RNDIS_OID_GEN_XMIT_ERROR, "GEN_XMIT_ERROR"},
	    {RNDIS_OID_GEN_RCV_ERROR, "GEN_RCV_ERROR"},
	    {RNDIS_OID_GEN_RCV_NO_BUFFER, "GEN_RCV_NO_BUFFER"},
	    {RNDIS_OID_GEN_FRIENDLY_NAME, "GEN_FRIENDLY_NAME"},
	    {RNDIS_OID_802_3_PERMANENT_ADDRESS, "802_3_PERMANENT_ADDRESS"},
	    {RNDIS_OID_802_3_CURRENT_ADDRESS, "802_3_CURRENT_ADDRESS"},
	    {RNDIS_OID_802_3_MULTICAST_LIST, "802_3_MULTICAST_LIST"},
	    {RNDIS_OID_802_3_MAXIMUM_LIST_SIZE, "802_3_MAXIMUM_LIST_SIZE"},
	    {RNDIS_OID_OFFLOAD_ENCAPSULATION, "OFFLOAD_ENCAPSULATION"},
	    {RNDIS_OID_TCP_OFFLOAD_CURRENT_CONFIG, "TCP_OFFLOAD_CURRENT_CONFIG"},
	    {RNDIS_OID_TCP_OFFLOAD_PARAMETERS, "TCP_OFFLOAD_PARAMETERS"},
	    {RNDIS_OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES, "TCP_OFFLOAD_HARDWARE_CAPABILITIES"},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].oid == oid)
			return names[i].name;
	return "unknown";
}
