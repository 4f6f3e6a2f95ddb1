/* SPDX-License-Identifier: MIT */
/*
 * A streaming JSON writer for `mhcl --json`: keeps commas and nesting right
 * and escapes every string so that the output is valid JSON (and valid
 * UTF-8) whatever bytes a remote sent.
 */
#ifndef MHCL_JSON_H
#define MHCL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_DEPTH_MAX 128

struct json_writer {
	FILE *f;            /* borrowed */
	unsigned depth;
	bool pretty;
	bool need_comma[JSON_DEPTH_MAX + 1];
	bool after_key;
	bool overflow;      /* nesting went past JSON_DEPTH_MAX: commas may be missing there */
	unsigned extra;     /* open containers beyond JSON_DEPTH_MAX */
};

void json_init(struct json_writer *w, FILE *f, bool pretty);
void json_obj_begin(struct json_writer *w);
void json_obj_end(struct json_writer *w);
void json_arr_begin(struct json_writer *w);
void json_arr_end(struct json_writer *w);
/* Object key; key[0..len) may hold any bytes. */
void json_key_n(struct json_writer *w, const char *key, size_t len);
void json_key(struct json_writer *w, const char *key);
void json_str_n(struct json_writer *w, const char *s, size_t len);
void json_str(struct json_writer *w, const char *s);
void json_u64(struct json_writer *w, uint64_t v);
void json_i64(struct json_writer *w, int64_t v);
void json_f64(struct json_writer *w, double v);
void json_bool(struct json_writer *w, bool v);
void json_null(struct json_writer *w);
/* Bytes as a lowercase hex string. */
void json_hex(struct json_writer *w, const uint8_t *p, size_t len);
/* Ends the document with a newline (every container must be closed). */
void json_finish(struct json_writer *w);

/*
 * Writes s[0..len) as a quoted JSON string to f: escapes '"', '\\' and
 * control characters, passes well-formed UTF-8 through and replaces each
 * byte of a malformed sequence with U+FFFD. Returns bytes written.
 */
size_t json_escape(FILE *f, const char *s, size_t len);

#endif
