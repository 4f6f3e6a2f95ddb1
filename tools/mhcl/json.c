/* SPDX-License-Identifier: MIT */
#include "json.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

/* Length of the well-formed UTF-8 sequence at s[0..len), 0 if malformed
 * (overlong forms, surrogates and code points above U+10FFFF are malformed). */
static size_t utf8_seq_len(const unsigned char *s, size_t len)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

size_t json_escape(FILE *f, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t out = 2;

	fputc('"', f);
	for (size_t i = 0; i < len;) {
		unsigned char c = s[i];
		size_t n;

		switch (c) {
		case '"':
			out += (size_t)fprintf(f, "\\\"");
			i++;
			continue;
		case '\\':
			out += (size_t)fprintf(f, "\\\\");
			i++;
			continue;
		case '\n':
			out += (size_t)fprintf(f, "\\n");
			i++;
			continue;
		case '\r':
			out += (size_t)fprintf(f, "\\r");
			i++;
			continue;
		case '\t':
			out += (size_t)fprintf(f, "\\t");
			i++;
			continue;
		case '\b':
			out += (size_t)fprintf(f, "\\b");
			i++;
			continue;
		case '\f':
			out += (size_t)fprintf(f, "\\f");
			i++;
			continue;
		default:
			break;
		}
		if (c < 0x20) {
			out += (size_t)fprintf(f, "\\u%04x", c);
			i++;
			continue;
		}
		n = utf8_seq_len(s + i, len - i);
		if (n == 0) {
			out += (size_t)fprintf(f, "\\ufffd");
			i++;
			continue;
		}
		fwrite(s + i, 1, n, f);
		out += n;
		i += n;
	}
	fputc('"', f);
	return out;
}

void json_init(struct json_writer *w, FILE *f, bool pretty)
{
	*w = (struct json_writer){.f = f, .pretty = pretty};
}

static void indent(struct json_writer *w)
{
	if (!w->pretty)
		return;
	fputc('\n', w->f);
	for (unsigned i = 0; i < w->depth; i++)
		fputs("  ", w->f);
}

/* Before any value: a comma if a sibling came before, unless it follows a key. */
static void value_prefix(struct json_writer *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->need_comma[w->depth])
		fputc(',', w->f);
	if (w->depth)
		indent(w);
	w->need_comma[w->depth] = true;
}

static void open_(struct json_writer *w, char c)
{
	value_prefix(w);
	fputc(c, w->f);
	if (w->depth >= JSON_DEPTH_MAX) {
		/* Deeper levels are written flat; close_ matches them up. */
		w->overflow = true;
		w->extra++;
		return;
	}
	w->depth++;
	w->need_comma[w->depth] = false;
}

static void close_(struct json_writer *w, char c)
{
	bool had = w->need_comma[w->depth];

	if (w->extra) {
		w->extra--;
		fputc(c, w->f);
		return;
	}
	if (w->depth == 0)
		return;
	w->depth--;
	if (had)
		indent(w);
	fputc(c, w->f);
}

void json_obj_begin(struct json_writer *w)
{
	open_(w, '{');
}

void json_obj_end(struct json_writer *w)
{
	close_(w, '}');
}

void json_arr_begin(struct json_writer *w)
{
	open_(w, '[');
}

void json_arr_end(struct json_writer *w)
{
	close_(w, ']');
}

void json_key_n(struct json_writer *w, const char *key, size_t len)
{
	value_prefix(w);
	json_escape(w->f, key, len);
	fputs(w->pretty ? ": " : ":", w->f);
	w->after_key = true;
}

void json_key(struct json_writer *w, const char *key)
{
	json_key_n(w, key, strlen(key));
}

void json_str_n(struct json_writer *w, const char *s, size_t len)
{
	value_prefix(w);
	json_escape(w->f, s, len);
}

void json_str(struct json_writer *w, const char *s)
{
	json_str_n(w, s ? s : "", s ? strlen(s) : 0);
}

void json_u64(struct json_writer *w, uint64_t v)
{
	value_prefix(w);
	fprintf(w->f, "%" PRIu64, v);
}

void json_i64(struct json_writer *w, int64_t v)
{
	value_prefix(w);
	fprintf(w->f, "%" PRId64, v);
}

void json_f64(struct json_writer *w, double v)
{
	value_prefix(w);
	/* JSON has no NaN or infinities. */
	if (!isfinite(v))
		fputs("null", w->f);
	else
		fprintf(w->f, "%.17g", v);
}

void json_bool(struct json_writer *w, bool v)
{
	value_prefix(w);
	fputs(v ? "true" : "false", w->f);
}

void json_null(struct json_writer *w)
{
	value_prefix(w);
	fputs("null", w->f);
}

void json_hex(struct json_writer *w, const uint8_t *p, size_t len)
{
	value_prefix(w);
	fputc('"', w->f);
	for (size_t i = 0; i < len; i++)
		fprintf(w->f, "%02x", p[i]);
	fputc('"', w->f);
}

void json_finish(struct json_writer *w)
{
	fputc('\n', w->f);
	fflush(w->f);
}
