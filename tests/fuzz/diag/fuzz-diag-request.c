/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target 'diag-request': mhcl-diagd's request validator, the only code
 * that parses bytes from diag clients. Input: a little-endian u16 message
 * type, then the body. Oracles: no crash or leak (sanitizers), a rejection
 * always explains itself, and an accepted request re-packs to a body that
 * is accepted again (what init receives is what was validated). The body
 * check under it (and on init's answers) is fuzzed by 'ipc-body'.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diag_limits.h"
#include "diag_validate.h"
#include "defs/ipc_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t repacked[4 * DIAG_REQUEST_BODY_MAX];
	ProtobufCMessage *m = NULL, *again = NULL;
	char why[256] = "";
	uint16_t type;
	size_t n;
	int r;

	if (size < 2)
		return 0;
	type = (uint16_t)(data[0] | data[1] << 8);
	data += 2;
	size -= 2;

	r = diag_request_parse(type, data, size, why, sizeof(why), &m);
	if (r < 0) {
		if (!why[0] || m)
			abort();
		return 0;
	}
	n = protobuf_c_message_get_packed_size(m);
	if (n > sizeof(repacked))
		abort();
	protobuf_c_message_pack(m, repacked);
	r = diag_request_parse(type, repacked, n, why, sizeof(why), &again);
	if (r < 0)
		abort();
	protobuf_c_message_free_unpacked(again, NULL);
	protobuf_c_message_free_unpacked(m, NULL);
	return 0;
}
