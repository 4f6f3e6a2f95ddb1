/* SPDX-License-Identifier: MIT */
#include "dts.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <libfdt.h>

#include "json.h"

enum dts_prop_kind dts_prop_classify(const void *val, size_t len)
{
	const unsigned char *p = val;

	if (len == 0)
		return DTS_PROP_EMPTY;
	/* A string list: printable text, NUL-terminated, no empty strings. */
	if (p[len - 1] == '\0' && p[0] != '\0') {
		bool ok = true;
		for (size_t i = 0; i < len && ok; i++) {
			if (p[i] == '\0')
				ok = i + 1 == len || p[i + 1] != '\0';
			else
				ok = (p[i] >= 0x20 && p[i] < 0x7f) || p[i] == '\t' || p[i] == '\n';
		}
		if (ok)
			return DTS_PROP_STRINGS;
	}
	if (len % 4 == 0)
		return DTS_PROP_CELLS;
	return DTS_PROP_BYTES;
}

static void print_dts_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		switch (*s) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			fputc(*s, f);
		}
	}
	fputc('"', f);
}

static void print_value(FILE *f, const uint8_t *p, size_t len)
{
	switch (dts_prop_classify(p, len)) {
	case DTS_PROP_EMPTY:
		break;
	case DTS_PROP_STRINGS:
		fputs(" = ", f);
		for (size_t i = 0; i < len; i += strlen((const char *)p + i) + 1) {
			if (i)
				fputs(", ", f);
			print_dts_string(f, (const char *)p + i);
		}
		break;
	case DTS_PROP_CELLS:
		fputs(" = <", f);
		for (size_t i = 0; i < len; i += 4) {
			uint32_t v;
			memcpy(&v, p + i, 4);
			fprintf(f, "%s0x%" PRIx32, i ? " " : "", fdt32_to_cpu(v));
		}
		fputc('>', f);
		break;
	case DTS_PROP_BYTES:
		fputs(" = [", f);
		for (size_t i = 0; i < len; i++)
			fprintf(f, "%s%02x", i ? " " : "", p[i]);
		fputc(']', f);
		break;
	}
}

static void json_value(struct json_writer *w, const uint8_t *p, size_t len)
{
	size_t n = 0;

	switch (dts_prop_classify(p, len)) {
	case DTS_PROP_EMPTY:
		json_bool(w, true);
		break;
	case DTS_PROP_STRINGS:
		for (size_t i = 0; i < len; i += strlen((const char *)p + i) + 1)
			n++;
		if (n > 1)
			json_arr_begin(w);
		for (size_t i = 0; i < len; i += strlen((const char *)p + i) + 1)
			json_str(w, (const char *)p + i);
		if (n > 1)
			json_arr_end(w);
		break;
	case DTS_PROP_CELLS:
		json_arr_begin(w);
		for (size_t i = 0; i < len; i += 4) {
			uint32_t v;
			memcpy(&v, p + i, 4);
			json_u64(w, fdt32_to_cpu(v));
		}
		json_arr_end(w);
		break;
	case DTS_PROP_BYTES:
		json_hex(w, p, len);
		break;
	}
}

/* Walk callbacks shared by the dts and JSON printers. */
struct walk_ops {
	void (*begin)(void *ctx, int depth, const char *name);
	void (*prop)(void *ctx, int depth, const char *name, const uint8_t *val, size_t len);
	void (*end)(void *ctx, int depth);
};

static int walk(const void *fdt, const struct walk_ops *ops, void *ctx)
{
	int offset = 0, next, depth = 0;

	for (;;) {
		uint32_t tag = fdt_next_tag(fdt, offset, &next);
		const struct fdt_property *prop;
		const char *name;
		int len;

		switch (tag) {
		case FDT_BEGIN_NODE:
			if (depth >= DTS_DEPTH_MAX)
				return -E2BIG;
			name = fdt_get_name(fdt, offset, NULL);
			if (!name)
				return -EBADMSG;
			ops->begin(ctx, depth, depth == 0 ? "/" : name);
			depth++;
			break;
		case FDT_PROP:
			prop = fdt_get_property_by_offset(fdt, offset, &len);
			if (!prop || len < 0)
				return -EBADMSG;
			name = fdt_string(fdt, (int)fdt32_to_cpu(prop->nameoff));
			if (!name)
				return -EBADMSG;
			ops->prop(ctx, depth, name, (const uint8_t *)prop->data, (size_t)len);
			break;
		case FDT_END_NODE:
			if (depth == 0)
				return -EBADMSG;
			depth--;
			ops->end(ctx, depth);
			break;
		case FDT_NOP:
			break;
		case FDT_END:
			return depth == 0 ? 0 : -EBADMSG;
		default:
			return -EBADMSG;
		}
		if (next <= offset)
			return -EBADMSG;
		offset = next;
	}
}

static void nop_begin(void *ctx, int depth, const char *name)
{
}

static void nop_prop(void *ctx, int depth, const char *name, const uint8_t *val, size_t len)
{
}

static void nop_end(void *ctx, int depth)
{
}

static const struct walk_ops nop_ops = {nop_begin, nop_prop, nop_end};

/* Copies the blob into aligned private memory and checks it whole (and its depth). */
static int load(const void *dtb, size_t len, void **ret_fdt)
{
	void *fdt;
	int ret;

	if (len < sizeof(struct fdt_header) || len > INT32_MAX)
		return -EBADMSG;
	fdt = malloc(len);
	if (!fdt)
		return -ENOMEM;
	memcpy(fdt, dtb, len);
	if (fdt_check_full(fdt, len) != 0) {
		free(fdt);
		return -EBADMSG;
	}
	/* A dry walk first, so a tree refused for its depth prints nothing. */
	ret = walk(fdt, &nop_ops, NULL);
	if (ret < 0) {
		free(fdt);
		return ret;
	}
	*ret_fdt = fdt;
	return 0;
}

static void tabs(FILE *f, int n)
{
	while (n-- > 0)
		fputc('\t', f);
}

static void dts_begin(void *ctx, int depth, const char *name)
{
	FILE *f = ctx;

	if (depth == 0)
		fputc('\n', f);
	tabs(f, depth);
	fprintf(f, "%s {\n", name);
}

static void dts_prop(void *ctx, int depth, const char *name, const uint8_t *val, size_t len)
{
	FILE *f = ctx;

	tabs(f, depth);
	fputs(name, f);
	print_value(f, val, len);
	fputs(";\n", f);
}

static void dts_end(void *ctx, int depth)
{
	FILE *f = ctx;

	tabs(f, depth);
	fputs("};\n", f);
}

static const struct walk_ops dts_ops = {dts_begin, dts_prop, dts_end};

int dts_print(FILE *f, const void *dtb, size_t len)
{
	void *fdt = NULL;
	int ret, n;

	ret = load(dtb, len, &fdt);
	if (ret < 0)
		return ret;
	fputs("/dts-v1/;\n", f);
	n = fdt_num_mem_rsv(fdt);
	for (int i = 0; i < n; i++) {
		uint64_t addr, size;
		if (fdt_get_mem_rsv(fdt, i, &addr, &size) == 0)
			fprintf(f, "/memreserve/ 0x%" PRIx64 " 0x%" PRIx64 ";\n", addr, size);
	}
	ret = walk(fdt, &dts_ops, f);
	free(fdt);
	return ret;
}

struct json_ctx {
	struct json_writer *w;
	/* Per depth: the "properties" object is open / the "children" array is open. */
	bool props_open[DTS_DEPTH_MAX + 1];
	bool children_open[DTS_DEPTH_MAX + 1];
};

static void json_close_props(struct json_ctx *c, int depth)
{
	if (c->props_open[depth]) {
		json_obj_end(c->w);
		c->props_open[depth] = false;
	}
}

static void json_begin(void *ctx, int depth, const char *name)
{
	struct json_ctx *c = ctx;

	if (depth > 0) {
		json_close_props(c, depth);
		if (!c->children_open[depth]) {
			json_key(c->w, "children");
			json_arr_begin(c->w);
			c->children_open[depth] = true;
		}
	}
	json_obj_begin(c->w);
	json_key(c->w, "name");
	json_str(c->w, name);
	json_key(c->w, "properties");
	json_obj_begin(c->w);
	c->props_open[depth + 1] = true;
	c->children_open[depth + 1] = false;
}

static void json_prop(void *ctx, int depth, const char *name, const uint8_t *val, size_t len)
{
	struct json_ctx *c = ctx;

	json_key(c->w, name);
	json_value(c->w, val, len);
}

static void json_end(void *ctx, int depth)
{
	struct json_ctx *c = ctx;

	json_close_props(c, depth + 1);
	if (c->children_open[depth + 1]) {
		json_arr_end(c->w);
		c->children_open[depth + 1] = false;
	}
	json_obj_end(c->w);
}

static const struct walk_ops json_ops = {json_begin, json_prop, json_end};

int dts_print_json(struct json_writer *w, const void *dtb, size_t len)
{
	struct json_ctx c = {.w = w};
	void *fdt = NULL;
	int ret, n;

	ret = load(dtb, len, &fdt);
	if (ret < 0)
		return ret;
	json_obj_begin(w);
	json_key(w, "memreserve");
	json_arr_begin(w);
	n = fdt_num_mem_rsv(fdt);
	for (int i = 0; i < n; i++) {
		uint64_t addr, size;
		if (fdt_get_mem_rsv(fdt, i, &addr, &size) == 0) {
			json_arr_begin(w);
			json_u64(w, addr);
			json_u64(w, size);
			json_arr_end(w);
		}
	}
	json_arr_end(w);
	json_key(w, "root");
	ret = walk(fdt, &json_ops, &c);
	json_obj_end(w);
	free(fdt);
	return ret;
}
