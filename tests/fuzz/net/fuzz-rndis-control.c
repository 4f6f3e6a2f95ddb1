/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target 'rndis-control': a hostile guest's RNDIS control messages through
 * rndis_parse_ctl and rndis_control, against one NIC configuration and one state that
 * carries over from message to message. Invariants: a parsed information buffer lies
 * inside the message; an answer fits RNDIS_MAX_RESPONSE and its length field says its
 * length; the state stays within its arrays (RSS table and key sizes, queue numbers).
 *
 * Input: a config byte (bits 0-2: offload caps, bits 3-5: queues - 1), then records of
 * u16 length + that many message bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rndis.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_state(const struct rndis_config *cfg, const struct rndis_state *st)
{
	if (st->rss_table_size > RNDIS_RSS_TABLE_MAX || st->rss_key_size > RNDIS_RSS_KEY_MAX)
		abort();
	for (uint32_t i = 0; i < st->rss_table_size; i++)
		if (st->rss_table[i] >= cfg->max_queues)
			abort();
	if ((st->tx_csum | st->tx_lso | st->rx_csum) & ~cfg->offload_caps)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rndis_config cfg = {
	    .mac = {0x00, 0x15, 0x5d, 1, 2, 3},
	    .mtu = 1500,
	    .link_speed_bps = 40000000000ull,
	    .friendly_name = "fuzz",
	};
	struct rndis_state st;
	size_t off = 1;

	if (!size)
		return 0;
	cfg.offload_caps = data[0] & 7u;
	cfg.max_queues = ((data[0] >> 3) & 7u) + 1;
	memset(&st, 0, sizeof(st));
	while (size - off >= 2) {
		uint32_t len = (uint32_t)(data[off] | data[off + 1] << 8);
		struct rndis_ctl c;
		const char *why = NULL, *note = NULL;
		/* A private copy, as the server makes, so ASan sees the message's end. */
		uint8_t *msg;

		off += 2;
		if (len > size - off)
			len = (uint32_t)(size - off);
		msg = malloc(len ? len : 1);
		if (!msg)
			abort();
		memcpy(msg, data + off, len);
		off += len;
		if (rndis_parse_ctl(msg, len, &c, &why) < 0) {
			if (!why)
				abort();
			free(msg);
			continue;
		}
		if (c.info_len && (c.info < msg || c.info + c.info_len > msg + len))
			abort();
		uint8_t *out = malloc(RNDIS_MAX_RESPONSE);
		if (!out)
			abort();
		uint32_t n = rndis_control(&cfg, &st, &c, out, &note);
		if (n > RNDIS_MAX_RESPONSE)
			abort();
		if (n) {
			uint32_t msg_len;

			memcpy(&msg_len, out + 4, 4);
			if (msg_len != n ||
			    rndis_msg_type(out, n) != (c.type | RNDIS_MSG_COMPLETION))
				abort();
		}
		(void)rndis_mac(&cfg, &st);
		(void)rndis_oid_name(c.oid);
		(void)rndis_msg_name(c.type);
		check_state(&cfg, &st);
		free(out);
		free(msg);
	}
	return 0;
}
