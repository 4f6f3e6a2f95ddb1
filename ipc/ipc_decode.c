/* SPDX-License-Identifier: MIT */
/*
 * The body check: a walk over the protobuf wire bytes of a peer's message
 * that refuses deep nesting, too many fields and malformed encodings before
 * protobuf-c (which recurses per nested message) ever sees them. Pure: no
 * I/O, no allocation, no recursion.
 */
#include <errno.h>

#include "ipc.h"

/* Wire types (protobuf encoding); 3 and 4 are groups, which mhcl never uses. */
enum wire_type {
	WIRE_VARINT = 0,
	WIRE_FIXED64 = 1,
	WIRE_LEN = 2,
	WIRE_FIXED32 = 5,
};

/* Highest field number protobuf allows (29 bits). */
#define FIELD_NUMBER_MAX ((1u << 29) - 1)
/* A varint encodes at most 64 bits in 10 bytes. */
#define VARINT_BYTES_MAX 10

/* One message being walked: its descriptor (NULL: skip all its fields) and
 * the offset where its bytes end. */
struct walk_level {
	const ProtobufCMessageDescriptor *desc;
	size_t end;
};

/* Reads a varint at *pos, not past end; -EBADMSG if truncated or over 10 bytes
 * or 64 bits. */
static int read_varint(const uint8_t *p, size_t end, size_t *pos, uint64_t *ret)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < VARINT_BYTES_MAX; i++) {
		uint8_t b;

		if (*pos >= end)
			return -EBADMSG;
		b = p[(*pos)++];
		/* The tenth byte holds bit 63 only. */
		if (i == VARINT_BYTES_MAX - 1 && b > 1)
			return -EBADMSG;
		v |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*ret = v;
			return 0;
		}
	}
	return -EBADMSG;
}

/* Skips a fixed-size value of n bytes at *pos, not past end. */
static int skip_fixed(size_t end, size_t *pos, size_t n)
{
	if (end - *pos < n)
		return -EBADMSG;
	*pos += n;
	return 0;
}

int ipc_body_check(const ProtobufCMessageDescriptor *desc, const uint8_t *body, size_t len,
		   unsigned depth_max)
{
	struct walk_level stack[IPC_DECODE_DEPTH_MAX + 1];
	unsigned depth = 0;
	size_t pos = 0, fields = 0;

	if (depth_max > IPC_DECODE_DEPTH_MAX)
		depth_max = IPC_DECODE_DEPTH_MAX;
	stack[0] = (struct walk_level){desc, len};
	for (;;) {
		const ProtobufCFieldDescriptor *field = NULL;
		struct walk_level *top;
		uint64_t key, v;
		uint32_t number;
		bool nested;
		int r;

		/* Leave every message that ends here (nested ones may end together). */
		while (pos == stack[depth].end) {
			if (depth == 0)
				return 0;
			depth--;
		}
		top = &stack[depth];
		r = read_varint(body, top->end, &pos, &key);
		if (r < 0)
			return r;
		if ((key >> 3) == 0 || (key >> 3) > FIELD_NUMBER_MAX)
			return -EBADMSG;
		if (++fields > IPC_DECODE_FIELDS_MAX)
			return -E2BIG;
		number = (uint32_t)(key >> 3);
		if (top->desc)
			field = protobuf_c_message_descriptor_get_field(top->desc, number);
		nested = field && field->type == PROTOBUF_C_TYPE_MESSAGE;
		switch (key & 7) {
		case WIRE_VARINT:
			r = read_varint(body, top->end, &pos, &v);
			break;
		case WIRE_FIXED64:
			r = skip_fixed(top->end, &pos, 8);
			break;
		case WIRE_FIXED32:
			r = skip_fixed(top->end, &pos, 4);
			break;
		case WIRE_LEN:
			r = read_varint(body, top->end, &pos, &v);
			if (r < 0)
				return r;
			if (v > top->end - pos)
				return -EBADMSG;
			if (nested) {
				if (depth == depth_max)
					return -ELOOP;
				/* Enter it: its fields come next. */
				stack[++depth] = (struct walk_level){field->descriptor, pos + v};
				continue;
			}
			pos += (size_t)v;
			continue;
		default:
			return -EBADMSG;
		}
		if (r < 0)
			return r;
		/* protobuf-c would refuse it too; saying so here keeps the rule in one place. */
		if (nested)
			return -EBADMSG;
	}
}

int ipc_body_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *body, size_t len,
		    unsigned depth_max, ProtobufCMessage **ret_msg)
{
	ProtobufCMessage *m;
	int r;

	if (len > IPC_BODY_MAX)
		return -EMSGSIZE;
	r = ipc_body_check(desc, body, len, depth_max);
	if (r < 0)
		return r;
	/* protobuf-c wants a pointer even for an empty body. */
	m = protobuf_c_message_unpack(desc, NULL, len, len ? body : (const uint8_t *)"");
	if (!m)
		return -EBADMSG;
	*ret_msg = m;
	return 0;
}

const char *ipc_body_strerror(int err)
{
	switch (err) {
	case -ELOOP:
		return "nested too deep";
	case -E2BIG:
		return "too many fields";
	case -EMSGSIZE:
		return "too large";
	case -EBADMSG:
		return "malformed";
	default:
		return "refused";
	}
}
