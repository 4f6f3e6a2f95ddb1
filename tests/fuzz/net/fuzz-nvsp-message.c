/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target 'nvsp-message': a hostile guest's NVSP messages through netvsp_parse, and
 * the host's messages built from the parsed values. Invariants: a refusal says why and
 * writes nothing; a parsed message is long enough for its type; every host message is
 * NETVSP_MSG_SIZE bytes and the host's SEND_RNDIS_PKT parses back.
 *
 * Input: the message bytes, as the inband payload of one packet.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netvsp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct netvsp_msg m, untouched;
	const char *why = NULL;
	uint8_t out[NETVSP_MSG_SIZE];
	uint32_t len = size > 4096 ? 4096 : (uint32_t)size;

	memset(&m, 0x5A, sizeof(m));
	untouched = m;
	if (netvsp_parse(data, len, &m, &why) < 0) {
		if (!why || memcmp(&m, &untouched, sizeof(m)))
			abort();
		return 0;
	}
	if (len < 6 || netvsp_msg_name(m.type) == NULL) /* REVOKE is the shortest */
		abort();
	(void)netvsp_version_supported(m.u.init.max_version);

	uint32_t a = m.u.init.min_version, b = m.u.init.max_version;
	if (netvsp_build_init_complete(out, a, b) != NETVSP_MSG_SIZE ||
	    netvsp_build_recv_buf_complete(out, a, b, a ^ b) != NETVSP_MSG_SIZE ||
	    netvsp_build_send_buf_complete(out, a, b) != NETVSP_MSG_SIZE ||
	    netvsp_build_rndis_complete(out, a) != NETVSP_MSG_SIZE ||
	    netvsp_build_subchannel_complete(out, a, b) != NETVSP_MSG_SIZE ||
	    netvsp_build_rndis_pkt(out, a) != NETVSP_MSG_SIZE)
		abort();
	if (netvsp_parse(out, sizeof(out), &m, &why) < 0 || m.type != NETVSP_MSG_SEND_RNDIS_PKT ||
	    m.u.rndis.channel_type != a || m.u.rndis.section_index != NETVSP_NO_SECTION)
		abort();
	return 0;
}
