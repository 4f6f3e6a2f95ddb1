/* SPDX-License-Identifier: MIT */
/*
 * Checks on diag messages (proto/diag.proto), shared by mhcl-diagd, which runs them on
 * every client request, and the mhcl CLI. Replies are bounded by the bus's body check
 * (ipc_body_unpack() in ipc.h), which every decoder of peer bytes runs. No I/O, no logging.
 */
#ifndef MHCL_DIAG_VALIDATE_H
#define MHCL_DIAG_VALIDATE_H

#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

/*
 * Checks one client request body of message type `type` (enum ipc_msg_type)
 * and unpacks it. On success returns 0 and *ret_msg owns the unpacked message
 * (free it with protobuf_c_message_free_unpacked(msg, NULL)); it is what gets
 * forwarded to init, re-packed, so init only ever sees what was validated.
 * On failure writes a one-line reason into why[0..why_len) and returns
 *   -EOPNOTSUPP  type is not a diag request,
 *   -EMSGSIZE    body longer than DIAG_REQUEST_BODY_MAX,
 *   -EBADMSG     body does not unpack or carries unknown fields,
 *   -EINVAL      a field is out of bounds (names, paths, signals, ...).
 * body is borrowed and may be anything (this is the fuzz target).
 */
int diag_request_parse(uint16_t type, const uint8_t *body, size_t len, char *why, size_t why_len,
		       ProtobufCMessage **ret_msg);

/* Descriptor of the reply body for a diag request type, NULL if not one. */
const ProtobufCMessageDescriptor *diag_reply_descriptor(uint16_t type);

/* Printable name of a diag request type ("ps", "inspect", ...); "?" if unknown. */
const char *diag_type_name(uint16_t type);

#endif
