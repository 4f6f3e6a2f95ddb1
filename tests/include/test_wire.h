/* SPDX-License-Identifier: MIT */
/*
 * Hostile inspect trees on the wire, written by hand (never by protobuf-c, whose
 * packer recurses per level): a chain of Nodes nested thousands deep, and a
 * flood of empty sibling Nodes. Shared by the body-check unit tests and
 * mhcl-testd's --inspect-bomb.
 */
#ifndef MHCL_TEST_WIRE_H
#define MHCL_TEST_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Node.children (proto/bus.proto): field 8, length-delimited. */
#define TEST_WIRE_NODE_CHILD 0x42
/* InspectReply.root: field 1, length-delimited. */
#define TEST_WIRE_REPLY_ROOT 0x0a

/* Writes v as a varint at out (room for 10 bytes); returns its length. */
static inline size_t test_wire_varint(uint8_t *out, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		out[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

/*
 * Writes `key len` in front of the len bytes at buf[start..cap): the bytes
 * grow backwards, so each level costs one header and no copy. Returns the new
 * start, or 0 if the header does not fit.
 */
static inline size_t test_wire_wrap(uint8_t *buf, size_t start, size_t cap, uint8_t key)
{
	uint8_t hdr[11];
	size_t n;

	hdr[0] = key;
	n = 1 + test_wire_varint(hdr + 1, cap - start);
	if (n >= start)
		return 0;
	memcpy(buf + start - n, hdr, n);
	return start - n;
}

/*
 * The body of a Node whose only child has an only child, `levels` Nodes down
 * (`42 len (42 len (... 42 00))`), at the start of buf. Returns its length,
 * 0 if it does not fit in cap bytes.
 */
static inline size_t test_wire_deep_children(uint8_t *buf, size_t cap, unsigned levels)
{
	size_t start = cap;

	for (unsigned i = 0; i < levels; i++) {
		start = test_wire_wrap(buf, start, cap, TEST_WIRE_NODE_CHILD);
		if (!start)
			return 0;
	}
	memmove(buf, buf + start, cap - start);
	return cap - start;
}

/* The body of a Node with n empty children (`42 00` n times); 0 if it does not fit. */
static inline size_t test_wire_flat_children(uint8_t *buf, size_t cap, unsigned n)
{
	if ((size_t)n * 2 > cap)
		return 0;
	for (size_t i = 0; i < n; i++) {
		buf[2 * i] = TEST_WIRE_NODE_CHILD;
		buf[2 * i + 1] = 0;
	}
	return (size_t)n * 2;
}

/* Wraps the Node body at buf[0..len) into an InspectReply whose root it is, in
 * place. Returns the reply's length, 0 if it does not fit in cap bytes. */
static inline size_t test_wire_inspect_reply(uint8_t *buf, size_t len, size_t cap)
{
	size_t start;

	if (cap - len < 12)
		return 0;
	memmove(buf + cap - len, buf, len);
	start = test_wire_wrap(buf, cap - len, cap, TEST_WIRE_REPLY_ROOT);
	memmove(buf, buf + start, cap - start);
	return cap - start;
}

#endif
