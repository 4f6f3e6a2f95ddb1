/* SPDX-License-Identifier: MIT */
/*
 * RNDIS data packets: a guest's PACKET message parsed into where its frame is and what
 * the host must finish (checksums, segmentation, VLAN tag), and the header the host puts
 * before each frame it passes to the guest.
 */
#include <errno.h>
#include <string.h>

#include "rndis_internal.h"

#define ETH_HEADER 14u
#define ETH_P_IPV4 0x0800u
#define ETH_P_IPV6 0x86DDu
#define ETH_P_8021Q 0x8100u
#define TCP_CSUM_OFFSET 16u
#define UDP_CSUM_OFFSET 6u
#define TCP_HEADER_MIN 20u
#define UDP_HEADER 8u
#define IPV4_HEADER_MIN 20u
#define IPV6_HEADER 40u

/* What the per-packet info asked for, before it is judged against the frame. */
struct ppi_seen {
	bool csum, lso, vlan;
	uint32_t csum_v, lso_v, vlan_v;
};

/* Walks the per-packet info entries in ppi[0, len): every size and offset is checked,
 * the known types are recorded and the rest are skipped. */
static int walk_ppi(const uint8_t *ppi, uint32_t len, struct ppi_seen *seen, const char **why)
{
	uint32_t pos = 0;

	while (pos < len) {
		struct rndis_ppi h;
		uint32_t left = len - pos;

		if (left < sizeof(h)) {
			*why = "per-packet info entry cut short";
			return -EBADMSG;
		}
		memcpy(&h, ppi + pos, sizeof(h));
		/* size > 0 also bounds the loop: each entry moves pos forward. */
		if (h.size < sizeof(h) || h.size > left || h.offset < sizeof(h) ||
		    h.offset > h.size) {
			*why = "per-packet info entry outside its region";
			return -EBADMSG;
		}
		const uint8_t *data = ppi + pos + h.offset;
		uint32_t data_len = h.size - h.offset;
		bool internal = h.type & RNDIS_PPI_INTERNAL;
		uint32_t type = h.type & RNDIS_PPI_TYPE_MASK;

		pos += h.size;
		if (internal || (type != RNDIS_PPI_TCPIP_CHKSUM && type != RNDIS_PPI_LSO &&
				 type != RNDIS_PPI_IEEE_8021Q))
			continue; /* the TX hash and the rest mean nothing to the host */
		if (data_len < sizeof(uint32_t)) {
			*why = "per-packet info value cut short";
			return -EBADMSG;
		}
		uint32_t v = rndis__get32(data);

		if (type == RNDIS_PPI_TCPIP_CHKSUM) {
			seen->csum = true;
			seen->csum_v = v;
		} else if (type == RNDIS_PPI_LSO) {
			seen->lso = true;
			seen->lso_v = v;
		} else {
			seen->vlan = true;
			seen->vlan_v = v;
		}
	}
	return 0;
}

/* A checksum the host finishes: transport header at start, checksum field at +offset,
 * both inside the frame. */
static int want_csum(struct rndis_tx *tx, uint32_t start, uint32_t offset, uint32_t hdr_min,
		     const char **why)
{
	if (start < ETH_HEADER || hdr_min > tx->frame_len || start > tx->frame_len - hdr_min) {
		*why = "transport header outside the frame";
		return -EBADMSG;
	}
	tx->offload.flags |= NET_OFFLOAD_CSUM;
	tx->offload.csum_start = (uint16_t)start;
	tx->offload.csum_offset = (uint16_t)offset;
	return 0;
}

static int apply_csum(struct rndis_tx *tx, uint32_t v, const char **why)
{
	uint32_t start = (v >> RNDIS_CSUM_TX_TCP_OFFSET_SHIFT) & RNDIS_CSUM_TX_TCP_OFFSET_MASK;
	bool tcp = v & RNDIS_CSUM_TX_TCP, udp = v & RNDIS_CSUM_TX_UDP;

	if (tcp && udp) {
		*why = "checksum request for both TCP and UDP";
		return -EBADMSG;
	}
	if (v & RNDIS_CSUM_TX_IP_HEADER) {
		if (!(v & RNDIS_CSUM_TX_IPV4)) {
			*why = "IP header checksum request without IPv4";
			return -EBADMSG;
		}
		tx->ip_hdr_csum = true;
	}
	if (tcp)
		return want_csum(tx, start, TCP_CSUM_OFFSET, TCP_HEADER_MIN, why);
	if (udp)
		return want_csum(tx, start, UDP_CSUM_OFFSET, UDP_HEADER, why);
	return 0;
}

static int apply_lso(struct rndis_tx *tx, uint32_t v, const char **why)
{
	uint32_t mss = v & RNDIS_LSO_MSS_MASK;
	uint32_t start = (v >> RNDIS_LSO_TCP_OFFSET_SHIFT) & RNDIS_LSO_TCP_OFFSET_MASK;

	if (!(v & RNDIS_LSO_TYPE_V2)) {
		*why = "LSOv1 request (only LSOv2 is offered)";
		return -EBADMSG;
	}
	if (!mss || mss > UINT16_MAX) {
		*why = "LSO segment size out of range";
		return -EBADMSG;
	}
	if (want_csum(tx, start, TCP_CSUM_OFFSET, TCP_HEADER_MIN, why) < 0)
		return -EBADMSG;
	tx->offload.gso_type = (v & RNDIS_LSO_IPV6) ? NET_GSO_TCPV6 : NET_GSO_TCPV4;
	tx->offload.gso_size = (uint16_t)mss;
	return 0;
}

int rndis_parse_packet(const uint8_t *head, uint32_t head_len, uint32_t msg_avail,
		       uint32_t max_frame, const struct rndis_state *st, struct rndis_tx *tx,
		       const char **why)
{
	struct rndis_header h;
	struct rndis_packet p;
	struct ppi_seen seen = {0};
	struct rndis_tx out = {0};
	uint32_t blen;

	/* Requests are honoured whatever st says: Linux asks only for what it turned on, and
	 * the offloads offered are what the backend can do. */
	(void)st;
	if (head_len < RNDIS_HEADER_SIZE + sizeof(p)) {
		*why = "shorter than an RNDIS packet header";
		return -EBADMSG;
	}
	memcpy(&h, head, sizeof(h));
	memcpy(&p, head + RNDIS_HEADER_SIZE, sizeof(p));
	if (h.type != RNDIS_MSG_PACKET) {
		*why = "not an RNDIS packet";
		return -EBADMSG;
	}
	if (h.len < RNDIS_HEADER_SIZE + sizeof(p) || h.len > msg_avail) {
		*why = "RNDIS packet length outside the bytes received";
		return -EBADMSG;
	}
	if (head_len > h.len)
		head_len = h.len;
	blen = h.len - RNDIS_HEADER_SIZE;

	if (p.data_offset < sizeof(p) || p.data_offset > blen ||
	    p.data_len > blen - p.data_offset) {
		*why = "frame outside the RNDIS packet";
		return -EBADMSG;
	}
	if (p.data_len < ETH_HEADER) {
		*why = "frame shorter than an Ethernet header";
		return -EBADMSG;
	}
	out.frame_offset = RNDIS_HEADER_SIZE + p.data_offset;
	out.frame_len = p.data_len;

	if (p.ppi_len) {
		/* The region must be in the message and in the bytes the caller copied. */
		if (p.ppi_offset < sizeof(p) || p.ppi_offset > blen ||
		    p.ppi_len > blen - p.ppi_offset ||
		    RNDIS_HEADER_SIZE + p.ppi_offset + p.ppi_len > head_len) {
			*why = "per-packet info outside the RNDIS header bytes";
			return -EBADMSG;
		}
		if (walk_ppi(head + RNDIS_HEADER_SIZE + p.ppi_offset, p.ppi_len, &seen, why) < 0)
			return -EBADMSG;
	}

	if (seen.lso) {
		if (apply_lso(&out, seen.lso_v, why) < 0)
			return -EBADMSG;
	} else if (seen.csum) {
		if (apply_csum(&out, seen.csum_v, why) < 0)
			return -EBADMSG;
	}
	if (seen.csum && seen.lso && (seen.csum_v & RNDIS_CSUM_TX_IP_HEADER))
		out.ip_hdr_csum = true;
	if (seen.vlan) {
		uint32_t v = seen.vlan_v;

		out.has_vlan = true;
		out.vlan_tci = (uint16_t)((v & RNDIS_VLAN_PRI_MASK) << 13 |
					  (v & RNDIS_VLAN_CFI ? 1u : 0u) << 12 |
					  ((v >> RNDIS_VLAN_ID_SHIFT) & RNDIS_VLAN_ID_MASK));
	}
	if (out.frame_len > (out.offload.gso_type ? NET_MAX_GSO_FRAME : max_frame)) {
		*why = out.offload.gso_type ? "LSO frame over the largest segmentable frame"
					    : "frame over the MTU without LSO";
		return -EMSGSIZE;
	}
	*tx = out;
	return 0;
}

/* ---- Finishing headers --------------------------------------------------- */

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t ipv4_header_csum(const uint8_t *ip, uint32_t len)
{
	uint32_t sum = 0;

	for (uint32_t i = 0; i < len; i += 2)
		sum += get_be16(ip + i);
	while (sum >> 16)
		sum = (sum & 0xFFFF) + (sum >> 16);
	return (uint16_t)~sum;
}

/*
 * With LSO the guest seeds the TCP checksum with a pseudo-header of length 0 (NDIS's
 * rule); a segmenting backend (virtio's rule, the kernel's GSO) expects the transport
 * length in it. Adds it, in one's complement.
 */
static int pseudo_length(uint8_t *hdr, uint32_t hdr_len, const struct rndis_tx *tx,
			 const char **why)
{
	uint32_t at = (uint32_t)tx->offload.csum_start + tx->offload.csum_offset;
	if (at + 2u > hdr_len || tx->offload.csum_start > tx->frame_len) {
		*why = "the TCP checksum is outside the header bytes";
		return -EBADMSG;
	}
	uint32_t sum = (uint32_t)get_be16(hdr + at) + (tx->frame_len - tx->offload.csum_start);
	while (sum >> 16)
		sum = (sum & 0xffffu) + (sum >> 16);
	put_be16(hdr + at, (uint16_t)sum);
	return 0;
}

int rndis_tx_fix_headers(uint8_t *hdr, uint32_t hdr_len, const struct rndis_tx *tx,
			 const char **why)
{
	bool lso = tx->offload.gso_type != NET_GSO_NONE;
	uint32_t l3 = ETH_HEADER;
	uint16_t proto;

	if (!lso && !tx->ip_hdr_csum)
		return 0;
	if (hdr_len > tx->frame_len)
		hdr_len = tx->frame_len;
	if (hdr_len < ETH_HEADER) {
		*why = "no Ethernet header to finish";
		return -EBADMSG;
	}
	proto = get_be16(hdr + 12);
	if (proto == ETH_P_8021Q && hdr_len >= ETH_HEADER + 4) {
		proto = get_be16(hdr + 16);
		l3 += 4;
	}
	if (proto == ETH_P_IPV4) {
		uint32_t ihl;

		if (hdr_len < l3 + IPV4_HEADER_MIN || (hdr[l3] >> 4) != 4) {
			*why = "no IPv4 header to finish";
			return -EBADMSG;
		}
		ihl = (hdr[l3] & 0xFu) * 4u;
		if (ihl < IPV4_HEADER_MIN || hdr_len < l3 + ihl) {
			*why = "IPv4 header length outside the header bytes";
			return -EBADMSG;
		}
		if (lso) {
			if (tx->frame_len - l3 > UINT16_MAX) {
				*why = "LSO frame too long for an IPv4 total length";
				return -EBADMSG;
			}
			put_be16(hdr + l3 + 2, (uint16_t)(tx->frame_len - l3));
		}
		put_be16(hdr + l3 + 10, 0);
		put_be16(hdr + l3 + 10, ipv4_header_csum(hdr + l3, ihl));
		return lso ? pseudo_length(hdr, hdr_len, tx, why) : 0;
	}
	if (proto == ETH_P_IPV6 && lso && !tx->ip_hdr_csum) {
		if (hdr_len < l3 + IPV6_HEADER || tx->frame_len - l3 - IPV6_HEADER > UINT16_MAX) {
			*why = "no IPv6 header to finish";
			return -EBADMSG;
		}
		put_be16(hdr + l3 + 4, (uint16_t)(tx->frame_len - l3 - IPV6_HEADER));
		return pseudo_length(hdr, hdr_len, tx, why);
	}
	*why = "IP header of another kind than the offload request";
	return -EBADMSG;
}

/* ---- Received frames ----------------------------------------------------- */

static uint8_t *put_ppi(uint8_t *p, uint32_t type, uint32_t value)
{
	struct rndis_ppi h = {.size = sizeof(h) + sizeof(value), .type = type, .offset = sizeof(h)};

	memcpy(p, &h, sizeof(h));
	rndis__put32(p + sizeof(h), value);
	return p + sizeof(h) + sizeof(value);
}

uint32_t rndis_rx_header(uint8_t *out, uint32_t frame_len, const struct rndis_state *st,
			 const struct rndis_rx_info *info)
{
	struct rndis_header h = {.type = RNDIS_MSG_PACKET};
	struct rndis_packet p = {0};
	uint8_t *ppi = out + RNDIS_HEADER_SIZE + sizeof(p), *end = ppi;

	static_assert(RNDIS_HEADER_SIZE + sizeof(struct rndis_packet) +
			      3 * (sizeof(struct rndis_ppi) + 4) <=
			  RNDIS_RX_HEADER_MAX,
		      "three PPIs fit");
	if (st->rx_csum && (info->offload.flags & (NET_OFFLOAD_CSUM | NET_OFFLOAD_CSUM_VALID))) {
		/* The backend checked (or a local sender will not corrupt) the transport
		 * checksum; the info says nothing of which transport, and Linux reads either
		 * "succeeded" bit. */
		end = put_ppi(end, RNDIS_PPI_TCPIP_CHKSUM,
			      RNDIS_CSUM_RX_TCP_SUCCEEDED | RNDIS_CSUM_RX_UDP_SUCCEEDED |
				  RNDIS_CSUM_RX_IP_SUCCEEDED);
	}
	if (info->has_vlan) {
		uint16_t tci = info->vlan_tci;

		end = put_ppi(end, RNDIS_PPI_IEEE_8021Q,
			      (uint32_t)(tci >> 13) | (tci & 0x1000u ? RNDIS_VLAN_CFI : 0) |
				  (uint32_t)(tci & RNDIS_VLAN_ID_MASK) << RNDIS_VLAN_ID_SHIFT);
	}
	/* Linux reads only the hash value; hash_info has no PPI of its own here. */
	if (info->has_hash)
		end = put_ppi(end, RNDIS_PPI_NBL_HASH_VALUE, info->hash);

	uint32_t ppi_len = (uint32_t)(end - ppi);
	uint32_t hdr_len = RNDIS_HEADER_SIZE + (uint32_t)sizeof(p) + ppi_len;

	p.ppi_offset = ppi_len ? sizeof(p) : 0;
	p.ppi_len = ppi_len;
	p.data_offset = sizeof(p) + ppi_len;
	p.data_len = frame_len;
	h.len = hdr_len + frame_len;
	memcpy(out, &h, sizeof(h));
	memcpy(out + RNDIS_HEADER_SIZE, &p, sizeof(p));
	return hdr_len;
}
