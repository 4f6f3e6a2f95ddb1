/* SPDX-License-Identifier: MIT */
#include "aml.h"

#include <string.h>

#define AML_ZERO_OP 0x00
#define AML_ONE_OP 0x01
#define AML_NAME_OP 0x08
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_STRING_PREFIX 0x0d
#define AML_QWORD_PREFIX 0x0e
#define AML_SCOPE_OP 0x10
#define AML_BUFFER_OP 0x11
#define AML_DUAL_NAME_PREFIX 0x2e
#define AML_MULTI_NAME_PREFIX 0x2f
#define AML_ROOT_CHAR 0x5c
#define AML_EXT_OP_PREFIX 0x5b
#define AML_DEVICE_OP 0x82

void aml_init(struct aml *a)
{
	a->len = 0;
	a->overflow = false;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->overflow || n > AML_MAX - a->len) {
		a->overflow = true;
		return;
	}
	memcpy(a->b + a->len, p, n);
	a->len += n;
}

static void byte(struct aml *a, uint8_t v)
{
	aml_bytes(a, &v, 1);
}

size_t aml_pkg_length(uint8_t out[4], size_t n)
{
	/* The PkgLength counts its own bytes too. One byte holds up to 63; longer forms put
	 * the byte count in bits 7:6 of the lead byte and the low nibble in bits 3:0. */
	for (size_t extra = 0; extra < 4; extra++) {
		size_t total = n + 1 + extra;
		if (extra == 0) {
			if (total < 0x40) {
				out[0] = (uint8_t)total;
				return 1;
			}
			continue;
		}
		if (total >= (1ull << (4 + 8 * extra)))
			continue;
		out[0] = (uint8_t)((extra << 6) | (total & 0xf));
		for (size_t i = 0; i < extra; i++)
			out[1 + i] = (uint8_t)(total >> (4 + 8 * i));
		return extra + 1;
	}
	return 0;
}

static void pkg_length(struct aml *a, size_t n)
{
	uint8_t enc[4];
	size_t l = aml_pkg_length(enc, n);
	if (!l) {
		a->overflow = true;
		return;
	}
	aml_bytes(a, enc, l);
}

static void name_seg(struct aml *a, const char *s, size_t n)
{
	char seg[4] = {'_', '_', '_', '_'};
	memcpy(seg, s, n > 4 ? 4 : n);
	if (n == 0 || n > 4)
		a->overflow = true;
	aml_bytes(a, seg, 4);
}

void aml_name_string(struct aml *a, const char *path)
{
	const char *segs[8];
	size_t lens[8], count = 0;
	const char *p = path;

	if (*p == '\\') {
		byte(a, AML_ROOT_CHAR);
		p++;
	}
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		if (count == 8) {
			a->overflow = true;
			return;
		}
		segs[count] = p;
		lens[count++] = n;
		p += n;
		if (*p == '.')
			p++;
	}
	if (count == 0) {
		byte(a, 0x00); /* NullName */
		return;
	}
	if (count == 2)
		byte(a, AML_DUAL_NAME_PREFIX);
	else if (count > 2) {
		byte(a, AML_MULTI_NAME_PREFIX);
		byte(a, (uint8_t)count);
	}
	for (size_t i = 0; i < count; i++)
		name_seg(a, segs[i], lens[i]);
}

void aml_name(struct aml *a, const char *name)
{
	byte(a, AML_NAME_OP);
	aml_name_string(a, name);
}

void aml_string(struct aml *a, const char *s)
{
	byte(a, AML_STRING_PREFIX);
	aml_bytes(a, s, strlen(s) + 1);
}

void aml_integer(struct aml *a, uint64_t v)
{
	uint8_t le[8];
	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)(v >> (8 * i));
	if (v == 0)
		byte(a, AML_ZERO_OP);
	else if (v == 1)
		byte(a, AML_ONE_OP);
	else if (v <= 0xff) {
		byte(a, AML_BYTE_PREFIX);
		aml_bytes(a, le, 1);
	} else if (v <= 0xffff) {
		byte(a, AML_WORD_PREFIX);
		aml_bytes(a, le, 2);
	} else if (v <= 0xffffffff) {
		byte(a, AML_DWORD_PREFIX);
		aml_bytes(a, le, 4);
	} else {
		byte(a, AML_QWORD_PREFIX);
		aml_bytes(a, le, 8);
	}
}

void aml_buffer(struct aml *a, const void *p, size_t n)
{
	struct aml size;

	aml_init(&size);
	aml_integer(&size, n);
	byte(a, AML_BUFFER_OP);
	pkg_length(a, size.len + n);
	aml_bytes(a, size.b, size.len);
	aml_bytes(a, p, n);
}

static void named_block(struct aml *a, const uint8_t *op, size_t oplen, const char *name,
			const struct aml *body)
{
	struct aml n;

	if (body->overflow) {
		a->overflow = true;
		return;
	}
	aml_init(&n);
	aml_name_string(&n, name);
	if (n.overflow) {
		a->overflow = true;
		return;
	}
	aml_bytes(a, op, oplen);
	pkg_length(a, n.len + body->len);
	aml_bytes(a, n.b, n.len);
	aml_bytes(a, body->b, body->len);
}

void aml_scope(struct aml *a, const char *path, const struct aml *body)
{
	const uint8_t op[] = {AML_SCOPE_OP};
	named_block(a, op, sizeof(op), path, body);
}

void aml_device(struct aml *a, const char *name, const struct aml *body)
{
	const uint8_t op[] = {AML_EXT_OP_PREFIX, AML_DEVICE_OP};
	named_block(a, op, sizeof(op), name, body);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void aml_eisaid(struct aml *a, const char *id)
{
	uint32_t v = 0;

	if (strlen(id) != 7) {
		a->overflow = true;
		return;
	}
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z') {
			a->overflow = true;
			return;
		}
		v = (v << 5) | (uint32_t)(id[i] - 0x40);
	}
	for (int i = 3; i < 7; i++) {
		int h = hexval(id[i]);
		if (h < 0) {
			a->overflow = true;
			return;
		}
		v = (v << 4) | (uint32_t)h;
	}
	/* The 32-bit value is stored big-endian: vendor in bytes 0-1, product in 2-3. */
	const uint8_t be[5] = {0x0c /* DWordPrefix */, (uint8_t)(v >> 24), (uint8_t)(v >> 16),
			       (uint8_t)(v >> 8), (uint8_t)v};
	aml_bytes(a, be, sizeof(be));
}
