/* SPDX-License-Identifier: MIT */
/*
 * The JSON capability text of a vfio-user VERSION message (spec "VFIO_USER_VERSION").
 * The peer writes it, so this is a strict, bounded parser of the whole JSON grammar that
 * keeps two integers and skips everything else: unknown capabilities (migration,
 * twin_socket, pgsizes) are legal and ignored.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "defs/vfio_user_defs.h"
#include "vfio_user_internal.h"

#define JSON_MAX_DEPTH 8u
#define JSON_KEY_MAX 32u

struct cursor {
	const char *p;
	const char *end;
};

typedef int (*member_fn)(struct cursor *c, const char *key, unsigned depth, void *ctx);

static int skip_value(struct cursor *c, unsigned depth);

static void skip_ws(struct cursor *c)
{
	while (c->p < c->end && strchr(" \t\r\n", *c->p) && *c->p)
		c->p++;
}

static bool eat(struct cursor *c, char ch)
{
	skip_ws(c);
	if (c->p < c->end && *c->p == ch) {
		c->p++;
		return true;
	}
	return false;
}

/* A string; its text (escapes kept as written) goes to out when it fits, else out is
 * emptied, so an over-long key never matches a known one. */
static int parse_string(struct cursor *c, char *out, size_t size)
{
	size_t n = 0;
	bool fits = true;

	if (!eat(c, '"'))
		return -EBADMSG;
	while (c->p < c->end && *c->p != '"') {
		char ch = *c->p++;

		if ((unsigned char)ch < 0x20)
			return -EBADMSG;
		if (ch == '\\') {
			if (c->p >= c->end)
				return -EBADMSG;
			ch = *c->p++;
			if (!strchr("\"\\/bfnrtu", ch) || !ch)
				return -EBADMSG;
			fits = false; /* no known key has escapes */
		}
		if (n + 1 < size)
			out[n++] = ch;
		else
			fits = false;
	}
	if (c->p >= c->end)
		return -EBADMSG;
	c->p++;
	if (size)
		out[fits ? n : 0] = '\0';
	return 0;
}

/* A JSON number; *ret gets it when it is a plain non-negative integer below 2^32. */
static int parse_number(struct cursor *c, uint64_t *ret, bool *ret_is_u32)
{
	const char *start;
	uint64_t v = 0;
	bool integer = true;

	skip_ws(c);
	start = c->p;
	if (c->p < c->end && *c->p == '-') {
		integer = false;
		c->p++;
	}
	if (c->p >= c->end || *c->p < '0' || *c->p > '9')
		return -EBADMSG;
	while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
		if (v <= UINT32_MAX)
			v = v * 10 + (uint64_t)(*c->p - '0');
		c->p++;
	}
	while (c->p < c->end && *c->p && strchr(".eE+-0123456789", *c->p)) {
		integer = false;
		c->p++;
	}
	if (c->p - start > 24)
		integer = false;
	*ret = v;
	*ret_is_u32 = integer && v <= UINT32_MAX;
	return 0;
}

static int skip_literal(struct cursor *c, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
		return -EBADMSG;
	c->p += n;
	return 0;
}

/* Walks an object, calling fn (or skipping the value when fn is NULL) per member. */
static int parse_object(struct cursor *c, unsigned depth, member_fn fn, void *ctx)
{
	char key[JSON_KEY_MAX];
	int r;

	if (depth >= JSON_MAX_DEPTH || !eat(c, '{'))
		return -EBADMSG;
	if (eat(c, '}'))
		return 0;
	do {
		r = parse_string(c, key, sizeof(key));
		if (r < 0)
			return r;
		if (!eat(c, ':'))
			return -EBADMSG;
		r = fn ? fn(c, key, depth + 1, ctx) : skip_value(c, depth + 1);
		if (r < 0)
			return r;
	} while (eat(c, ','));
	return eat(c, '}') ? 0 : -EBADMSG;
}

static int skip_value(struct cursor *c, unsigned depth)
{
	uint64_t num;
	bool is_u32;
	int r;

	if (depth >= JSON_MAX_DEPTH)
		return -EBADMSG;
	skip_ws(c);
	if (c->p >= c->end)
		return -EBADMSG;
	switch (*c->p) {
	case '{':
		return parse_object(c, depth, NULL, NULL);
	case '[':
		c->p++;
		if (eat(c, ']'))
			return 0;
		do {
			r = skip_value(c, depth + 1);
			if (r < 0)
				return r;
		} while (eat(c, ','));
		return eat(c, ']') ? 0 : -EBADMSG;
	case '"':
		return parse_string(c, NULL, 0);
	case 't':
		return skip_literal(c, "true");
	case 'f':
		return skip_literal(c, "false");
	case 'n':
		return skip_literal(c, "null");
	default:
		return parse_number(c, &num, &is_u32);
	}
}

static int capability(struct cursor *c, const char *key, unsigned depth, void *ctx)
{
	struct vfio_user_caps *caps = ctx;
	uint32_t *field = NULL;
	uint64_t v;
	bool is_u32;
	int r;

	if (strcmp(key, "max_msg_fds") == 0)
		field = &caps->max_msg_fds;
	else if (strcmp(key, "max_data_xfer_size") == 0)
		field = &caps->max_data_xfer_size;
	if (!field)
		return skip_value(c, depth);
	r = parse_number(c, &v, &is_u32);
	if (r < 0)
		return r;
	if (!is_u32)
		return -EBADMSG;
	*field = (uint32_t)v;
	return 0;
}

static int top_member(struct cursor *c, const char *key, unsigned depth, void *ctx)
{
	skip_ws(c);
	if (strcmp(key, "capabilities") == 0)
		return parse_object(c, depth, capability, ctx);
	return skip_value(c, depth);
}

int vfio_user__parse_caps(const char *json, size_t len, struct vfio_user_caps *ret)
{
	struct vfio_user_caps caps = {
	    .max_msg_fds = VFIO_USER_DEFAULT_MAX_MSG_FDS,
	    .max_data_xfer_size = VFIO_USER_DEFAULT_MAX_DATA_XFER,
	};
	const char *nul = memchr(json, '\0', len);
	struct cursor c = {json, nul ? nul : json + len};
	int r;

	skip_ws(&c);
	if (c.p < c.end) {
		r = parse_object(&c, 0, top_member, &caps);
		if (r < 0)
			return r;
		skip_ws(&c);
		if (c.p != c.end)
			return -EBADMSG;
	}
	*ret = caps;
	return 0;
}

int vfio_user__format_caps(const struct vfio_user_caps *caps, char *buf, size_t size)
{
	int n =
	    snprintf(buf, size, "{\"capabilities\":{\"max_msg_fds\":%u,\"max_data_xfer_size\":%u}}",
		     caps->max_msg_fds, caps->max_data_xfer_size);

	if (n < 0 || (size_t)n >= size)
		return -ENOBUFS;
	return n + 1;
}
